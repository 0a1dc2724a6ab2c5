//! The apply phase: one document's bytes and decisions → the bytes to write.
//!
//! Cleans the document exactly as the index phase did, removes the blocks
//! the decisions drop, and then cleans its own result again until nothing
//! changes ([`clean_settled`]): if that does not settle within a few rounds,
//! the run has a bug and the document is refused (exit 123) instead of
//! written, as Black's safe mode does.

use std::borrow::Cow;

use crate::config::Policy;
use crate::diff;
use crate::document::{
    decode, decode_str, encode, BlockKind, Change, ChangeLog, DecodeError, Decoded, Document,
    LineEnding,
};
use crate::phases::decide::{decide_one, Decision, DedupKind};
use crate::pipeline::{KeyedBlock, KnownBlock, Pipeline};
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
    /// What cleaning found out about the blocks of `text`, where they lie:
    /// cleaning `text` again need not find it out again
    /// ([`Pipeline::clean_known`]).
    pub known: Vec<KnownBlock>,
}

/// Cleans `text` (LF, no BOM) and applies `decisions`: what the apply phase
/// does, without the byte-level work around it.
pub fn clean_text(pipeline: &Pipeline, text: &str, decisions: &[Decision]) -> CleanText {
    apply_decisions(pipeline.clean(text), decisions, &[])
}

/// Removes the blocks `decisions` drop from a cleaned document and renders
/// it. `keys` are the keys of blocks of `doc` made already, if any.
fn apply_decisions(
    mut doc: Document<'_>,
    decisions: &[Decision],
    keys: &[KeyedBlock],
) -> CleanText {
    let blocks = doc.blocks.len();
    // Each block's key, if made, to go with the block where it is written.
    let mut block_keys = vec![None; if keys.is_empty() { 0 } else { blocks }];
    for keyed in keys {
        if let Some(slot) = block_keys.get_mut(keyed.block as usize) {
            *slot = Some(keyed.key);
        }
    }
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
    if !block_keys.is_empty() {
        let mut kept = vec![true; blocks];
        for &p in &positions {
            if let Some(k) = kept.get_mut(p) {
                *k = false;
            }
        }
        let mut kept = kept.into_iter();
        block_keys.retain(|_| kept.next().unwrap_or(false));
    }
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
    let mut known = Vec::with_capacity(doc.blocks.len());
    for (i, block) in doc.blocks.iter().enumerate() {
        let key = block_keys.get(i).copied().flatten();
        if block.settled || block.capitals.is_some() || key.is_some() {
            known.push(KnownBlock {
                at: at..at + block.text.len(),
                kind: block.kind,
                settled: block.settled,
                capitals: block.capitals,
                key,
            });
        }
        at += block.text.len() + 1;
    }
    CleanText {
        text: doc.render(),
        changes: doc.changes,
        dropped,
        marked,
        blocks,
        known,
    }
}

/// Extra rounds allowed for rules that feed each other to settle.
const EXTRA_ROUNDS: usize = 3;

/// Cleans `text` alone as document `doc` of a run: its stages, then
/// within-document dedup, with what is `known` of its blocks. `None` when
/// that leaves `text` as it is.
fn clean_within(
    pipeline: &Pipeline,
    text: &str,
    doc: u32,
    known: &[KnownBlock],
) -> Option<CleanText> {
    let cleaned = pipeline.clean_known(text, known);
    let decisions = match pipeline.dedup() {
        Some(dedup) if pipeline.has_repeated_key_knowing(&cleaned, text, known) => {
            let mut decisions = decide_one(dedup, &pipeline.keys(&cleaned));
            for decision in &mut decisions {
                decision.kept_doc = doc;
            }
            decisions
        }
        _ => Vec::new(),
    };
    // Most documents a round sees are settled: their blocks are the very
    // bytes of `text`, which need not be rendered to be compared.
    if decisions.is_empty() && cleaned.renders_as(text) {
        return None;
    }
    let next = apply_decisions(cleaned, &decisions, &[]);
    (next.text != text).then_some(next)
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
        let Some(next) = clean_within(pipeline, &cleaned.text, doc, &cleaned.known) else {
            return Ok(cleaned);
        };
        if round == EXTRA_ROUNDS {
            return Err(ApplyError::NotIdempotent {
                diff: diff::unified(&cleaned.text, &next.text, name),
            });
        }
        cleaned.text = next.text;
        cleaned.known = next.known;
        cleaned.changes.append(next.changes);
        cleaned.dropped.extend(next.dropped);
    }
    unreachable!("the loop returns on its last round")
}

