//! `scour diff`: two versions of a document, two folders or two JSONL dumps
//! compared block by block, as they are (no stage cleans them first).
//!
//! Both texts are segmented with the config's segment mode and every block
//! is keyed with [`block_key`], so blocks are aligned by content: a block
//! that moved is reported as moved, not as removed plus added; a similar
//! block as edited, with its word changes; the rest as added or removed
//! ([`align`] says how). Folders are paired by relative path, dumps by
//! record id; a document on one side only is added or removed.
//!
//! The module owns the comparison and its renderings as strings
//! ([`render`]: unified diff and JSON; [`html`]: one self-contained page).
//! It never prints: the terminal view and exit codes belong to the CLI.

mod align;
pub mod html;
mod inputs;
pub mod render;
mod words;

use std::fmt::Write as _;
use std::ops::Range;

use serde::Serialize;
use similar::DiffOp;

use crate::config::SegmentMode;
use crate::document::BlockKind;
use crate::segment::Segmenter;
use crate::stages::dedup::{block_key, BlockKey};

pub use inputs::{compare_paths, CompareOptions, DiffError};
pub use words::{Similarity, Word};

/// A block of a version: what it is, where it is, its key.
#[derive(Debug, Clone)]
pub struct Unit {
    pub kind: BlockKind,
    /// The lines it covers, 0-based, end excluded.
    pub lines: Range<usize>,
    /// Its text's byte span (without the final newline).
    pub span: Range<usize>,
    key: BlockKey,
}

impl Unit {
    /// 1-based line where the block starts.
    pub fn line(&self) -> u32 {
        self.lines.start as u32 + 1
    }

    pub fn is_blank(&self) -> bool {
        self.kind == BlockKind::Blank
    }
}

/// One version of a document, segmented and keyed.
#[derive(Debug, Clone, Default)]
pub struct Version {
    pub text: String,
    pub units: Vec<Unit>,
    /// Byte range of each line, its newline included.
    lines: Vec<Range<usize>>,
    pub final_newline: bool,
    /// The segment mode used (`auto` resolved).
    pub mode: SegmentMode,
}

impl Version {
    pub fn new(text: String, mode: SegmentMode) -> Version {
        let parts = Segmenter::new(mode).segment(&text);
        let units = parts
            .blocks
            .iter()
            .map(|block| {
                let first = block.line as usize - 1;
                let count = memchr::memchr_iter(b'\n', block.text.as_bytes()).count() + 1;
                Unit {
                    kind: block.kind,
                    lines: first..first + count,
                    span: block.span.clone(),
                    key: block_key(&block.text),
                }
            })
            .collect();
        let final_newline = parts.final_newline;
        let mode = parts.mode;
        let mut lines = Vec::new();
        let mut start = 0;
        for piece in text.split_inclusive('\n') {
            lines.push(start..start + piece.len());
            start += piece.len();
        }
        Version {
            text,
            units,
            lines,
            final_newline,
            mode,
        }
    }

    pub fn unit_text(&self, unit: usize) -> &str {
        &self.text[self.units[unit].span.clone()]
    }

    /// Line `index` (0-based) with its newline, if it has one.
    pub fn line(&self, index: usize) -> &str {
        &self.text[self.lines[index].clone()]
    }

    pub fn line_count(&self) -> usize {
        self.lines.len()
    }

    /// The blocks that are not blank runs.
    fn content(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.units.len()).filter(|&i| !self.units[i].is_blank())
    }

    /// The lines covered by the blocks `units` (where they would be, when
    /// the range is empty).
    fn lines_of(&self, units: &Range<usize>) -> Range<usize> {
        let start_of = |u: usize| {
            self.units
                .get(u)
                .map_or(self.lines.len(), |unit| unit.lines.start)
        };
        start_of(units.start)..start_of(units.end)
    }

    fn line_strs(&self, lines: &Range<usize>) -> Vec<&str> {
        lines.clone().map(|k| self.line(k)).collect()
    }
}

/// How an edited block changed.
#[derive(Debug, Clone, PartialEq)]
pub struct Edit {
    pub similarity: Similarity,
    pub words: Vec<Word>,
}

/// What happened to a block (or a run of blank lines), in reading order:
/// between two blocks that stayed in place come the old side's removed
/// and moved-away blocks, then the new side's added and moved-in blocks.
/// Indices are into `Version::units`.
#[derive(Debug, Clone, PartialEq)]
pub enum Row {
    Unchanged {
        old: usize,
        new: usize,
    },
    /// Similar (or equal but for case and white space), in the same place.
    Edited {
        old: usize,
        new: usize,
        edit: Edit,
    },
    Removed {
        old: usize,
    },
    Added {
        new: usize,
    },
    /// Where a moved block was: it is now `new`.
    MovedAway {
        old: usize,
        new: usize,
    },
    /// Where a moved block is now, and its changes if it was also edited.
    Moved {
        old: usize,
        new: usize,
        edit: Option<Edit>,
    },
    /// Blank lines differ where no block changed (line ranges).
    Spacing {
        old: Range<usize>,
        new: Range<usize>,
    },
    /// One version ends with a newline, the other does not.
    FinalNewline {
        old: bool,
        new: bool,
    },
}

