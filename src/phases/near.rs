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
//! hashes and numbers the buckets that hold more than one block, writing
//! each block's bucket numbers back to a file. Then one pass in input order
//! forms the clusters: a block is compared with the leaders already in its
//! buckets (the first block of each cluster, or a block that stands alone;
//! at most [`BUCKET_CAP`] of them per bucket, the earliest), each by the
//! exact Jaccard similarity of the two sets read back from disk, earliest
//! first. It joins the first one similar enough; otherwise it becomes a
//! leader and enters its buckets. Members never enter a bucket, so a large
//! family of near copies all reach their first member however many there
//! are, and a run over its own output meets the same leaders in the same
//! buckets: nothing new pairs. Every member is at least `threshold` similar
//! to its cluster's first member, the first member is the first in input
//! order, and nothing depends on threads.

use std::fs::File;
use std::io::{self, BufWriter, Write};

use rayon::slice::ParallelSliceMut;

use crate::stages::near::{shared_at_least, similarity, DocSketch, NearDedup, DOCUMENT_ONLY};

/// The most earlier bucket-mates a block is compared with in one band.
pub const BUCKET_CAP: usize = 32;

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
        // Sized first and filled by fixed chunks, which compiles to a plain
        // copy, unlike extending from a flattened iterator.
        self.bytes.clear();
        self.bytes.resize(values.len() * 4, 0);
        for (bytes, value) in self.bytes.chunks_exact_mut(4).zip(values) {
            bytes.copy_from_slice(&value.to_le_bytes());
        }
        self.writer.write_all(&self.bytes)
    }

    /// One value: straight into the writer's buffer (band files take one
    /// value per block).
    fn write_one(&mut self, value: u32) -> io::Result<()> {
        self.writer.write_all(&value.to_le_bytes())
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
            self.entries.push(if position == DOCUMENT_ONLY {
                DOCUMENT_ONLY
            } else {
                first_entry + position
            });
            let set = &sketch.shingles[start..end as usize];
            self.sets.write(set)?;
            let last = self.set_starts.last().copied().unwrap_or(0);
            self.set_starts.push(last + set.len() as u64);
            start = end as usize;
            let bands = &sketch.block_bands[i * per_block..(i + 1) * per_block];
            for (spill, &band) in self.block_bands.iter_mut().zip(bands) {
                spill.write_one(band)?;
            }
        }
        if !sketch.doc_bands.is_empty() {
            self.banded_docs.push(doc);
            for (spill, &band) in self.doc_bands.iter_mut().zip(&sketch.doc_bands) {
                spill.write_one(band)?;
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
    /// Per sketched block, its index among all keys of the run, or
    /// [`DOCUMENT_ONLY`].
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
    pub fn block_clusters(&self, threshold: f64, active: &[bool]) -> io::Result<Vec<Members>> {
        let buckets = bucket_files(&self.block_bands, active)?;
        cluster(&buckets, active, threshold, |block| self.block_set(block))
    }

    /// Clusters of documents (as document numbers); every document with
    /// words takes part.
    pub fn document_clusters(&self, threshold: f64) -> io::Result<Vec<Members>> {
        let banded = vec![true; self.banded_docs.len()];
        let buckets = bucket_files(&self.doc_bands, &banded)?;
        let clusters = cluster(&buckets, &banded, threshold, |position| {
            self.doc_set(self.banded_docs[position as usize])
        })?;
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

/// No bucket: the position is alone in its bucket for that band.
const ALONE: u32 = u32::MAX;

/// For each band, a file giving each position its bucket number (positions
/// whose band hash no other active position shares get [`ALONE`]). One band
/// is in memory at a time; the files are read back in position order.
fn bucket_files(bands: &[File], active: &[bool]) -> io::Result<Vec<File>> {
    let mut next_bucket = 0u32;
    let mut files = Vec::with_capacity(bands.len());
    for file in bands {
        let hashes = read_u32s(file, 0, active.len())?;
        let mut keyed: Vec<u64> = hashes
            .iter()
            .enumerate()
            .filter(|&(position, _)| active[position])
            .map(|(position, &hash)| (u64::from(hash) << 32) | position as u64)
            .collect();
        drop(hashes);
        // Entries are distinct (positions are), so the order is the same
        // whatever the thread count.
        keyed.par_sort_unstable();
        let mut bucket_of = vec![ALONE; active.len()];
        for bucket in keyed.chunk_by(|a, b| a >> 32 == b >> 32) {
            if bucket.len() > 1 {
                for &entry in bucket {
                    bucket_of[(entry & 0xFFFF_FFFF) as usize] = next_bucket;
                }
                next_bucket += 1;
            }
        }
        let mut spill = Spill::new()?;
        spill.write(&bucket_of)?;
        files.push(spill.finish()?);
    }
    Ok(files)
}

/// Forms clusters in input order (see the module doc): each active
/// position is compared, earliest first, with the leaders already in its
/// buckets (at most [`BUCKET_CAP`] per bucket, the earliest), joins the
/// first at least `threshold` similar, or else becomes a leader itself.
/// Members never enter a bucket, so a second run, which sees only the
/// leaders, finds the very same leaders in the same buckets: the result of
/// a run on its own output is the same clustering, minus what was dropped.
/// The Jaccard similarity of two sorted sets when it is at least
/// `threshold`, else `None`, giving up as soon as the sets have missed too
/// many elements to get there (templated text makes many near misses).
fn at_least(a: &[u32], b: &[u32], threshold: f64) -> Option<f64> {
    let (small, large) = (a.len().min(b.len()), a.len().max(b.len()));
    // Tolerance for the float division; similarities are ratios of small
    // integers.
    let threshold = threshold - 1e-9;
    if large == 0 || (small as f64) < threshold * large as f64 {
        return None;
    }
    // shared / (|a| + |b| - shared) >= t  ⇔  shared >= t (|a| + |b|) / (1 + t)
    let needed = (threshold * (a.len() + b.len()) as f64 / (1.0 + threshold)).ceil() as usize;
    let shared = shared_at_least(a, b, needed)?;
    let jaccard = similarity((shared, a.len() + b.len() - shared));
    (jaccard >= threshold).then_some(jaccard)
}

/// The leaders of each bucket, in position order, at most [`BUCKET_CAP`]:
/// most buckets hold one, so the first is kept in a flat array and only
/// the rest in a map (millions of buckets must not mean millions of
/// vectors).
#[derive(Default)]
struct BucketLeaders {
    first: Vec<u32>,
    more: std::collections::HashMap<u32, Vec<u32>>,
}

impl BucketLeaders {
    const NONE: u32 = u32::MAX;

    fn extend_into(&self, bucket: u32, out: &mut Vec<u32>) {
        match self.first.get(bucket as usize) {
            Some(&first) if first != Self::NONE => out.push(first),
            _ => return,
        }
        if let Some(more) = self.more.get(&bucket) {
            out.extend_from_slice(more);
        }
    }

    fn add(&mut self, bucket: u32, position: u32) {
        let at = bucket as usize;
        if self.first.len() <= at {
            self.first.resize(at + 1, Self::NONE);
        }
        if self.first[at] == Self::NONE {
            self.first[at] = position;
            return;
        }
        let more = self.more.entry(bucket).or_default();
        if more.len() + 1 < BUCKET_CAP {
            more.push(position);
        }
    }
}

/// 3-gram hashes of leader sets kept in memory for comparisons (16 MiB);
/// past this the cache starts over. Leaders of one family are compared
/// again and again, so a small cache saves nearly every read, and a bound
/// in elements, not sets, keeps large document sets from filling memory.
const CACHED_ELEMENTS: usize = 1 << 22;

fn cluster(
    buckets: &[File],
    active: &[bool],
    threshold: f64,
    read_set: impl Fn(u32) -> io::Result<Vec<u32>>,
) -> io::Result<Vec<Members>> {
    const NONE: u32 = u32::MAX;
    let mut cache: std::collections::HashMap<u32, Vec<u32>> = std::collections::HashMap::new();
    let mut cached = 0usize;
    let mut readers: Vec<io::BufReader<&File>> = buckets
        .iter()
        .map(|file| io::BufReader::with_capacity(1 << 16, file))
        .collect();
    for reader in &mut readers {
        io::Seek::seek(reader, io::SeekFrom::Start(0))?;
    }
    let mut leaders = BucketLeaders::default();
    // Per position: the cluster it leads, if any.
    let mut leads = vec![NONE; active.len()];
    let mut clusters: Vec<Members> = Vec::new();
    let mut mine: Vec<u32> = Vec::with_capacity(readers.len());
    let mut candidates: Vec<u32> = Vec::new();
    for (position, &is_active) in active.iter().enumerate() {
        mine.clear();
        for reader in &mut readers {
            let mut bytes = [0u8; 4];
            io::Read::read_exact(reader, &mut bytes)?;
            let bucket = u32::from_le_bytes(bytes);
            if bucket != ALONE {
                mine.push(bucket);
            }
        }
        if !is_active || mine.is_empty() {
            continue;
        }
        candidates.clear();
        for &bucket in &mine {
            leaders.extend_into(bucket, &mut candidates);
        }
        candidates.sort_unstable();
        candidates.dedup();
        let position = position as u32;
        let mut joined = false;
        let mut own: Option<Vec<u32>> = None;
        for &leader in &candidates {
            if own.is_none() {
                own = Some(read_set(position)?);
            }
            if !cache.contains_key(&leader) {
                let set = read_set(leader)?;
                if cached + set.len() > CACHED_ELEMENTS {
                    cache.clear();
                    cached = 0;
                }
                cached += set.len();
                cache.insert(leader, set);
            }
            let Some(s) = at_least(
                &cache[&leader],
                own.as_deref().unwrap_or_default(),
                threshold,
            ) else {
                continue;
            };
            let cluster = match leads[leader as usize] {
                NONE => {
                    leads[leader as usize] = clusters.len() as u32;
                    clusters.push(vec![(leader, 1.0)]);
                    clusters.len() - 1
                }
                c => c as usize,
            };
            clusters[cluster].push((position, s));
            joined = true;
            break;
        }
        if !joined {
            for &bucket in &mine {
                leaders.add(bucket, position);
            }
        }
    }
    clusters.sort_by_key(|members| members[0].0);
    Ok(clusters)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stages::near::overlap;

    fn bands(columns: &[&[u32]]) -> Vec<File> {
        columns
            .iter()
            .map(|column| {
                let mut spill = Spill::new().unwrap();
                spill.write(column).unwrap();
                spill.finish().unwrap()
            })
            .collect()
    }

    /// Sets with chosen overlaps: position → its set.
    fn sets<'a>(table: &'a [&'a [u32]]) -> impl Fn(u32) -> io::Result<Vec<u32>> + 'a {
        move |position| Ok(table[position as usize].to_vec())
    }

    #[test]
    fn a_member_joins_the_earliest_similar_leader_never_a_member() {
        // All four share a bucket. 0 ~ 1 (9/10), 1 ~ 2 (9/10) but 0 ~ 2
        // only 8/11: 2 must not join through 1 at 0.75, and 1, a member,
        // cannot lead.
        let files = bucket_files(&bands(&[&[7, 7, 7, 7]]), &[true; 4]).unwrap();
        let table: [&[u32]; 4] = [
            &[1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
            &[2, 3, 4, 5, 6, 7, 8, 9, 10],
            &[3, 4, 5, 6, 7, 8, 9, 10, 11],
            &[3, 4, 5, 6, 7, 8, 9, 10, 11, 12],
        ];
        let clusters = cluster(&files, &[true; 4], 0.75, sets(&table)).unwrap();
        assert_eq!(
            clusters,
            vec![vec![(0, 1.0), (1, 0.9)], vec![(2, 1.0), (3, 0.9)]]
        );
    }

    #[test]
    fn under_the_threshold_nothing_forms() {
        let files = bucket_files(&bands(&[&[1, 1]]), &[true; 2]).unwrap();
        let table: [&[u32]; 2] = [&[1, 2, 3], &[2, 3, 4, 5]];
        let clusters = cluster(&files, &[true; 2], 0.41, sets(&table)).unwrap();
        assert!(clusters.is_empty());
        let clusters = cluster(&files, &[true; 2], 0.4, sets(&table)).unwrap();
        assert_eq!(clusters.len(), 1);
    }

    #[test]
    fn a_large_family_joins_its_first_leader_however_many_members() {
        // Many more members than the bucket cap, each 0.8 similar to the
        // first and less to each other: members never fill the buckets, so
        // every one finds the leader.
        let n = BUCKET_CAP * 4;
        let column = vec![3u32; n];
        let files = bucket_files(&bands(&[&column, &column]), &vec![true; n]).unwrap();
        let clusters = cluster(&files, &vec![true; n], 0.7, |p| {
            let mut set: Vec<u32> = (0..8).collect();
            if p > 0 {
                set.push(1000 + p);
                set.push(5000 + p);
            }
            Ok(set)
        })
        .unwrap();
        assert_eq!(clusters.len(), 1);
        assert_eq!(clusters[0].len(), n);
        assert!(clusters[0][1..]
            .iter()
            .all(|&(_, s)| (s - 0.8).abs() < 1e-12));
    }

    #[test]
    fn inactive_positions_and_lone_hashes_take_no_part() {
        let files = bucket_files(&bands(&[&[5, 5, 6]]), &[false, true, true]).unwrap();
        let clusters = cluster(&files, &[false, true, true], 0.1, |_| Ok(vec![1])).unwrap();
        assert!(clusters.is_empty());
        assert_eq!(read_u32s(&files[0], 0, 3).unwrap(), [ALONE, ALONE, ALONE]);
    }

    proptest::proptest! {
        /// The early exit never changes the answer.
        #[test]
        fn at_least_agrees_with_the_full_overlap(
            a in proptest::collection::btree_set(0u32..60, 0..40),
            b in proptest::collection::btree_set(0u32..60, 0..40),
            t in 0.01f64..1.0,
        ) {
            let (a, b): (Vec<u32>, Vec<u32>) = (a.into_iter().collect(), b.into_iter().collect());
            let full = similarity(overlap(&a, &b));
            let expected = (full + 1e-9 >= t && !(a.is_empty() && b.is_empty())).then_some(full);
            proptest::prop_assert_eq!(at_least(&a, &b, t), expected);
        }
    }

    #[test]
    fn spilled_values_read_back() {
        let mut spill = Spill::new().unwrap();
        spill.write(&[1, 2, 3, u32::MAX]).unwrap();
        let file = spill.finish().unwrap();
        assert_eq!(read_u32s(&file, 1, 3).unwrap(), [2, 3, u32::MAX]);
    }
}
