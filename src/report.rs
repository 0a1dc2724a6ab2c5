//! The `summary.json` model: data only, built by [`crate::run`], written by
//! whoever holds it. Everything in it is deterministic (no times, no thread
//! counts, no absolute paths), so two runs can be compared byte for byte.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::config::NearPolicy;
use crate::phases::decide::{NearLevelName, Scope};
use crate::rule::Rule;

#[derive(Debug, Clone, Default, Serialize)]
pub struct Summary {
    pub normalization_version: u32,
    pub documents: DocumentCounts,
    pub blocks: BlockCounts,
    /// Changes by rule name, over the whole run.
    pub rules: BTreeMap<&'static str, u64>,
    /// One entry per input file, in input order.
    pub files: Vec<FileReport>,
    /// Each dropped and marked block, when the run writes a report or is a
    /// check; otherwise empty, and `blocks` has the counts.
    pub dropped: Vec<DedupRecord>,
    pub marked: Vec<DedupRecord>,
    /// Clusters of near duplicates: documents first, then blocks.
    pub near_duplicates: Vec<NearClusterRecord>,
    /// Person names written more than one way, most mentioned first (empty
    /// without a names stage).
    pub names: Vec<NameGroup>,
    pub errors: Vec<ErrorRecord>,
}

/// A cluster of near duplicates; the first member is the one kept.
#[derive(Debug, Clone, Serialize)]
pub struct NearClusterRecord {
    pub cluster: usize,
    pub level: NearLevelName,
    pub members: Vec<NearMemberRecord>,
    pub action: NearPolicy,
}

/// A member of a cluster and its similarity to the first member (Jaccard of
/// word 3-gram sets, rounded to 4 decimals).
#[derive(Debug, Clone, Serialize)]
pub struct NearMemberRecord {
    pub doc: String,
    pub line: u32,
    pub similarity: f64,
    /// The member's first line as written in the input, cut to 200
    /// characters.
    pub text: String,
}

/// Variants of one person name (forms that differ only in case, accents,
/// full-width letters or word order) and the suggested way to write it.
#[derive(Debug, Clone, Serialize)]
pub struct NameGroup {
    pub canonical: String,
    /// Most mentioned first, then by form.
    pub variants: Vec<NameVariant>,
}

/// One way a name is written across the run.
#[derive(Debug, Clone, Serialize)]
pub struct NameVariant {
    pub form: String,
    /// Mentions in the input.
    pub count: u64,
    /// Documents that mention it this way.
    pub documents: u64,
    /// The first of them (at most 10), in input order.
    pub docs: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct DocumentCounts {
    pub total: u64,
    pub changed: u64,
    pub unchanged: u64,
    pub failed: u64,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct BlockCounts {
    /// Blocks after segmentation and the text stages, before drops.
    pub total: u64,
    pub dropped: u64,
    pub marked: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct FileReport {
    pub doc: String,
    /// Where the cleaned copy goes, relative to the output folder.
    pub output: String,
    pub blocks: u64,
    pub changed: bool,
    pub rules: BTreeMap<&'static str, u64>,
    /// JSONL dumps only: what happened to the records.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub records: Option<RecordCounts>,
}

/// What happened to the records of a dump.
#[derive(Debug, Default, Clone, Copy, Serialize)]
pub struct RecordCounts {
    pub total: u64,
    pub changed: u64,
    /// Bad lines, copied to `rejected/`.
    pub rejected: u64,
    /// Records whose every block was dropped (kept with empty text, or left
    /// out, per `output.empty-records`).
    pub emptied: u64,
}

/// A dropped or marked duplicate and where its kept copy is.
#[derive(Debug, Clone, Serialize)]
pub struct DedupRecord {
    pub doc: String,
    /// JSONL: the record's `input.id-field`, when it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub line: u32,
    pub rule: Rule,
    pub scope: Scope,
    pub kept_doc: String,
    pub kept_line: u32,
    /// The block's text (cleaned), cut to 200 characters.
    pub text: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ErrorKind {
    /// Bad or unreadable input; the rest of the run went on.
    Input,
    /// A bug in scour caught before writing (exit 123).
    Internal,
}

#[derive(Debug, Clone, Serialize)]
pub struct ErrorRecord {
    pub kind: ErrorKind,
    pub path: String,
    /// 1-based; absent when the error is about the whole file.
    pub line: Option<u32>,
    pub message: String,
}

/// Cuts `text` to `max` characters, marking the cut.
pub fn preview(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_owned(),
    }
}