/// Where a compared document comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Origin {
    /// The file, as given (or as found under the folder given).
    pub path: String,
    /// For a JSONL record: its line in the dump.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
}

/// One side of a document pair. A document only on the other side has no
/// origin and an empty version.
#[derive(Debug, Clone, Default)]
pub struct Side {
    pub origin: Option<Origin>,
    pub version: Version,
}

/// Two versions of one document that differ, aligned.
#[derive(Debug, Clone)]
pub struct DocDiff {
    /// Its path relative to the folders compared, when folders were.
    pub name: Option<String>,
    pub old: Side,
    pub new: Side,
    /// For a JSONL record: its id (a string, or another value's JSON).
    pub id: Option<String>,
    pub rows: Vec<Row>,
    /// Line operations turning the old text into the new one: `Equal`,
    /// `Delete` and `Insert` only, covering every line of both.
    pub lines: Vec<DiffOp>,
}

/// Whether a listed document changed or exists on one side only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    Changed,
    Added,
    Removed,
}

/// Rows by kind; `spacing` counts blank-line and final-newline rows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct BlockTotals {
    pub unchanged: u64,
    pub moved: u64,
    pub edited: u64,
    pub added: u64,
    pub removed: u64,
    pub spacing: u64,
}

impl std::ops::AddAssign for BlockTotals {
    fn add_assign(&mut self, other: BlockTotals) {
        self.unchanged += other.unchanged;
        self.moved += other.moved;
        self.edited += other.edited;
        self.added += other.added;
        self.removed += other.removed;
        self.spacing += other.spacing;
    }
}

impl DocDiff {
    /// Segments two versions of a document with `mode` and aligns them; a
    /// side is `None` where the document does not exist.
    ///
    /// Under `auto` both versions must be read the same way: when they look
    /// different (one hard-wrapped, the other a paragraph a line), both are
    /// segmented a line at a time, which never joins lines and so lines up
    /// either shape.
    pub fn from_texts(
        old: Option<(Origin, String)>,
        new: Option<(Origin, String)>,
        mode: SegmentMode,
        id: Option<String>,
    ) -> DocDiff {
        let side = |half: Option<(Origin, String)>, mode: SegmentMode| match half {
            Some((origin, text)) => Side {
                origin: Some(origin),
                version: Version::new(text, mode),
            },
            None => Side::default(),
        };
        let (mut old, mut new) = (side(old, mode), side(new, mode));
        let both = old.origin.is_some() && new.origin.is_some();
        if both && old.version.mode != new.version.mode {
            let relined = |side: Side| Side {
                version: Version::new(side.version.text, SegmentMode::Line),
                origin: side.origin,
            };
            old = relined(old);
            new = relined(new);
        }
        DocDiff::new(old, new, id)
    }

    /// Aligns two sides.
    pub fn new(old: Side, new: Side, id: Option<String>) -> DocDiff {
        let aligned = align::align(&old.version, &new.version);
        DocDiff {
            name: None,
            old,
            new,
            id,
            rows: aligned.rows,
            lines: aligned.lines,
        }
    }

    pub fn status(&self) -> Status {
        match (&self.old.origin, &self.new.origin) {
            (None, _) => Status::Added,
            (_, None) => Status::Removed,
            _ => Status::Changed,
        }
    }

    /// How the document is named for people: `old → new` (one path when
    /// both are the same relative path), `added new`, `removed old`; a
    /// record adds its line in each dump and its id.
    pub fn title(&self) -> String {
        let side = |origin: &Origin| match origin.line {
            Some(line) => format!("{}:{line}", origin.path),
            None => origin.path.clone(),
        };
        let mut out = match (&self.old.origin, &self.new.origin) {
            (Some(old), Some(new)) => format!("{} → {}", side(old), side(new)),
            (None, Some(new)) => format!("added {}", side(new)),
            (Some(old), None) => format!("removed {}", side(old)),
            (None, None) => String::new(),
        };
        if let Some(id) = &self.id {
            let _ = write!(out, " (id {id:?})");
        }
        out
    }

    pub fn totals(&self) -> BlockTotals {
        let mut t = BlockTotals::default();
        for row in &self.rows {
            match row {
                Row::Unchanged { .. } => t.unchanged += 1,
                Row::Edited { .. } => t.edited += 1,
                Row::Removed { .. } => t.removed += 1,
                Row::Added { .. } => t.added += 1,
                Row::Moved { .. } => t.moved += 1,
                Row::MovedAway { .. } => {}
                Row::Spacing { .. } | Row::FinalNewline { .. } => t.spacing += 1,
            }
        }
        t
    }
}

