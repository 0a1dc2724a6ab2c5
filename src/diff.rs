//! Unified diffs of raw → cleaned text, with the reasons for each change.

use std::fmt::Write;

use crate::document::{Change, ChangeLog, LISTED_PER_RULE};

/// A unified diff of `old` → `new` (3 lines of context), with `a/` and `b/`
/// headers naming `name`. Empty when the two are equal.
pub fn unified(old: &str, new: &str, name: &str) -> String {
    if old == new {
        return String::new();
    }
    let (old_lines, new_lines) = (lines(old), lines(new));
    let diff = similar::TextDiff::configure()
        .newline_terminated(true)
        .diff_slices(&old_lines, &new_lines);
    let mut out = String::new();
    let _ = write!(
        out,
        "{}",
        diff.unified_diff()
            .context_radius(3)
            .missing_newline_hint(true)
            .header(&format!("a/{name}"), &format!("b/{name}"))
    );
    out
}

/// The lines of `text` with their endings (`\n`, `\r\n` or a lone `\r`),
/// as `TextDiff::from_lines` cuts them, but found with memchr: a paragraph
/// is one line, and a record's diff would otherwise step through it a
/// `char` at a time.
fn lines(text: &str) -> Vec<&str> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut start = 0;
    for at in memchr::memchr2_iter(b'\n', b'\r', bytes) {
        if at < start {
            // The `\n` of a `\r\n` already taken.
            continue;
        }
        let end = if bytes[at] == b'\r' && bytes.get(at + 1) == Some(&b'\n') {
            at + 2
        } else {
            at + 1
        };
        out.push(&text[start..end]);
        start = end;
    }
    if start < text.len() {
        out.push(&text[start..]);
    }
    out
}

/// `text` with every line made a `#` comment (for `diffs/` files, whose
/// reasons precede the diff; `patch` and `git apply` skip such lines).
pub fn commented(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    for line in text.lines() {
        out.push_str("# ");
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// One line per change: `path:line: rule: "before" → "after"`. Text is shown
/// with escapes so invisible characters are visible.
pub fn explain(name: &str, changes: &[Change]) -> String {
    let mut out = String::new();
    for change in changes {
        let _ = writeln!(
            out,
            "{name}:{}: {}: {} → {}",
            change.line,
            change.rule,
            shown(&change.before),
            shown(&change.after)
        );
    }
    out
}

/// [`explain`] of the changes a log lists, then one line for those it
/// only counted, by rule.
pub fn explain_log(name: &str, log: &ChangeLog) -> String {
    let mut out = explain(name, log.listed());
    let unlisted = log.unlisted_by_rule();
    if !unlisted.is_empty() {
        let total: u64 = unlisted.iter().map(|(_, count)| count).sum();
        let by_rule: Vec<String> = unlisted
            .iter()
            .map(|(rule, count)| format!("{rule} {count}"))
            .collect();
        let _ = writeln!(
            out,
            "{name}: {total} more changes, counted but not listed \
             (the first {LISTED_PER_RULE} of each rule are): {}",
            by_rule.join(", ")
        );
    }
    out
}

fn shown(text: &str) -> String {
    format!("{:?}", crate::report::preview(text, 60))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rule::Rule;

    #[test]
    fn unified_has_headers_and_hunks() {
        let diff = unified("a\nb\n", "a\nc\n", "x.txt");
        assert!(diff.starts_with("--- a/x.txt\n+++ b/x.txt\n@@"), "{diff}");
        assert!(diff.contains("-b\n+c\n"));
        assert!(unified("same", "same", "x").is_empty());
    }

    #[test]
    fn explain_escapes_invisible_text() {
        let change = Change {
            rule: Rule::PunctuationSpaces,
            line: 3,
            before: "\u{a0}".into(),
            after: " ".into(),
        };
        assert_eq!(
            explain("a.txt", &[change]),
            "a.txt:3: punctuation.spaces: \"\\u{a0}\" → \" \"\n"
        );
    }

    proptest::proptest! {
        #[test]
        fn lines_are_cut_as_similar_cuts_them(text in "[ab\\r\\n]{0,40}") {
            use similar::DiffableStr;
            proptest::prop_assert_eq!(lines(&text), text.tokenize_lines());
        }

        #[test]
        fn unified_matches_similar_from_lines(old in "[ab\\r\\n]{0,30}", new in "[ab\\r\\n]{0,30}") {
            let diff = similar::TextDiff::from_lines(&old, &new);
            let expected = if old == new {
                String::new()
            } else {
                diff.unified_diff()
                    .context_radius(3)
                    .missing_newline_hint(true)
                    .header("a/x", "b/x")
                    .to_string()
            };
            proptest::prop_assert_eq!(unified(&old, &new, "x"), expected);
        }
    }
}
