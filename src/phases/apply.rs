//! The apply phase: one document's bytes and decisions → the bytes to write.
//!
//! Cleans the document exactly as the index phase did, removes the blocks
//! the decisions drop, and then cleans its own result again until nothing
//! changes ([`clean_settled`]): if that does not settle within a few rounds,
//! the run has a bug and the document is refused (exit 123) instead of
//! written, as Black's safe mode does.

use std::borrow::Cow;
use std::ops::Range;

use crate::config::Policy;
use crate::diff;
use crate::document::{
    decode, decode_str, encode, BlockKind, Change, ChangeLog, DecodeError, Decoded, Document,
    LineEnding,
};
use crate::phases::decide::{decide_one, Decision, DedupKind};
use crate::pipeline::Pipeline;
use crate::rule::Rule;

/// A block a decision dropped or marked, with its text, so the report can
/// quote it and nothing is lost unseen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DedupBlock {
    pub decision: Decision,
    pub text: String,
}

/// The outcome of cleaning one document of `'a` bytes.
#[derive(Debug, Clone)]
pub struct Applied<'a> {
    /// The cleaned document as it is written (BOM and line endings
    /// applied), when that is not simply `text`.
    encoded: Option<String>,
    /// The cleaned text with LF endings, as the stages left it.
    pub text: String,
    /// The decoded original with LF endings, for diffs: borrowed when the
    /// input needed no decoding.
    pub original: Cow<'a, str>,
    /// Whether `output` differs from the input bytes.
    pub changed: bool,
    pub changes: ChangeLog,
    pub dropped: Vec<DedupBlock>,
    pub marked: Vec<DedupBlock>,
    /// Blocks in the cleaned document before drops.
    pub blocks: usize,
}

impl Applied<'_> {
    /// The cleaned document as it is written: BOM and line endings applied.
    pub fn output(&self) -> &str {
        self.encoded.as_deref().unwrap_or(&self.text)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// Cleaning the cleaned text kept changing it: a bug in scour.
    #[error("internal error: cleaning does not settle on this document\n{diff}")]
    NotIdempotent { diff: String },
}

/// A document cleaned and deduplicated, before encoding.
#[derive(Debug, Clone)]
pub struct CleanText {
    pub text: String,
    pub changes: ChangeLog,
    pub dropped: Vec<DedupBlock>,
    pub marked: Vec<DedupBlock>,
    pub blocks: usize,
    /// Where in `text` lie blocks that went through the per-block
    /// punctuation rules unchanged, with their kind: cleaning `text` again
    /// need not run those rules on them ([`Pipeline::clean_known`]).
    pub settled: Vec<(Range<usize>, BlockKind)>,
}

/// Cleans `text` (LF, no BOM) and applies `decisions`: what the apply phase
/// does, without the byte-level work around it.
pub fn clean_text(pipeline: &Pipeline, text: &str, decisions: &[Decision]) -> CleanText {
    apply_decisions(pipeline.clean(text), decisions)
}

/// Removes the blocks `decisions` drop from a cleaned document and renders it.
fn apply_decisions(mut doc: Document<'_>, decisions: &[Decision]) -> CleanText {
    let blocks = doc.blocks.len();
    let marked = decisions
        .iter()
        .filter(|d| d.action == Policy::Mark)
        .filter_map(|d| {
            Some(DedupBlock {
                decision: *d,
                text: doc.blocks.get(d.block as usize)?.text.to_string(),
            })
        })
        .collect();
    let mut dropped = Vec::new();
    // Decisions come from the same cleaning of the same bytes (the run
    // checks that the file did not change), so positions match; the bound
    // check only keeps a broken caller from panicking.
    let count = doc.blocks.len();
    let whole = decisions
        .iter()
        .find(|d| d.kind == DedupKind::NearDocument && d.action == Policy::Drop);
    let drops: Vec<Decision> = match whole {
        // A near copy of an earlier document: every block goes, each
        // recorded, so the report still holds all of its text.
        Some(whole) => doc
            .blocks
            .iter()
            .enumerate()
            .map(|(i, block)| Decision {
                block: i as u32,
                line: block.line,
                ..*whole
            })
            .collect(),
        None => decisions
            .iter()
            .filter(|d| d.action == Policy::Drop && (d.block as usize) < count)
            .copied()
            .collect(),
    };
    let positions: Vec<usize> = drops.iter().map(|d| d.block as usize).collect();
    for (decision, block) in drops.into_iter().zip(doc.remove_blocks(&positions)) {
        // Blank runs of a dropped document hold nothing to report.
        if block.kind == BlockKind::Blank {
            continue;
        }
        doc.changes.push(Change {
            rule: decision.kind.rule(),
            line: decision.line,
            before: block.text.to_string(),
            after: String::new(),
        });
        dropped.push(DedupBlock {
            decision,
            text: block.text.into_owned(),
        });
    }
    doc.changes.sort_by_line();
    // Where `render` puts each block: after the one before and its newline.
    let mut at = 0;
    let mut settled = Vec::new();
    for block in &doc.blocks {
        if block.settled {
            settled.push((at..at + block.text.len(), block.kind));
        }
        at += block.text.len() + 1;
    }
    CleanText {
        text: doc.render(),
        changes: doc.changes,
        dropped,
        marked,
        blocks,
        settled,
    }
}

