//! Unified diffs of raw → cleaned text, with the reasons for each change.

use std::collections::HashMap;
use std::fmt::Write;
use std::ops::Range;

use similar::{Algorithm, DiffOp};

use crate::document::{Change, ChangeLog, LISTED_PER_RULE};

/// The most work Myers' algorithm may be given for one diff, estimated as
/// (old + new lines) × (lines one side has and the other lacks). Its time
/// grows with the product: a 100 MB record with every paragraph changed
/// took 90 s to diff. Past this, the diff is cut at shared lines and each
/// piece is diffed on its own or, when still too costly, line against line.
const MYERS_BUDGET: u64 = 20_000_000;

/// How far ahead (in lines, on each side) a diff too large for Myers looks
/// for equal lines to get back in step after a difference.
const AHEAD: usize = 8;

/// A unified diff of `old` → `new` (3 lines of context), with `a/` and `b/`
/// headers naming `name`. Empty when the two are equal. A minimal diff
/// (Myers') as long as that is affordable, else a coarser one that is still
/// exact (applying it gives `new`) and found in time close to linear; both
/// depend on the texts alone, never on the clock.
pub fn unified(old: &str, new: &str, name: &str) -> String {
    unified_within(old, new, name, MYERS_BUDGET)
}

fn unified_within(old: &str, new: &str, name: &str, budget: u64) -> String {
    if old == new {
        return String::new();
    }
    let (old_lines, new_lines) = (lines(old), lines(new));
    let config = || {
        let mut config = similar::TextDiff::configure();
        config.newline_terminated(true);
        config
    };
    let mut out = String::new();
    let Some(ops) = coarse_ops(&old_lines, &new_lines, budget) else {
        let diff = config().diff_slices(&old_lines, &new_lines);
        let _ = write!(
            out,
            "{}",
            diff.unified_diff()
                .context_radius(3)
                .missing_newline_hint(true)
                .header(&format!("a/{name}"), &format!("b/{name}"))
        );
        return out;
    };
    // The hunk printer reads lines through a `TextDiff`; one whose deadline
    // has passed holds them without running the costly search.
    let holder = config()
        .deadline(std::time::Instant::now())
        .diff_slices(&old_lines, &new_lines);
    for (i, group) in similar::group_diff_ops(ops, 3).into_iter().enumerate() {
        if i == 0 {
            let _ = write!(out, "--- a/{name}\n+++ b/{name}\n");
        }
        let hunk = similar::udiff::UnifiedDiffHunk::new(group, &holder, true);
        let _ = write!(out, "{hunk}");
    }
    out
}

/// The edit script of a diff too costly for Myers' algorithm over the
/// whole texts, or `None` when it is affordable. Lines found exactly once
/// on each side, in the same order on both, cut the texts into pieces (as
/// patience diff does); a piece within [`MYERS_BUDGET`] gets Myers, a
/// larger one pairs its lines in order, which is what cleaning in place
/// (every paragraph edited, none moved) calls for.
fn coarse_ops(old: &[&str], new: &[&str], budget: u64) -> Option<Vec<DiffOp>> {
    let total = (old.len() + new.len()) as u64;
    if total * total <= budget {
        return None;
    }
    // Per line: count and last position on each side.
    let mut seen: HashMap<&str, [(u32, usize); 2]> = HashMap::new();
    for (side, text) in [old, new].into_iter().enumerate() {
        for (at, line) in text.iter().enumerate() {
            let entry = seen.entry(line).or_default();
            entry[side].0 += 1;
            entry[side].1 = at;
        }
    }
    let unmatched: u64 = seen
        .values()
        .map(|[a, b]| u64::from(a.0.abs_diff(b.0)))
        .sum();
    if total * unmatched <= budget {
        return None;
    }
    let mut unique: Vec<(usize, usize)> = seen
        .values()
        .filter(|[a, b]| a.0 == 1 && b.0 == 1)
        .map(|[a, b]| (a.1, b.1))
        .collect();
    unique.sort_unstable();
    let mut ops = Vec::new();
    let (mut at_old, mut at_new) = (0, 0);
    for (anchor_old, anchor_new) in increasing_run(&unique) {
        piece_ops(
            old,
            at_old..anchor_old,
            new,
            at_new..anchor_new,
            budget,
            &mut ops,
        );
        push_op(
            &mut ops,
            DiffOp::Equal {
                old_index: anchor_old,
                new_index: anchor_new,
                len: 1,
            },
        );
        (at_old, at_new) = (anchor_old + 1, anchor_new + 1);
    }
    piece_ops(
        old,
        at_old..old.len(),
        new,
        at_new..new.len(),
        budget,
        &mut ops,
    );
    Some(ops)
}