/// A row to show, or a run of unchanged rows folded away.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shown {
    Row(usize),
    Folded(usize),
}

/// The rows to show: every change, with up to `context` unchanged rows on
/// each side; longer runs of unchanged rows are folded into their count.
pub fn with_context(rows: &[Row], context: usize) -> Vec<Shown> {
    let changed: Vec<usize> = (0..rows.len())
        .filter(|&i| !matches!(rows[i], Row::Unchanged { .. }))
        .collect();
    let near = |i: usize| {
        let at = changed.partition_point(|&c| c < i);
        let after = changed.get(at).is_some_and(|&c| c - i <= context);
        let before = at > 0 && i - changed[at - 1] <= context;
        after || before
    };
    let mut out = Vec::new();
    for (i, row) in rows.iter().enumerate() {
        if !matches!(row, Row::Unchanged { .. }) || near(i) {
            out.push(Shown::Row(i));
        } else if let Some(Shown::Folded(n)) = out.last_mut() {
            *n += 1;
        } else {
            out.push(Shown::Folded(1));
        }
    }
    out
}

/// Compares two texts (already decoded) with the given segment mode.
pub fn compare_texts(old: &str, new: &str, mode: SegmentMode) -> DocDiff {
    let half = |text: &str| {
        let origin = Origin {
            path: String::new(),
            line: None,
        };
        Some((origin, text.to_owned()))
    };
    DocDiff::from_texts(half(old), half(new), mode, None)
}

/// A file or record that could not be compared.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InputError {
    pub path: String,
    /// 1-based line, when known (in the file, or of the record in a dump).
    pub line: Option<u64>,
    pub message: String,
}

impl std::fmt::Display for InputError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{line}: {}", self.path, self.message),
            None => write!(f, "{}: {}", self.path, self.message),
        }
    }
}

/// The comparison of two paths.
#[derive(Debug, Clone, Default)]
pub struct Comparison {
    /// The paths compared, as given.
    pub old: String,
    pub new: String,
    /// The documents that differ, in order: folders by relative path; a
    /// dump's records in the new dump's order, then the removed ones in the
    /// old dump's order.
    pub documents: Vec<DocDiff>,
    /// Documents found equal (not listed).
    pub unchanged: u64,
    pub errors: Vec<InputError>,
}

/// Documents by outcome.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct DocTotals {
    pub unchanged: u64,
    pub changed: u64,
    pub added: u64,
    pub removed: u64,
    pub errors: u64,
}

/// Totals of a comparison; block totals cover the listed documents.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Totals {
    pub documents: DocTotals,
    pub blocks: BlockTotals,
}

impl Comparison {
    /// Whether any document differs.
    pub fn differs(&self) -> bool {
        !self.documents.is_empty()
    }