/// Extra rounds allowed for rules that feed each other to settle.
const EXTRA_ROUNDS: usize = 3;

/// Cleans `text` alone as document `doc` of a run: its stages, then
/// within-document dedup. Blocks at `settled` are known to pass the
/// per-block punctuation rules unchanged.
fn clean_within(
    pipeline: &Pipeline,
    text: &str,
    doc: u32,
    settled: &[(Range<usize>, BlockKind)],
) -> CleanText {
    let cleaned = pipeline.clean_known(text, settled);
    let decisions = match pipeline.dedup() {
        Some(dedup) if pipeline.has_repeated_key(&cleaned) => {
            let mut decisions = decide_one(dedup, &pipeline.keys(&cleaned));
            for decision in &mut decisions {
                decision.kept_doc = doc;
            }
            decisions
        }
        _ => Vec::new(),
    };
    apply_decisions(cleaned, &decisions)
}

/// Cleans `text` with the run's `decisions`, then cleans the result on its
/// own until a round changes nothing, so that a second run of scour finds
/// nothing left to do. Rules can feed each other (dropping a duplicate can
/// leave a paragraph between two list items, which then gets a bullet), and
/// ruff's fix loop settles such chains the same way. Changes made in later
/// rounds are recorded against the text of the round before. If the text
/// still moves after the last round, that is a bug in scour: the error holds
/// the diff of the last round.
pub fn clean_settled(
    pipeline: &Pipeline,
    text: &str,
    decisions: &[Decision],
    doc: u32,
    name: &str,
) -> Result<CleanText, ApplyError> {
    settle(pipeline, clean_text(pipeline, text, decisions), doc, name)
}

/// Cleans `cleaned` on its own until a round changes nothing.
fn settle(
    pipeline: &Pipeline,
    mut cleaned: CleanText,
    doc: u32,
    name: &str,
) -> Result<CleanText, ApplyError> {
    // Nothing changed: a second round would see the very same text.
    if cleaned.changes.is_empty() {
        return Ok(cleaned);
    }
    for round in 0..=EXTRA_ROUNDS {
        let next = clean_within(pipeline, &cleaned.text, doc, &cleaned.settled);
        if next.text == cleaned.text {
            return Ok(cleaned);
        }
        if round == EXTRA_ROUNDS {
            return Err(ApplyError::NotIdempotent {
                diff: diff::unified(&cleaned.text, &next.text, name),
            });
        }
        cleaned.text = next.text;
        cleaned.settled = next.settled;
        cleaned.changes.append(next.changes);
        cleaned.dropped.extend(next.dropped);
    }
    unreachable!("the loop returns on its last round")
}

/// Cleans one document on its own, deduplicating within it only: what
/// `scour run` does to a single file.
pub fn clean_alone(pipeline: &Pipeline, text: &str) -> Result<String, ApplyError> {
    settle(
        pipeline,
        clean_within(pipeline, text, 0, &[]),
        0,
        "document",
    )
    .map(|c| c.text)
}

/// Decodes, cleans and encodes document `doc` of a run.
pub fn apply_document<'a>(
    pipeline: &Pipeline,
    name: &str,
    doc: u32,
    bytes: &'a [u8],
    decisions: &[Decision],
) -> Result<Applied<'a>, ApplyError> {
    let decoded = decode(bytes)?;
    applied(pipeline, name, doc, bytes, decoded, decisions)
}

/// [`apply_document`] for a record's text field, which is already valid
/// UTF-8 (it came out of a JSON string).
pub fn apply_record<'a>(
    pipeline: &Pipeline,
    name: &str,
    doc: u32,
    text: &'a str,
    decisions: &[Decision],
) -> Result<Applied<'a>, ApplyError> {
    let decoded = decode_str(text)?;
    applied(pipeline, name, doc, text.as_bytes(), decoded, decisions)
}

/// [`apply_record`] for a record whose text is already cleaned: `cleaned`
/// is `pipeline.clean(&decoded.text)` of `decoded = decode_str(text)`. A
/// run that decides each chunk of a dump as it reads it cleans the chunk's
/// records before their decisions are known, then finishes them here.
pub fn apply_cleaned<'a>(
    pipeline: &Pipeline,
    name: &str,
    doc: u32,
    text: &str,
    decoded: Decoded<'a>,
    cleaned: Document<'_>,
    decisions: &[Decision],
) -> Result<Applied<'a>, ApplyError> {
    let clean = settle(pipeline, apply_decisions(cleaned, decisions), doc, name)?;
    Ok(encoded(pipeline, text.as_bytes(), decoded, clean))
}

