//! A comparison as a unified diff (for `patch` and `git apply`) and as
//! JSON (for programs). Both are deterministic: the same inputs give the
//! same bytes.

use std::fmt::Write;

use serde::Serialize;
use similar::{udiff::UnifiedHunkHeader, DiffOp};

use super::{BlockTotals, Comparison, DocDiff, InputError, Origin, Row, Status, Totals, Word};
use crate::document::BlockKind;
use crate::report::preview;

/// Lines of context around each hunk, as `diff -u`.
const CONTEXT: usize = 3;

/// `1 moved, 2 edited, …`, naming only the kinds that occur (`empty` for
/// an empty document added or removed, the only listed document with no
/// row).
pub fn describe(totals: &BlockTotals) -> String {
    let parts = [
        (totals.moved, "moved"),
        (totals.edited, "edited"),
        (totals.added, "added"),
        (totals.removed, "removed"),
        (totals.spacing, "spacing"),
    ];
    let named: Vec<String> = parts
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, what)| format!("{n} {what}"))
        .collect();
    if named.is_empty() {
        "empty".to_owned()
    } else {
        named.join(", ")
    }
}

/// A spacing row in words: `2 blank lines → 1`, `newline at end of file
/// added`; `None` for other rows.
pub fn spacing_note(row: &Row) -> Option<String> {
    let lines = |n: usize| match n {
        1 => "1 blank line".to_owned(),
        n => format!("{n} blank lines"),
    };
    match row {
        Row::Spacing { old, new } => Some(format!("{} → {}", lines(old.len()), lines(new.len()))),
        Row::FinalNewline { new, .. } => Some(format!(
            "newline at end of file {}",
            if *new { "added" } else { "removed" }
        )),
        _ => None,
    }
}

/// The unified diff of every listed document. Before each document's
/// headers, `#` lines say what changed and where blocks moved (a unified
/// diff can only show a move as a removal and an addition); `patch` and
/// `git apply` skip them.
pub fn unified(comparison: &Comparison) -> String {
    let mut out = String::new();
    for doc in &comparison.documents {
        unified_doc(doc, &mut out);
    }
    out
}

fn label(prefix: &str, doc: &DocDiff, origin: Option<&Origin>) -> String {
    let Some(origin) = origin else {
        return "/dev/null".to_owned();
    };
    let path = doc.name.as_deref().unwrap_or(&origin.path);
    match origin.line {
        Some(line) => format!("{prefix}{path}:{line}"),
        None => format!("{prefix}{path}"),
    }
}

fn unified_doc(doc: &DocDiff, out: &mut String) {
    let _ = writeln!(out, "# {}: {}", doc.title(), describe(&doc.totals()));
    for row in &doc.rows {
        if let Row::Moved { old, new, edit } = row {
            let _ = writeln!(
                out,
                "# moved{}: line {} → line {}: {:?}",
                if edit.is_some() { " and edited" } else { "" },
                doc.old.version.units[*old].line(),
                doc.new.version.units[*new].line(),
                preview(doc.new.version.unit_text(*new), 60)
            );
        }
    }
    let groups = similar::group_diff_ops(doc.lines.clone(), CONTEXT);
    if groups.is_empty() {
        // An empty file added or removed: nothing for a patch to carry.
        return;
    }
    let _ = writeln!(out, "--- {}", label("a/", doc, doc.old.origin.as_ref()));
    let _ = writeln!(out, "+++ {}", label("b/", doc, doc.new.origin.as_ref()));
    for group in groups {
        let _ = writeln!(out, "{}", UnifiedHunkHeader::new(&group));
        for op in group {
            let (sign, version, range) = match op {
                DiffOp::Equal { .. } => (' ', &doc.old.version, op.old_range()),
                DiffOp::Delete { .. } => ('-', &doc.old.version, op.old_range()),
                DiffOp::Insert { .. } | DiffOp::Replace { .. } => {
                    ('+', &doc.new.version, op.new_range())
                }
            };
            for k in range {
                let line = version.line(k);
                out.push(sign);
                out.push_str(line);
                if !line.ends_with('\n') {
                    out.push_str("\n\\ No newline at end of file\n");
                }
            }
        }
    }
}

/// One reported change. Every op has `op`, `old_line` and `new_line`
/// (1-based; `null` on the side where the block does not exist).
#[derive(Debug, Serialize)]
#[serde(tag = "op", rename_all = "kebab-case")]
enum Op<'a> {
    Moved {
        kind: BlockKind,
        old_line: u32,
        new_line: u32,
        text: &'a str,
        /// Present when the block was also edited.
        #[serde(skip_serializing_if = "Option::is_none")]
        similarity: Option<f64>,
        #[serde(skip_serializing_if = "Option::is_none")]
        words: Option<&'a [Word]>,
    },
    Edited {
        kind: BlockKind,
        old_line: u32,
        new_line: u32,
        similarity: f64,
        words: &'a [Word],
    },
    Added {
        kind: BlockKind,
        old_line: Option<u32>,
        new_line: u32,
        text: &'a str,
    },
    Removed {
        kind: BlockKind,
        old_line: u32,
        new_line: Option<u32>,
        text: &'a str,
    },
    /// Blank lines differ where no block changed.
    Spacing {
        old_line: usize,
        new_line: usize,
        old_blank_lines: usize,
        new_blank_lines: usize,
    },
    /// One version ends with a newline, the other does not.
    FinalNewline {
        old_line: usize,
        new_line: usize,
        old: bool,
        new: bool,
    },
}

