//! The near-duplicate search over a whole run.
//!
//! During the index phase [`NearTable`] receives each document's
//! [`DocSketch`] in input order and writes it to anonymous temporary files:
//! the 3-gram sets to one file, each band's hashes to a file of its own.
//! Memory keeps only a few integers per sketched block (where its set
//! starts, which key it belongs to), so a dump of any size costs memory by
//! its number of blocks, not its bytes; the operating system's page cache
//! keeps the files fast.
//!
//! In the decide phase [`NearIndex`] reads one band at a time, sorts its
//! hashes, and pairs blocks that share a bucket (each with at most
//! [`BUCKET_CAP`] earlier bucket-mates, so a bucket of templated text stays
//! linear). Every candidate pair is confirmed by reading both sets back and
//! computing their exact Jaccard similarity, in parallel. Clusters are then
//! formed in input order: a block joins the cluster of the earliest earlier
//! block that started a cluster (or stands alone) and is similar enough to
//! it; otherwise it may start one. Every member is therefore at least
//! `threshold` similar to its cluster's first member, the first member is
//! the first in input order, and the result does not depend on threads.

use std::fs::File;
use std::io::{self, BufWriter, Write};

use rayon::prelude::*;

use crate::stages::near::{overlap, similarity, DocSketch, NearDedup};

/// The most earlier bucket-mates a block is compared with in one band.
pub const BUCKET_CAP: usize = 64;

/// A temporary file written in order, read back by offset.
#[derive(Debug)]
struct Spill {
    writer: BufWriter<File>,
    /// Reused to turn values into bytes with one copy into the writer.
    bytes: Vec<u8>,
}

impl Spill {
    fn new() -> io::Result<Spill> {
        Ok(Spill {
            writer: BufWriter::with_capacity(1 << 16, tempfile::tempfile()?),
            bytes: Vec::new(),
        })
    }

    fn write(&mut self, values: &[u32]) -> io::Result<()> {
        self.bytes.clear();
        self.bytes
            .extend(values.iter().flat_map(|v| v.to_le_bytes()));
        self.writer.write_all(&self.bytes)
    }

    fn finish(self) -> io::Result<File> {
        self.writer
            .into_inner()
            .map_err(io::IntoInnerError::into_error)
    }
}

/// Reads `count` little-endian `u32`s at `index` (in `u32`s) of `file`.
fn read_u32s(file: &File, index: u64, count: usize) -> io::Result<Vec<u32>> {
    let mut bytes = vec![0u8; count * 4];
    read_exact_at(file, &mut bytes, index * 4)?;
    Ok(bytes
        .chunks_exact(4)
        .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect())
}

#[cfg(unix)]
fn read_exact_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<()> {
    std::os::unix::fs::FileExt::read_exact_at(file, buf, offset)
}

#[cfg(windows)]
fn read_exact_at(file: &File, mut buf: &mut [u8], mut offset: u64) -> io::Result<()> {
    use std::os::windows::fs::FileExt;
    while !buf.is_empty() {
        match file.seek_read(buf, offset)? {
            0 => return Err(io::ErrorKind::UnexpectedEof.into()),
            n => {
                buf = &mut buf[n..];
                offset += n as u64;
            }
        }
    }
    Ok(())
}

/// Collects the sketches of a run during the index phase.
#[derive(Debug)]
pub struct NearTable {
    /// Per sketched block: its index among all keys of the run.
    entries: Vec<u32>,
    /// Per sketched block, plus one: where its set starts in `sets` (in u32s).
    set_starts: Vec<u64>,
    sets: Spill,
    block_bands: Vec<Spill>,
    /// Per document, plus one: its first sketched block.
    doc_first_block: Vec<u32>,
    /// The documents that have document bands, in order.
    banded_docs: Vec<u32>,
    doc_bands: Vec<Spill>,
}

impl NearTable {
    pub fn new(near: &NearDedup) -> io::Result<NearTable> {
        let bands = |level: Option<crate::stages::near::NearLevel>| {
            (0..level.map_or(0, |l| l.lsh.bands))
                .map(|_| Spill::new())
                .collect::<io::Result<Vec<_>>>()
        };
        Ok(NearTable {
            entries: Vec::new(),
            set_starts: vec![0],
            sets: Spill::new()?,
            block_bands: bands(near.block)?,
            doc_first_block: Vec::new(),
            banded_docs: Vec::new(),
            doc_bands: bands(near.document)?,
        })
    }