/// Appends `op`, merged into the last one when both are equal runs: hunks
/// are cut at long equal runs, which must not come in pieces.
fn push_op(ops: &mut Vec<DiffOp>, op: DiffOp) {
    if let (
        Some(DiffOp::Equal { old_index, len, .. }),
        DiffOp::Equal {
            old_index: next,
            len: more,
            ..
        },
    ) = (ops.last_mut(), op)
    {
        if *old_index + *len == next {
            *len += more;
            return;
        }
    }
    ops.push(op);
}

/// The longest run of `pairs` (sorted by their first) whose seconds
/// increase too: patience sorting, O(n log n).
fn increasing_run(pairs: &[(usize, usize)]) -> Vec<(usize, usize)> {
    // `tails[k]`: index in `pairs` of the smallest end of a run of k + 1.
    let mut tails: Vec<usize> = Vec::new();
    let mut before: Vec<Option<usize>> = vec![None; pairs.len()];
    for (i, &(_, second)) in pairs.iter().enumerate() {
        let k = tails.partition_point(|&t| pairs[t].1 < second);
        before[i] = k.checked_sub(1).map(|k| tails[k]);
        if k == tails.len() {
            tails.push(i);
        } else {
            tails[k] = i;
        }
    }
    let mut run = Vec::with_capacity(tails.len());
    let mut at = tails.last().copied();
    while let Some(i) = at {
        run.push(pairs[i]);
        at = before[i];
    }
    run.reverse();
    run
}

