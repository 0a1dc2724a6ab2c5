//! Unified diffs of raw → cleaned text, with the reasons for each change.

use std::fmt::Write;

use crate::document::Change;

/// A unified diff of `old` → `new` (3 lines of context), with `a/` and `b/`
/// headers naming `name`. Empty when the two are equal.
pub fn unified(old: &str, new: &str, name: &str) -> String {
    if old == new {
        return String::new();
    }
    let diff = similar::TextDiff::from_lines(old, new);
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
}