    /// Adds the next document (number `doc`), whose keys start at entry
    /// `first_entry` of the run.
    pub fn push(&mut self, doc: u32, first_entry: u32, sketch: &DocSketch) -> io::Result<()> {
        self.doc_first_block.push(self.entries.len() as u32);
        let mut start = 0usize;
        let per_block = self.block_bands.len();
        for (i, (&position, &end)) in sketch.blocks.iter().zip(&sketch.ends).enumerate() {
            self.entries.push(first_entry + position);
            let set = &sketch.shingles[start..end as usize];
            self.sets.write(set)?;
            let last = self.set_starts.last().copied().unwrap_or(0);
            self.set_starts.push(last + set.len() as u64);
            start = end as usize;
            let bands = &sketch.block_bands[i * per_block..(i + 1) * per_block];
            for (spill, &band) in self.block_bands.iter_mut().zip(bands) {
                spill.write(&[band])?;
            }
        }
        if !sketch.doc_bands.is_empty() {
            self.banded_docs.push(doc);
            for (spill, &band) in self.doc_bands.iter_mut().zip(&sketch.doc_bands) {
                spill.write(&[band])?;
            }
        }
        Ok(())
    }

    /// Flushes the files; the table is ready to search.
    pub fn finish(mut self) -> io::Result<NearIndex> {
        self.doc_first_block.push(self.entries.len() as u32);
        let finish_all = |spills: Vec<Spill>| {
            spills
                .into_iter()
                .map(Spill::finish)
                .collect::<io::Result<Vec<_>>>()
        };
        Ok(NearIndex {
            entries: self.entries,
            set_starts: self.set_starts,
            sets: self.sets.finish()?,
            block_bands: finish_all(self.block_bands)?,
            doc_first_block: self.doc_first_block,
            banded_docs: self.banded_docs,
            doc_bands: finish_all(self.doc_bands)?,
        })
    }
}

/// The sketches of a whole run, ready to search.
#[derive(Debug)]
pub struct NearIndex {
    entries: Vec<u32>,
    set_starts: Vec<u64>,
    sets: File,
    block_bands: Vec<File>,
    doc_first_block: Vec<u32>,
    banded_docs: Vec<u32>,
    doc_bands: Vec<File>,
}

/// A cluster as positions in the searched list, each with its similarity to
/// the first; the first is the earliest and has similarity 1.
pub type Members = Vec<(u32, f64)>;

impl NearIndex {
    /// Per sketched block, its index among all keys of the run.
    pub fn entries(&self) -> &[u32] {
        &self.entries
    }

    fn block_set(&self, block: u32) -> io::Result<Vec<u32>> {
        let (start, end) = (
            self.set_starts[block as usize],
            self.set_starts[block as usize + 1],
        );
        read_u32s(&self.sets, start, (end - start) as usize)
    }

    /// The union of the sets of document `doc`'s sketched blocks.
    fn doc_set(&self, doc: u32) -> io::Result<Vec<u32>> {
        let (first, end) = (
            self.doc_first_block[doc as usize] as usize,
            self.doc_first_block[doc as usize + 1] as usize,
        );
        let (start, stop) = (self.set_starts[first], self.set_starts[end]);
        let mut set = read_u32s(&self.sets, start, (stop - start) as usize)?;
        set.sort_unstable();
        set.dedup();
        Ok(set)
    }

    /// Clusters of sketched blocks (as positions in [`entries`](Self::entries));
    /// only blocks with `active[block]` take part.
    pub fn block_clusters(
        &self,
        threshold: f64,
        active: &[bool],
        pool: &rayon::ThreadPool,
    ) -> io::Result<Vec<Members>> {
        let pairs = candidates(&self.block_bands, active)?;
        let confirmed = pool.install(|| {
            pairs
                .par_iter()
                .map(|&pair| {
                    let (later, earlier) = split(pair);
                    Ok(similarity(overlap(
                        &self.block_set(earlier)?,
                        &self.block_set(later)?,
                    )))
                })
                .collect::<io::Result<Vec<f64>>>()
        })?;
        Ok(leaders(active.len(), &pairs, &confirmed, threshold))
    }

    /// Clusters of documents (as document numbers); only documents with
    /// `active(doc)` take part.
    pub fn document_clusters(
        &self,
        threshold: f64,
        active: impl Fn(u32) -> bool,
        pool: &rayon::ThreadPool,
    ) -> io::Result<Vec<Members>> {
        let banded: Vec<bool> = self.banded_docs.iter().map(|&d| active(d)).collect();
        let pairs = candidates(&self.doc_bands, &banded)?;
        let confirmed = pool.install(|| {
            pairs
                .par_iter()
                .map(|&pair| {
                    let (later, earlier) = split(pair);
                    Ok(similarity(overlap(
                        &self.doc_set(self.banded_docs[earlier as usize])?,
                        &self.doc_set(self.banded_docs[later as usize])?,
                    )))
                })
                .collect::<io::Result<Vec<f64>>>()
        })?;
        let clusters = leaders(banded.len(), &pairs, &confirmed, threshold);
        Ok(clusters
            .into_iter()
            .map(|members| {
                members
                    .into_iter()
                    .map(|(position, s)| (self.banded_docs[position as usize], s))
                    .collect()
            })
            .collect())
    }
}