/// The edit script of one piece between shared lines.
fn piece_ops(
    old: &[&str],
    old_range: Range<usize>,
    new: &[&str],
    new_range: Range<usize>,
    budget: u64,
    ops: &mut Vec<DiffOp>,
) {
    let size = (old_range.len() + new_range.len()) as u64;
    if size * size <= budget {
        for op in similar::capture_diff(Algorithm::Myers, old, old_range, new, new_range) {
            push_op(ops, op);
        }
        return;
    }
    // Line against line; at a difference, on to the nearest pair of equal
    // lines a few lines ahead (a blank line between paragraphs, usually),
    // so a dropped or an inserted line does not put the rest out of step.
    let (mut i, mut j) = (old_range.start, new_range.start);
    while i < old_range.end && j < new_range.end {
        if old[i] == new[j] {
            push_op(
                ops,
                DiffOp::Equal {
                    old_index: i,
                    new_index: j,
                    len: 1,
                },
            );
            (i, j) = (i + 1, j + 1);
            continue;
        }
        let (skip_old, skip_new) = (1..=2 * AHEAD)
            .flat_map(|sum| (0..=sum).map(move |a| (a, sum - a)))
            .filter(|&(a, b)| a <= AHEAD && b <= AHEAD)
            .find(|&(a, b)| {
                i + a < old_range.end && j + b < new_range.end && old[i + a] == new[j + b]
            })
            .unwrap_or((1, 1));
        ops.push(match (skip_old, skip_new) {
            (0, new_len) => DiffOp::Insert {
                old_index: i,
                new_index: j,
                new_len,
            },
            (old_len, 0) => DiffOp::Delete {
                old_index: i,
                old_len,
                new_index: j,
            },
            (old_len, new_len) => DiffOp::Replace {
                old_index: i,
                old_len,
                new_index: j,
                new_len,
            },
        });
        (i, j) = (i + skip_old, j + skip_new);
    }
    if i < old_range.end {
        ops.push(DiffOp::Delete {
            old_index: i,
            old_len: old_range.end - i,
            new_index: j,
        });
    } else if j < new_range.end {
        ops.push(DiffOp::Insert {
            old_index: i,
            new_index: j,
            new_len: new_range.end - j,
        });
    }
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

    /// `diff` (a unified diff of texts ending in a newline) applied to `old`.
    fn patched(old: &str, diff: &str) -> String {
        let old: Vec<&str> = old.split_inclusive('\n').collect();
        let mut out = String::new();
        let mut at = 0;
        for line in diff.split_inclusive('\n').skip(2) {
            if let Some(header) = line.strip_prefix("@@ -") {
                let start: usize = header.split([',', ' ']).next().unwrap().parse().unwrap();
                // Context before the hunk, then the hunk (1-based start;
                // 0 for an empty old side).
                let to = start.saturating_sub(1).max(at);
                out.extend(old[at..to].iter().copied());
                at = to;
                continue;
            }
            match line.split_at(1) {
                (" ", text) => {
                    assert_eq!(old[at], text, "context must match");
                    out.push_str(text);
                    at += 1;
                }
                ("-", text) => {
                    assert_eq!(old[at], text, "a removed line must match");
                    at += 1;
                }
                ("+", text) => out.push_str(text),
                _ => panic!("unexpected diff line {line:?}"),
            }
        }
        out.extend(old[at..].iter().copied());
        out
    }

    #[test]
    fn a_huge_diff_pairs_changed_lines_and_still_patches_exactly() {
        // 6,000 paragraphs, far over the budget for Myers: below 3,000 every
        // tenth is left as it was (a line found once on each side, where the
        // diff can cut), above it every one changed; every thousandth
        // dropped, one split in two.
        let unchanged = |i: usize| i < 3000 && i % 10 == 0;
        let before = |i: usize| {
            if unchanged(i) {
                format!("para {i}\n")
            } else {
                format!("para “{i}” .\n")
            }
        };
        let after = |i: usize| {
            if unchanged(i) {
                format!("para {i}\n")
            } else {
                format!("para \"{i}\".\n")
            }
        };
        let dropped = |i: usize| i % 1000 == 7;
        let old: String = (0..6000).map(|i| before(i) + "\n").collect();
        let mut new = String::new();
        for i in (0..6000).filter(|&i| !dropped(i)) {
            if i == 4321 {
                new.push_str("- split\n");
            }
            new.push_str(&(after(i) + "\n"));
        }
        assert!(coarse_ops(&lines(&old), &lines(&new), MYERS_BUDGET).is_some());
        let diff = unified(&old, &new, "big.txt");
        assert!(
            diff.starts_with("--- a/big.txt\n+++ b/big.txt\n@@ "),
            "{}",
            &diff[..200]
        );
        assert_eq!(patched(&old, &diff), new);
        // As few lines as a minimal diff has: each changed paragraph once
        // on each side, and the blank line after each dropped one.
        let changed = (0..6000).filter(|&i| !unchanged(i)).count();
        let drops = (0..6000).filter(|&i| dropped(i)).count();
        let count = |tag: char| {
            diff.lines()
                .skip(2)
                .filter(|line| line.starts_with(tag))
                .count()
        };
        assert_eq!(count('-'), changed + drops);
        assert_eq!(count('+'), changed - drops + 1);
        // Small diffs are untouched by all this: Myers, as before.
        assert!(coarse_ops(&lines("a\nb\n"), &lines("a\nc\n"), MYERS_BUDGET).is_none());
    }

    #[test]
    fn increasing_run_is_the_longest() {
        let pairs = [(0, 5), (1, 1), (2, 2), (3, 9), (4, 3), (5, 4), (6, 0)];
        assert_eq!(increasing_run(&pairs), [(1, 1), (2, 2), (4, 3), (5, 4)]);
        assert!(increasing_run(&[]).is_empty());
    }

    proptest::proptest! {
        /// Whatever path the diff takes (Myers, pieces, line against line),
        /// applying it to the old text gives the new one.
        #[test]
        fn every_path_gives_an_exact_diff(
            old in proptest::collection::vec("[abc]{0,2}\n", 0..40),
            new in proptest::collection::vec("[abc]{0,2}\n", 0..40),
            budget in proptest::sample::select(vec![0u64, 30, 200, MYERS_BUDGET]),
        ) {
            let (old, new) = (old.concat(), new.concat());
            let diff = unified_within(&old, &new, "x", budget);
            if old == new {
                proptest::prop_assert!(diff.is_empty());
            } else {
                proptest::prop_assert_eq!(patched(&old, &diff), new);
            }
        }

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
