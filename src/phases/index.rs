//! The index phase: one document's bytes → the keys of its blocks.

use crate::document::{decode, DecodeError};
use crate::pipeline::{KeyedBlock, Pipeline};
use crate::stages::dedup::first_128_bits;

/// What the index phase keeps of one document.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DocIndex {
    pub keys: Vec<KeyedBlock>,
    /// blake3 of the raw bytes, so the apply phase can tell if the file
    /// changed between the two reads.
    pub content: u128,
}

pub fn index_document(pipeline: &Pipeline, bytes: &[u8]) -> Result<DocIndex, DecodeError> {
    let decoded = decode(bytes)?;
    Ok(DocIndex {
        keys: pipeline.index_keys(&decoded.text),
        content: content_hash(bytes),
    })
}

pub fn content_hash(bytes: &[u8]) -> u128 {
    first_128_bits(&blake3::hash(bytes))
}
