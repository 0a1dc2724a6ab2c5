//! HTML building blocks shared by the pages scour writes (`report.html`,
//! `scour diff --format html`): escaping, and word-level highlights.
//!
//! Every piece of document text, path or rule name that goes into a page
//! goes through [`escape`]; nothing from a document is ever written raw.

use std::fmt::Write;

/// Appends `text` to `out` with the five HTML-special characters escaped,
/// so it is safe both as element content and inside a quoted attribute.
pub fn escape(text: &str, out: &mut String) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
}

/// [`escape`] into a new string.
pub fn escaped(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    escape(text, &mut out);
    out
}

/// Texts longer than this are shown whole, without a word diff (a word
/// diff is quadratic in the worst case).
const WORD_DIFF_LIMIT: usize = 20_000;

/// `before` → `after` with the words that differ wrapped in `<del>` and
/// `<ins>`: one line a reviewer reads left to right.
pub fn word_diff(before: &str, after: &str, out: &mut String) {
    if before.is_empty() || after.is_empty() || before.len() + after.len() > WORD_DIFF_LIMIT {
        if !before.is_empty() {
            out.push_str("<del>");
            escape(before, out);
            out.push_str("</del>");
        }
        if !after.is_empty() {
            out.push_str("<ins>");
            escape(after, out);
            out.push_str("</ins>");
        }
        return;
    }
    let diff = similar::TextDiff::from_words(before, after);
    let mut open: Option<similar::ChangeTag> = None;
    for change in diff.iter_all_changes() {
        let tag = change.tag();
        if open != Some(tag) {
            close(open, out);
            match tag {
                similar::ChangeTag::Delete => out.push_str("<del>"),
                similar::ChangeTag::Insert => out.push_str("<ins>"),
                similar::ChangeTag::Equal => {}
            }
            open = Some(tag);
        }
        escape(change.value(), out);
    }
    close(open, out);
}

fn close(tag: Option<similar::ChangeTag>, out: &mut String) {
    match tag {
        Some(similar::ChangeTag::Delete) => out.push_str("</del>"),
        Some(similar::ChangeTag::Insert) => out.push_str("</ins>"),
        _ => {}
    }
}

/// A nonce for a page's Content-Security-Policy, derived from its content:
/// the page stays byte-for-byte deterministic, and text inside it cannot
/// know the nonce it would need to run as a script.
pub fn nonce(content: &str) -> String {
    let hash = blake3::hash(content.as_bytes());
    let mut out = String::new();
    for byte in &hash.as_bytes()[..16] {
        let _ = write!(out, "{byte:02x}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn everything_special_is_escaped() {
        assert_eq!(
            escaped(r#"<script>alert("x" & 'y')</script></textarea>"#),
            "&lt;script&gt;alert(&quot;x&quot; &amp; &#39;y&#39;)&lt;/script&gt;&lt;/textarea&gt;"
        );
    }

    #[test]
    fn word_diff_marks_only_the_changed_words() {
        let mut out = String::new();
        word_diff(
            "Minister MOTEGI said <yes>",
            "Minister Motegi said <yes>",
            &mut out,
        );
        assert_eq!(
            out,
            "Minister <del>MOTEGI</del><ins>Motegi</ins> said &lt;yes&gt;"
        );
        out.clear();
        word_diff("dropped <b>", "", &mut out);
        assert_eq!(out, "<del>dropped &lt;b&gt;</del>");
    }
}