/// Cleans a decoded document of `bytes`, settles and encodes it.
fn applied<'a>(
    pipeline: &Pipeline,
    name: &str,
    doc: u32,
    bytes: &[u8],
    decoded: Decoded<'a>,
    decisions: &[Decision],
) -> Result<Applied<'a>, ApplyError> {
    let clean = clean_settled(pipeline, &decoded.text, decisions, doc, name)?;
    Ok(encoded(pipeline, bytes, decoded, clean))
}

/// A settled document of `bytes` with its line endings and BOM applied.
fn encoded<'a>(
    pipeline: &Pipeline,
    bytes: &[u8],
    decoded: Decoded<'a>,
    clean: CleanText,
) -> Applied<'a> {
    let CleanText {
        text,
        mut changes,
        dropped,
        marked,
        blocks,
        settled: _,
    } = clean;
    let eol = pipeline.line_ending(decoded.first_eol);
    let has_newline = text.contains('\n');
    if has_newline && (decoded.mixed_eol || decoded.first_eol != eol) {
        changes.push_front(Change {
            rule: Rule::OutputEol,
            line: 1,
            before: decoded.first_eol.as_str().to_owned(),
            after: eol.as_str().to_owned(),
        });
    }
    let encoded = (eol != LineEnding::Lf || decoded.bom).then(|| encode(&text, eol, decoded.bom));
    let changed = encoded.as_deref().unwrap_or(&text).as_bytes() != bytes;
    Applied {
        encoded,
        original: decoded.text,
        text,
        changed,
        changes,
        dropped,
        marked,
        blocks,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn pipeline() -> Pipeline {
        Pipeline::new(Config::default())
    }

    #[test]
    fn blocks_the_names_stage_changed_are_not_settled() {
        let cleaned = clean_text(
            &pipeline(),
            "Nothing “odd” here.\n\nMinister MOTEGI spoke.\n\nA  double space.\n",
            &[],
        );
        assert_eq!(
            cleaned.text,
            "Nothing \"odd\" here.\n\nMinister Motegi spoke.\n\nA double space.\n"
        );
        // The first and last went through the punctuation rules as they
        // are now (after changes of their own); the second changed after.
        assert_eq!(
            cleaned.settled,
            vec![
                (0..19, BlockKind::Paragraph),
                (45..60, BlockKind::Paragraph)
            ]
        );
    }

    #[test]
    fn settled_blocks_are_not_cleaned_again() {
        // Trusted as given: a block claimed settled keeps its curly quotes.
        let text = "A “quote”.";
        let claimed = [(0..text.len(), BlockKind::Paragraph)];
        assert_eq!(
            pipeline().clean_known(text, &claimed).render(),
            "A “quote”.\n"
        );
        assert_eq!(pipeline().clean(text).render(), "A \"quote\".\n");
        // A claim about other bytes or another kind is no claim.
        let elsewhere = [(1..text.len(), BlockKind::Paragraph)];
        assert_eq!(
            pipeline().clean_known(text, &elsewhere).render(),
            "A \"quote\".\n"
        );
        let other_kind = [(0..text.len(), BlockKind::ListItem)];
        assert_eq!(
            pipeline().clean_known(text, &other_kind).render(),
            "A \"quote\".\n"
        );
    }

    proptest::proptest! {
        /// The settle round's shortcut changes nothing: cleaning a cleaned
        /// document with what its first clean knew gives the same blocks
        /// and changes as cleaning it cold.
        #[test]
        fn cleaning_with_settled_blocks_known_is_cleaning(
            lines in proptest::collection::vec(
                "(- |• |# )?[A-Za-z“”‘’\"' ,.:\u{a0}\u{2009}\\-]{0,30}( MOTEGI| Minister SATO| Dr. KOWALSKI)?[a-z .]{0,10}",
                0..10,
            ),
            gaps in proptest::collection::vec(0usize..3, 10),
        ) {
            let mut text = String::new();
            for (line, gap) in lines.iter().zip(&gaps) {
                text.push_str(line);
                text.push_str(&"\n".repeat(gap + 1));
            }
            let pipeline = pipeline();
            let first = clean_text(&pipeline, &text, &[]);
            let known = pipeline.clean_known(&first.text, &first.settled);
            let cold = pipeline.clean(&first.text);
            proptest::prop_assert_eq!(known.render(), cold.render());
            proptest::prop_assert_eq!(known.changes, cold.changes);
        }
    }
}
