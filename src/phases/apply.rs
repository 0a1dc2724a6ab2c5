//! The apply phase: one document's bytes and decisions → the bytes to write.
//!
//! Cleans the document exactly as the index phase did, removes the blocks
//! the decisions drop, and then cleans its own result once more: if that
//! second pass would change anything, the run has a bug and the document is
//! refused (exit 123) instead of written, as Black's safe mode does.

use crate::config::Policy;
use crate::diff;
use crate::document::{decode, encode, Change, DecodeError, LineEnding};
use crate::phases::decide::{decide, Decision};
use crate::pipeline::Pipeline;
use crate::rule::Rule;

/// A block a decision dropped or marked, with its text, so the report can
/// quote it and nothing is lost unseen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DedupBlock {
    pub decision: Decision,
    pub text: String,
}

/// The outcome of cleaning one document.
#[derive(Debug, Clone)]
pub struct Applied {
    /// The cleaned document as it is written: BOM and line endings applied.
    pub output: Vec<u8>,
    /// The cleaned text with LF endings, as the stages left it.
    pub text: String,
    /// The decoded original with LF endings, for diffs.
    pub original: String,
    /// Whether `output` differs from the input bytes.
    pub changed: bool,
    pub changes: Vec<Change>,
    pub dropped: Vec<DedupBlock>,
    pub marked: Vec<DedupBlock>,
    /// Blocks in the cleaned document before drops.
    pub blocks: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// Cleaning the cleaned text changed it again: a bug in scour.
    #[error("internal error: cleaning is not idempotent on this document\n{diff}")]
    NotIdempotent { diff: String },
}

/// A document cleaned and deduplicated, before encoding.
#[derive(Debug, Clone)]
pub struct CleanText {
    pub text: String,
    pub changes: Vec<Change>,
    pub dropped: Vec<DedupBlock>,
    pub marked: Vec<DedupBlock>,
    pub blocks: usize,
}

/// Cleans `text` (LF, no BOM) and applies `decisions`: what the apply phase
/// does, without the byte-level work around it.
pub fn clean_text(pipeline: &Pipeline, text: &str, decisions: &[Decision]) -> CleanText {
    let mut doc = pipeline.clean(text);
    let blocks = doc.blocks.len();
    let marked = decisions
        .iter()
        .filter(|d| d.action == Policy::Mark)
        .map(|d| DedupBlock {
            decision: *d,
            text: doc.blocks[d.block as usize].text.to_string(),
        })
        .collect();
    let mut dropped = Vec::new();
    // From the back, so earlier block positions stay valid.
    for decision in decisions.iter().rev().filter(|d| d.action == Policy::Drop) {
        let block = doc.remove_block(decision.block as usize);
        doc.changes.push(Change {
            rule: Rule::DedupExact,
            line: decision.line,
            before: block.text.to_string(),
            after: String::new(),
        });
        dropped.push(DedupBlock {
            decision: *decision,
            text: block.text.into_owned(),
        });
    }
    dropped.reverse();
    doc.changes.sort_by_key(|c| c.line);
    CleanText {
        text: doc.render(),
        changes: doc.changes,
        dropped,
        marked,
        blocks,
    }
}

/// Cleans a document on its own, deduplicating within it only: what a
/// second run would do to a run's output.
pub fn clean_alone(pipeline: &Pipeline, text: &str) -> String {
    let doc = pipeline.clean(text);
    let decisions = match pipeline.dedup() {
        Some(dedup) => decide(dedup, &[pipeline.keys(&doc)]).remove(0),
        None => Vec::new(),
    };
    drop(doc);
    clean_text(pipeline, text, &decisions).text
}

pub fn apply_document(
    pipeline: &Pipeline,
    name: &str,
    bytes: &[u8],
    decisions: &[Decision],
) -> Result<Applied, ApplyError> {
    let decoded = decode(bytes)?;
    let CleanText {
        text,
        mut changes,
        dropped,
        marked,
        blocks,
    } = clean_text(pipeline, &decoded.text, decisions);
    let again = clean_alone(pipeline, &text);
    if again != text {
        return Err(ApplyError::NotIdempotent {
            diff: diff::unified(&text, &again, name),
        });
    }
    let eol = pipeline.line_ending(decoded.first_eol);
    let has_newline = text.contains('\n');
    if has_newline && (decoded.mixed_eol || decoded.first_eol != eol) {
        changes.insert(
            0,
            Change {
                rule: Rule::OutputEol,
                line: 1,
                before: decoded.first_eol.as_str().to_owned(),
                after: eol.as_str().to_owned(),
            },
        );
    }
    let output = match (eol, &decoded.text) {
        (LineEnding::Lf, _) if !decoded.bom => text.clone().into_bytes(),
        _ => encode(&text, eol, decoded.bom),
    };
    let changed = output != bytes;
    Ok(Applied {
        output,
        original: decoded.text.into_owned(),
        text,
        changed,
        changes,
        dropped,
        marked,
        blocks,
    })
}