fn split(pair: u64) -> (u32, u32) {
    ((pair >> 32) as u32, pair as u32)
}

/// Candidate pairs `later << 32 | earlier` of active positions that share a
/// bucket in some band, sorted and without repeats.
fn candidates(bands: &[File], active: &[bool]) -> io::Result<Vec<u64>> {
    let mut pairs: Vec<u64> = Vec::new();
    for file in bands {
        let hashes = read_u32s(file, 0, active.len())?;
        let mut keyed: Vec<u64> = hashes
            .iter()
            .enumerate()
            .filter(|&(position, _)| active[position])
            .map(|(position, &hash)| (u64::from(hash) << 32) | position as u64)
            .collect();
        keyed.sort_unstable();
        for bucket in keyed.chunk_by(|a, b| a >> 32 == b >> 32) {
            for (k, &later) in bucket.iter().enumerate().skip(1) {
                for &earlier in &bucket[k.saturating_sub(BUCKET_CAP)..k] {
                    pairs.push((later << 32) | (earlier & 0xFFFF_FFFF));
                }
            }
        }
        pairs.sort_unstable();
        pairs.dedup();
    }
    Ok(pairs)
}

/// Forms clusters in input order from confirmed pairs (see the module doc).
fn leaders(count: usize, pairs: &[u64], similarities: &[f64], threshold: f64) -> Vec<Members> {
    const NONE: u32 = u32::MAX;
    // Per position: the cluster it leads, if any.
    let mut leads = vec![NONE; count];
    let mut joined = vec![false; count];
    let mut clusters: Vec<Members> = Vec::new();
    let mut i = 0;
    while i < pairs.len() {
        let later = split(pairs[i]).0;
        let run = pairs[i..]
            .iter()
            .take_while(|&&p| split(p).0 == later)
            .count();
        for k in i..i + run {
            let earlier = split(pairs[k]).1;
            // Tolerance for the float division; similarities are ratios of
            // small integers.
            if joined[earlier as usize] || similarities[k] + 1e-9 < threshold {
                continue;
            }
            let cluster = match leads[earlier as usize] {
                NONE => {
                    leads[earlier as usize] = clusters.len() as u32;
                    clusters.push(vec![(earlier, 1.0)]);
                    clusters.len() - 1
                }
                c => c as usize,
            };
            clusters[cluster].push((later, similarities[k]));
            joined[later as usize] = true;
            break;
        }
        i += run;
    }
    clusters.sort_by_key(|members| members[0].0);
    clusters
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_member_joins_the_earliest_similar_leader_not_a_member() {
        // 0 ~ 1 (0.9), 1 ~ 2 (0.9) but 0 ~ 2 only 0.5: 2 must not join
        // through 1, and 1, being a member, cannot lead.
        let pairs = [1u64 << 32, 2 << 32, (2 << 32) | 1, (3 << 32) | 2];
        let sims = [0.9, 0.5, 0.9, 0.8];
        let clusters = leaders(4, &pairs, &sims, 0.7);
        assert_eq!(
            clusters,
            vec![vec![(0, 1.0), (1, 0.9)], vec![(2, 1.0), (3, 0.8)]]
        );
    }

    #[test]
    fn under_the_threshold_nothing_forms() {
        let clusters = leaders(2, &[1u64 << 32], &[0.69], 0.7);
        assert!(clusters.is_empty());
    }

    #[test]
    fn spilled_values_read_back() {
        let mut spill = Spill::new().unwrap();
        spill.write(&[1, 2, 3, u32::MAX]).unwrap();
        let file = spill.finish().unwrap();
        assert_eq!(read_u32s(&file, 1, 3).unwrap(), [2, 3, u32::MAX]);
    }

    #[test]
    fn candidates_cap_large_buckets_and_skip_inactive() {
        let mut spill = Spill::new().unwrap();
        let n = BUCKET_CAP + 10;
        spill.write(&vec![7u32; n]).unwrap();
        let file = spill.finish().unwrap();
        let mut active = vec![true; n];
        active[0] = false;
        let pairs = candidates(&[file], &active).unwrap();
        assert!(pairs.iter().all(|&p| split(p).1 != 0));
        let last = (n - 1) as u32;
        let of_last = pairs.iter().filter(|&&p| split(p).0 == last).count();
        assert_eq!(of_last, BUCKET_CAP);
    }
}