/// Cleans one document on its own, deduplicating within it only: what
/// `scour run` does to a single file.
pub fn clean_alone(pipeline: &Pipeline, text: &str) -> Result<String, ApplyError> {
    match clean_within(pipeline, text, 0, &[]) {
        Some(cleaned) => settle(pipeline, cleaned, 0, "document").map(|c| c.text),
        None => Ok(text.to_owned()),
    }
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
/// `keys` are `pipeline.keys(&cleaned)`, made for the decisions: the settle
/// round compares them instead of the blocks' texts where it can.
#[allow(clippy::too_many_arguments)]
pub fn apply_cleaned<'a>(
    pipeline: &Pipeline,
    name: &str,
    doc: u32,
    text: &str,
    decoded: Decoded<'a>,
    cleaned: Document<'_>,
    decisions: &[Decision],
    keys: &[KeyedBlock],
) -> Result<Applied<'a>, ApplyError> {
    let clean = settle(
        pipeline,
        apply_decisions(cleaned, decisions, keys),
        doc,
        name,
    )?;
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
        known: _,
    } = clean;
    let eol = pipeline.line_ending(decoded.first_eol);
    let has_newline = memchr::memchr(b'\n', text.as_bytes()).is_some();
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
    use std::ops::Range;

    fn pipeline() -> Pipeline {
        Pipeline::new(Config::default())
    }

    #[test]
    fn blocks_the_names_stage_changed_are_settled_only_if_no_punctuation_rule_can_apply() {
        let cleaned = clean_text(
            &pipeline(),
            "Nothing “odd” here.\n\nMinister MOTEGI spoke.\n\nMinister SATO smiled :) there.\n\nA  double space.\n",
            &[],
        );
        assert_eq!(
            cleaned.text,
            "Nothing \"odd\" here.\n\nMinister Motegi spoke.\n\nMinister Sato smiled :) there.\n\nA double space.\n"
        );
        // The first and last went through the punctuation rules as they
        // are now (after changes of their own). The second changed after,
        // in letter case only, and no rule could apply to it before or
        // after; a rule could to the third (a space before `:`, which it
        // keeps before `)`), so the rules must see it again. The names
        // stage looked at all four last as they are now.
        let known = |at: Range<usize>, settled: bool| KnownBlock {
            at,
            kind: BlockKind::Paragraph,
            settled,
            capitals: Some(false),
            key: None,
        };
        assert_eq!(
            cleaned.known,
            vec![
                known(0..19, true),
                known(21..43, true),
                known(45..75, false),
                known(77..92, true)
            ]
        );
    }

    /// A claim that `text`'s only block, of `kind`, is settled and has
    /// `capitals`, with `key`.
    fn claim(text: &str, kind: BlockKind, capitals: Option<bool>, key: Option<u128>) -> KnownBlock {
        KnownBlock {
            at: 0..text.len(),
            kind,
            settled: true,
            capitals,
            key,
        }
    }

    #[test]
    fn a_block_known_to_have_no_capitals_is_not_searched_for_surnames() {
        // Trusted as given: the surname stays in capitals.
        let text = "Minister MOTEGI spoke.";
        let no_capitals = [claim(text, BlockKind::Paragraph, Some(false), None)];
        assert_eq!(
            pipeline().clean_known(text, &no_capitals).render(),
            "Minister MOTEGI spoke.\n"
        );
        let capitals = [claim(text, BlockKind::Paragraph, Some(true), None)];
        assert_eq!(
            pipeline().clean_known(text, &capitals).render(),
            "Minister Motegi spoke.\n"
        );
        // Once the punctuation rules change the block, the claim is about
        // bytes it no longer holds.
        let text = "Minister MOTEGI “spoke”.";
        let mut changed = claim(text, BlockKind::Paragraph, Some(false), None);
        changed.settled = false;
        assert_eq!(
            pipeline().clean_known(text, &[changed]).render(),
            "Minister Motegi \"spoke\".\n"
        );
    }

    #[test]
    fn known_keys_stand_for_the_blocks_that_still_hold_their_bytes() {
        let pipeline = pipeline();
        // Two paragraphs long enough for dedup (40 characters).
        let one = "The first paragraph, long enough to count.";
        let other = "The second paragraph, long enough as well.";
        let text = format!("{one}\n\n{other}\n");
        let doc = pipeline.clean_known(&text, &[]);
        let second = one.len() + 2..one.len() + 2 + other.len();
        let keyed = |at: Range<usize>, key: u128| KnownBlock {
            at,
            kind: BlockKind::Paragraph,
            settled: false,
            capitals: None,
            key: Some(key),
        };
        // Trusted as given: the same key twice is a repeat.
        let same = [keyed(0..one.len(), 7), keyed(second.clone(), 7)];
        assert!(pipeline.has_repeated_key_knowing(&doc, &text, &same));
        let different = [keyed(0..one.len(), 7), keyed(second, 8)];
        assert!(!pipeline.has_repeated_key_knowing(&doc, &text, &different));
        // A block without a known key: the texts are compared.
        let repeated = format!("{one}\n\n{one}\n");
        let doc = pipeline.clean_known(&repeated, &[]);
        assert!(pipeline.has_repeated_key_knowing(&doc, &repeated, &same[..1]));
        assert!(!pipeline.has_repeated_key_knowing(
            &pipeline.clean_known(&text, &[]),
            &text,
            &same[..1]
        ));
        // A block the settle round changed: its key is of other bytes.
        let curly = format!("{one}\n\n“{}”\n", &other[1..]);
        let doc = pipeline.clean_known(&curly, &[]);
        let second = one.len() + 2..curly.len() - 1;
        let same = [keyed(0..one.len(), 7), keyed(second, 7)];
        assert!(!pipeline.has_repeated_key_knowing(&doc, &curly, &same));
    }

    #[test]
    fn a_block_an_alias_rewrites_is_searched_for_surnames() {
        let config = "[[stages]]\nkind = \"segment\"\n[[stages]]\nkind = \"names\"\n[stages.aliases]\n\"Motegy\" = \"MOTEGI\"\n";
        let pipeline = Pipeline::new(Config::parse(config, "p.toml").unwrap());
        let text = "Minister Motegy spoke.";
        let claimed = [claim(text, BlockKind::Paragraph, Some(false), None)];
        assert_eq!(
            pipeline.clean_known(text, &claimed).render(),
            pipeline.clean(text).render()
        );
    }

    #[test]
    fn what_the_names_stage_found_is_not_kept_when_a_stage_runs_after_it() {
        // The zero-width space hides two capitals in a row from the names
        // stage; the punctuation stage after it takes the space out.
        let config = "[[stages]]\nkind = \"segment\"\n[[stages]]\nkind = \"names\"\n[[stages]]\nkind = \"punctuation\"\n";
        let pipeline = Pipeline::new(Config::parse(config, "p.toml").unwrap());
        let first = clean_text(&pipeline, "Dr A\u{200b}B met them.", &[]);
        assert_eq!(first.text, "Dr AB met them.\n");
        assert!(first.known.iter().all(|k| k.capitals.is_none()));
        let again = pipeline.clean_known(&first.text, &first.known);
        assert_eq!(again.render(), pipeline.clean(&first.text).render());
    }

    #[test]
    fn settled_blocks_are_not_cleaned_again() {
        // Trusted as given: a block claimed settled keeps its curly quotes.
        let text = "A “quote”.";
        let claimed = [claim(text, BlockKind::Paragraph, None, None)];
        assert_eq!(
            pipeline().clean_known(text, &claimed).render(),
            "A “quote”.\n"
        );
        assert_eq!(pipeline().clean(text).render(), "A \"quote\".\n");
        // A claim about other bytes or another kind is no claim.
        let mut elsewhere = claim(text, BlockKind::Paragraph, None, None);
        elsewhere.at.start = 1;
        let elsewhere = [elsewhere];
        assert_eq!(
            pipeline().clean_known(text, &elsewhere).render(),
            "A \"quote\".\n"
        );
        let other_kind = [claim(text, BlockKind::ListItem, None, None)];
        assert_eq!(
            pipeline().clean_known(text, &other_kind).render(),
            "A \"quote\".\n"
        );
    }

    proptest::proptest! {
        /// The settle round's shortcuts change nothing: cleaning a cleaned
        /// document with what its first clean knew gives the same blocks
        /// and changes as cleaning it cold, and finds a repeated key where
        /// comparing the texts does.
        #[test]
        fn cleaning_with_blocks_known_is_cleaning(
            lines in proptest::collection::vec(
                "(- |• |# )?[A-Za-z“”‘’\"' ,.:\u{a0}\u{2009}\\-]{0,30}( MOTEGI| Minister SATO| Dr. KOWALSKI| KR LARBOURCENSE)?[a-z .]{0,10}",
                0..10,
            ),
            gaps in proptest::collection::vec(0usize..3, 10),
            repeats in proptest::collection::vec(0usize..10, 0..3),
        ) {
            let mut text = String::new();
            let copies = repeats.iter().filter_map(|&i| lines.get(i));
            for (line, gap) in lines.iter().chain(copies).zip(gaps.iter().cycle()) {
                text.push_str(line);
                text.push_str(&"\n".repeat(gap + 1));
            }
            let pipeline = pipeline();
            let cleaned = pipeline.clean(&text);
            let keys = pipeline.keys(&cleaned);
            let first = apply_decisions(cleaned, &[], &keys);
            let known = pipeline.clean_known(&first.text, &first.known);
            let cold = pipeline.clean(&first.text);
            proptest::prop_assert_eq!(known.render(), cold.render());
            proptest::prop_assert_eq!(&known.changes, &cold.changes);
            proptest::prop_assert_eq!(
                pipeline.has_repeated_key_knowing(&known, &first.text, &first.known),
                pipeline.has_repeated_key(&cold)
            );
        }
    }
}