    pub fn totals(&self) -> Totals {
        let mut totals = Totals {
            documents: DocTotals {
                unchanged: self.unchanged,
                errors: self.errors.len() as u64,
                ..DocTotals::default()
            },
            ..Totals::default()
        };
        for doc in &self.documents {
            match doc.status() {
                Status::Changed => totals.documents.changed += 1,
                Status::Added => totals.documents.added += 1,
                Status::Removed => totals.documents.removed += 1,
            }
            totals.blocks += doc.totals();
        }
        totals
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(old: &str, new: &str) -> Vec<Row> {
        compare_texts(old, new, SegmentMode::Line).rows
    }

    /// Applies the line script to the old text: it must give the new one.
    fn apply(diff: &DocDiff) -> String {
        let mut out = String::new();
        for op in &diff.lines {
            match *op {
                DiffOp::Equal { old_index, len, .. } => {
                    for k in old_index..old_index + len {
                        out.push_str(diff.old.version.line(k));
                    }
                }
                DiffOp::Insert {
                    new_index, new_len, ..
                } => {
                    for k in new_index..new_index + new_len {
                        out.push_str(diff.new.version.line(k));
                    }
                }
                DiffOp::Delete { .. } => {}
                DiffOp::Replace { .. } => panic!("no replace ops"),
            }
        }
        out
    }

    const A: &str = "The ministers met in Tokyo on Tuesday to discuss trade.";
    const B: &str = "They agreed to meet again next spring in Santiago.";
    const C: &str = "A joint statement will follow within the week.";

    #[test]
    fn a_moved_block_is_one_move() {
        let old = format!("{A}\n{B}\n{C}\n");
        let new = format!("{B}\n{C}\n{A}\n");
        assert_eq!(
            rows(&old, &new),
            [
                Row::MovedAway { old: 0, new: 2 },
                Row::Unchanged { old: 1, new: 0 },
                Row::Unchanged { old: 2, new: 1 },
                Row::Moved {
                    old: 0,
                    new: 2,
                    edit: None
                },
            ]
        );
    }

    #[test]
    fn a_similar_block_is_edited_with_its_words() {
        let edited = A.replace("Tuesday", "Wednesday");
        let diff = compare_texts(
            &format!("{A}\n{B}\n"),
            &format!("{edited}\n{B}\n"),
            SegmentMode::Line,
        );
        let Row::Edited {
            old: 0,
            new: 0,
            edit,
        } = &diff.rows[0]
        else {
            panic!("{:?}", diff.rows);
        };
        assert!(edit.words.contains(&Word::Removed("Tuesday".into())));
        assert!(edit.words.contains(&Word::Added("Wednesday".into())));
        assert!(edit.similarity.is_edit());
    }

    #[test]
    fn a_block_differing_in_case_and_spaces_only_is_edited() {
        let diff = compare_texts(
            &format!("{A}\n"),
            &format!("{}\n", A.to_uppercase().replace(' ', "  ")),
            SegmentMode::Line,
        );
        assert!(
            matches!(diff.rows[..], [Row::Edited { .. }]),
            "{:?}",
            diff.rows
        );
    }

    #[test]
    fn a_moved_and_edited_block_is_a_move_with_words() {
        let edited = A.replace("trade", "tariffs");
        let old = format!("{A}\n{B}\n{C}\n");
        let new = format!("{B}\n{C}\n{edited}\n");
        let diff = compare_texts(&old, &new, SegmentMode::Line);
        assert!(
            matches!(
                &diff.rows[..],
                [
                    Row::MovedAway { old: 0, new: 2 },
                    _,
                    _,
                    Row::Moved {
                        old: 0,
                        new: 2,
                        edit: Some(_)
                    }
                ]
            ),
            "{:?}",
            diff.rows
        );
    }

    #[test]
    fn unrelated_blocks_are_removed_and_added() {
        let diff = rows(
            &format!("{A}\nSomething else entirely.\n"),
            &format!("{A}\nNothing alike here at all.\n"),
        );
        assert_eq!(
            diff,
            [
                Row::Unchanged { old: 0, new: 0 },
                Row::Removed { old: 1 },
                Row::Added { new: 1 }
            ]
        );
    }

    #[test]
    fn blank_lines_and_final_newline_are_spacing() {
        let old = format!("{A}\n{B}");
        let new = format!("{A}\n\n\n{B}\n");
        let diff = compare_texts(&old, &new, SegmentMode::Line);
        assert!(
            matches!(diff.rows[1], Row::Spacing { .. }),
            "{:?}",
            diff.rows
        );
        assert_eq!(
            diff.rows.last(),
            Some(&Row::FinalNewline {
                old: false,
                new: true
            })
        );
        assert_eq!(apply(&diff), new);
    }

    #[test]
    fn versions_read_differently_under_auto_are_both_read_by_line() {
        // Old: one paragraph a line. New: a blank line and a two-line run,
        // which alone would read as hard-wrapped and join `b` with `c`.
        let old = format!("{A}\n{B}\n{C}\n");
        let new = format!("{A}\n\n{B}\n{C}\n");
        let diff = compare_texts(&old, &new, SegmentMode::Auto);
        assert_eq!(diff.new.version.mode, SegmentMode::Line);
        assert_eq!(diff.totals().unchanged, 3, "{:?}", diff.rows);
        assert_eq!(diff.totals().spacing, 1);
    }

    #[test]
    fn line_script_turns_old_into_new() {
        let cases = [
            ("", ""),
            ("", "a\n"),
            ("a\n", ""),
            ("a\nb\nc", "c\nb\na\n"),
            ("x\n\n\ny\n\nz\n", "z\n\ny\nx\n"),
            (
                "# Head\n\n- one\n- two\n- three\n",
                "# Head\n- three\n- one\n\n- two\n",
            ),
        ];
        for (old, new) in cases {
            let diff = compare_texts(old, new, SegmentMode::Auto);
            assert_eq!(apply(&diff), new, "{old:?} -> {new:?}");
        }
    }

    proptest::proptest! {
        #[test]
        fn line_script_turns_any_old_into_any_new(
            old in proptest::collection::vec("(alpha beta|gamma|delta epsilon zeta|eta|)", 0..12),
            new in proptest::collection::vec("(alpha beta|gamma|delta epsilon theta|eta|iota)", 0..12),
            trailing in proptest::bool::ANY,
        ) {
            let old = old.join("\n");
            let mut new = new.join("\n");
            if trailing {
                new.push('\n');
            }
            let diff = compare_texts(&old, &new, SegmentMode::Auto);
            proptest::prop_assert_eq!(apply(&diff), new);
        }
    }
}
