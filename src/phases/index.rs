//! The index phase: one document's bytes → the keys of its blocks.

use crate::document::{decode, DecodeError};
use crate::phases::decide::{decide, Decided, KeyTable};
use crate::phases::near::NearTable;
use crate::pipeline::{DocKeys, Pipeline};
use crate::stages::dedup::first_128_bits;

/// What the index phase keeps of one document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocIndex {
    pub keys: DocKeys,
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

/// The index of a whole run, filled in input order: the keys for exact
/// dedup and, with near duplicates on, the sketches (in temporary files).
#[derive(Debug)]
pub struct RunIndex {
    keys: KeyTable,
    near: Option<NearTable>,
    /// The first failure to write a sketch; the run stops at decide.
    error: Option<std::io::Error>,
}

impl RunIndex {
    pub fn new(pipeline: &Pipeline) -> std::io::Result<RunIndex> {
        let near = match pipeline.dedup().and_then(|d| d.near.as_ref()) {
            Some(near) => Some(NearTable::new(near)?),
            None => None,
        };
        Ok(RunIndex {
            keys: KeyTable::default(),
            near,
            error: None,
        })
    }

    /// Adds the next document; returns its number.
    pub fn push(&mut self, doc: &DocKeys) -> u32 {
        // Keys and sketched blocks are numbered with u32 in the decide
        // phase: past that, stop sketching with an error instead of wrapping.
        if self.keys.entries() + doc.keys.len() >= u32::MAX as usize && self.error.is_none() {
            self.error = Some(std::io::Error::other(
                "more than 4,294,967,294 blocks in one run: split the run",
            ));
        }
        let first_entry = self.keys.entries() as u32;
        let number = self.keys.push(&doc.keys);
        if let (Some(near), None) = (&mut self.near, &self.error) {
            if let Err(err) = near.push(number, first_entry, &doc.sketch) {
                self.error = Some(err);
            }
        }
        number
    }

    /// Documents so far.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Runs the decide phase over everything pushed.
    pub fn decide(self, pipeline: &Pipeline) -> std::io::Result<Decided> {
        if let Some(err) = self.error {
            return Err(err);
        }
        let Some(dedup) = pipeline.dedup() else {
            return Ok(Decided::default());
        };
        let near = self.near.map(NearTable::finish).transpose()?;
        decide(dedup, &self.keys, near.as_ref())
    }
}