/// Similarity to three decimals: enough to read, stable to compare.
fn rounded(similarity: super::Similarity) -> f64 {
    (similarity.ratio() * 1000.0).round() / 1000.0
}

fn ops(doc: &DocDiff) -> Vec<Op<'_>> {
    let (old, new) = (&doc.old.version, &doc.new.version);
    doc.rows
        .iter()
        .filter_map(|row| {
            Some(match row {
                Row::Unchanged { .. } | Row::MovedAway { .. } => return None,
                Row::Edited {
                    old: i,
                    new: j,
                    edit,
                } => Op::Edited {
                    kind: new.units[*j].kind,
                    old_line: old.units[*i].line(),
                    new_line: new.units[*j].line(),
                    similarity: rounded(edit.similarity),
                    words: &edit.words,
                },
                Row::Moved {
                    old: i,
                    new: j,
                    edit,
                } => Op::Moved {
                    kind: new.units[*j].kind,
                    old_line: old.units[*i].line(),
                    new_line: new.units[*j].line(),
                    text: new.unit_text(*j),
                    similarity: edit.as_ref().map(|e| rounded(e.similarity)),
                    words: edit.as_ref().map(|e| e.words.as_slice()),
                },
                Row::Added { new: j } => Op::Added {
                    kind: new.units[*j].kind,
                    old_line: None,
                    new_line: new.units[*j].line(),
                    text: new.unit_text(*j),
                },
                Row::Removed { old: i } => Op::Removed {
                    kind: old.units[*i].kind,
                    old_line: old.units[*i].line(),
                    new_line: None,
                    text: old.unit_text(*i),
                },
                Row::Spacing { old: a, new: b } => Op::Spacing {
                    old_line: a.start + 1,
                    new_line: b.start + 1,
                    old_blank_lines: a.len(),
                    new_blank_lines: b.len(),
                },
                Row::FinalNewline { old: a, new: b } => Op::FinalNewline {
                    old_line: old.line_count(),
                    new_line: new.line_count(),
                    old: *a,
                    new: *b,
                },
            })
        })
        .collect()
}

#[derive(Serialize)]
struct DocView<'a> {
    status: Status,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
    old: Option<&'a Origin>,
    new: Option<&'a Origin>,
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<&'a str>,
    totals: BlockTotals,
    ops: Vec<Op<'a>>,
}

#[derive(Serialize)]
struct Report<'a> {
    old: &'a str,
    new: &'a str,
    totals: Totals,
    documents: Vec<DocView<'a>>,
    errors: &'a [InputError],
}

/// The comparison as one pretty-printed JSON document (newline-terminated):
/// the paths compared, totals, per differing document its status, origins,
/// block totals and ops, then the input errors.
pub fn json(comparison: &Comparison) -> String {
    let report = Report {
        old: &comparison.old,
        new: &comparison.new,
        totals: comparison.totals(),
        documents: comparison
            .documents
            .iter()
            .map(|doc| DocView {
                status: doc.status(),
                name: doc.name.as_deref(),
                old: doc.old.origin.as_ref(),
                new: doc.new.origin.as_ref(),
                id: doc.id.as_deref(),
                totals: doc.totals(),
                ops: ops(doc),
            })
            .collect(),
        errors: &comparison.errors,
    };
    // Serializing plain data to a String cannot fail.
    let mut out = serde_json::to_string_pretty(&report).expect("JSON to memory");
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compare::compare_texts;
    use crate::config::SegmentMode;

    fn comparison(old: &str, new: &str) -> Comparison {
        let mut doc = compare_texts(old, new, SegmentMode::Line);
        doc.name = Some("doc.txt".into());
        Comparison {
            old: "a".into(),
            new: "b".into(),
            documents: vec![doc],
            ..Comparison::default()
        }
    }

    #[test]
    fn unified_marks_a_missing_final_newline() {
        let diff = unified(&comparison("one\ntwo", "one\nthree"));
        assert!(
            diff.ends_with(
                "-two\n\\ No newline at end of file\n+three\n\\ No newline at end of file\n"
            ),
            "{diff}"
        );
        assert!(
            diff.contains("--- a/doc.txt\n+++ b/doc.txt\n@@ -1,2 +1,2 @@\n"),
            "{diff}"
        );
    }

    #[test]
    fn unified_notes_moves_in_comments() {
        let a = "The first paragraph is long enough to matter.";
        let b = "The second paragraph stays where it is.";
        let diff = unified(&comparison(&format!("{a}\n{b}\n"), &format!("{b}\n{a}\n")));
        assert!(diff.starts_with("# "), "{diff}");
        assert!(
            diff.contains("# moved: line 1 → line 2: \"The first"),
            "{diff}"
        );
    }

    #[test]
    fn json_ops_have_stable_fields() {
        let json: serde_json::Value = serde_json::from_str(&json(&comparison(
            "kept\nold words here\n",
            "kept\nnew words here\nadded line\n",
        )))
        .unwrap();
        let ops = &json["documents"][0]["ops"];
        assert_eq!(ops[0]["op"], "edited");
        assert_eq!(ops[0]["old_line"], 2);
        assert_eq!(ops[0]["words"][0]["removed"], "old");
        assert_eq!(ops[0]["words"][1]["added"], "new");
        assert_eq!(ops[1]["op"], "added");
        assert!(ops[1]["old_line"].is_null());
        assert_eq!(json["totals"]["documents"]["changed"], 1);
    }
}
