//! Input and output formats: how a file holds documents.
//!
//! A plain text or Markdown file is one document. A JSONL dump
//! ([`jsonl`]) holds one document per line, in a record whose text field
//! is cleaned while every other byte of the line is kept; it may be gzip
//! or zstd compressed, and is written back the same way.

pub mod jsonl;

use std::path::Path;

/// How a file's documents are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// The whole file is one document.
    Text,
    /// One JSON record a line.
    Jsonl(jsonl::Compression),
}

impl Format {
    /// Picks the format from the file name: `.jsonl`, `.jsonl.gz` and
    /// `.jsonl.zst` are dumps, anything else is text.
    // The name is lower-cased first, so the comparisons ignore case.
    #[allow(clippy::case_sensitive_file_extension_comparisons)]
    pub fn of(path: &Path) -> Format {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().to_ascii_lowercase())
            .unwrap_or_default();
        if name.ends_with(".jsonl") || name.ends_with(".ndjson") {
            Format::Jsonl(jsonl::Compression::None)
        } else if name.ends_with(".jsonl.gz") || name.ends_with(".ndjson.gz") {
            Format::Jsonl(jsonl::Compression::Gzip)
        } else if name.ends_with(".jsonl.zst") || name.ends_with(".ndjson.zst") {
            Format::Jsonl(jsonl::Compression::Zstd)
        } else {
            Format::Text
        }
    }
}
