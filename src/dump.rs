//! JSONL dumps through the phases: read in line-aligned chunks, chunks
//! worked on in parallel, results put back in line order.
//!
//! Memory stays bounded: a few chunks per thread are in flight at a time
//! (being read, worked on, or waiting to be written out), never the whole
//! file.
//! Every line is a document slot (document number = the dump's first
//! number + line − 1), so both phases number records the same way without
//! a counting pass. Compressed output is made chunk by chunk in parallel
//! (concatenated gzip members and zstd frames are one valid stream).
//! A run without near duplicates or a report reads each dump once
//! (`Dump::clean_once`): a chunk's records are cleaned, decided on in the
//! chunk's turn (chunks take turns in read order), then finished.

use std::fs::File;
use std::io::{self, Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, SyncSender};
use std::sync::{Arc, Condvar, Mutex, PoisonError};

use crate::config::EmptyRecords;
use crate::diff;
use crate::document::{decode_str, DecodeError, Decoded, Document};
use crate::formats::jsonl::{self, Chunk, ChunkReader, Compression, FieldPath, RecordError};
use crate::formats::Format;
use crate::input::Source;
use crate::phases::apply::{self, ApplyError};
use crate::phases::decide::{Decision, DecisionTable, ExactDecider};
use crate::pipeline::{DocKeys, KeyedBlock, Pipeline};
use crate::report::RecordCounts;
use crate::run::{diff_path, DocNames, Failure, FileResult, Mode, Progress};
use crate::stages::names::Mention;
use crate::write::{in_place_target, AtomicFile};

/// Chunks in flight per thread: read, being worked on, or waiting for
/// their turn to be merged. Three, so a thread that finishes a chunk finds
/// the next one read, and a slow chunk lets the others run ahead by a
/// little; more only costs memory. Nothing written depends on it: chunks
/// are merged in line order.
const CHUNKS_PER_THREAD: usize = 3;

/// Counts the raw (compressed) bytes read, for progress.
struct Counting<R> {
    inner: R,
    count: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

struct Opened {
    chunks: ChunkReader<Box<dyn Read + Send>>,
    /// The compressed bytes read, for a compressed dump; a plain one is
    /// read straight into chunks (a wrapper in between would have to
    /// zero each buffer first), and its chunk reader counts.
    read: Option<Arc<AtomicU64>>,
    reported: u64,
}

fn compression(source: &Source) -> Compression {
    match Format::of(&source.path) {
        Format::Jsonl(compression) => compression,
        Format::Text => Compression::None,
    }
}

fn open(pipeline: &Pipeline, source: &Source) -> io::Result<Opened> {
    let input = &pipeline.config().input;
    let file = std::fs::File::open(&source.path)?;
    let compression = compression(source);
    let (reader, read) = if compression == Compression::None {
        (
            jsonl::reader(file, compression, input.max_decompressed_bytes)?,
            None,
        )
    } else {
        let read = Arc::new(AtomicU64::new(0));
        let counting = Counting {
            inner: file,
            count: Arc::clone(&read),
        };
        let reader = jsonl::reader(counting, compression, input.max_decompressed_bytes)?;
        (reader, Some(read))
    };
    Ok(Opened {
        chunks: ChunkReader::new(reader, input.chunk_bytes, input.max_record_bytes),
        read,
        reported: 0,
    })
}

/// The text and id fields the config names.
struct Fields {
    text: FieldPath,
    id: FieldPath,
}

impl Fields {
    fn of(pipeline: &Pipeline) -> Fields {
        let input = &pipeline.config().input;
        Fields {
            text: FieldPath::new(&input.text_field),
            id: FieldPath::new(&input.id_field),
        }
    }
}

fn is_blank(line: &[u8]) -> bool {
    line.iter().all(u8::is_ascii_whitespace)
}

/// Where the bytes of lines too long to hold go. The reader runs ahead of
/// the merge, so it cannot write them to `rejected/` itself (they would land
/// before bad lines merged later, in an order set by timing): it sets each
/// one aside in a temporary file in `dir`, and `take` gets the file in line
/// order, after the chunk the line ends.
struct Overflow<'a> {
    dir: &'a Path,
    take: &'a mut dyn FnMut(Spill),
}

/// Bytes of a too-long line set aside by the reader, or why they could not be.
type Spill = io::Result<File>;

/// A chunk as the workers get it.
struct ToWork {
    /// Position in read order, from 0.
    at: u64,
    chunk: Chunk,
    /// The too-long line the chunk ends on, set aside.
    spill: Option<Spill>,
    /// Raw bytes read by the end of the chunk, for progress.
    read: u64,
}

/// What the merge gets, in any order.
enum ToMerge<T> {
    /// A chunk worked on, with its position in read order.
    Worked {
        at: u64,
        done: T,
        spill: Option<Spill>,
        read: u64,
    },
    /// The end of the file after `chunks` chunks; with the read error that
    /// ended it early, if any, and the start of the line it broke off in if
    /// that line was already too long.
    End {
        chunks: u64,
        ended: Option<(Failure, Option<Spill>)>,
    },
    /// A worker panicked: the chunk it held will never come.
    Abandoned,
}

/// Tells the merge when a worker unwinds, so that it stops waiting for the
/// chunk that worker held (the panic then surfaces from the pool).
struct PanicNotice<'a, T>(&'a mpsc::Sender<ToMerge<T>>);

impl<T> Drop for PanicNotice<'_, T> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let _ = self.0.send(ToMerge::Abandoned);
        }
    }
}

/// Reads the dump in chunks and hands each chunk, processed by `work` on
/// the pool's threads, to `merge` in line order. Returns the read error that
/// ended the file early, if any.
///
/// Three stages overlap, so that neither the pool nor the disk waits on the
/// other: a reader thread reads (and decompresses) chunks, each of the
/// pool's threads takes the next chunk read as soon as it is done with its
/// last (compressing its output too), and the calling thread merges (writes
/// out) the chunks in line order as they come. No thread waits for a batch
/// to finish. A chunk takes a slot from the moment it is read until it is
/// merged, and there are [`CHUNKS_PER_THREAD`] slots per thread, so memory
/// stays bounded whatever the dump's size or the order chunks finish in.
/// `merge` stays on the calling thread and gets the chunks in order, so
/// nothing it writes depends on timing.
fn stream_chunks<T: Send>(
    opened: &mut Opened,
    pool: &rayon::ThreadPool,
    progress: &dyn Progress,
    overflow: Option<Overflow<'_>>,
    work: &(dyn Fn(u64, &Chunk) -> T + Sync),
    merge: &mut dyn FnMut(T),
) -> Option<Failure> {
    let Opened {
        chunks,
        read,
        reported,
    } = opened;
    let (spill_dir, mut take) = match overflow {
        Some(Overflow { dir, take }) => (Some(dir), Some(take)),
        None => (None, None),
    };
    let mut take_spill = |spill: Option<Spill>| {
        if let (Some(spill), Some(take)) = (spill, take.as_mut()) {
            take(spill);
        }
    };
    let threads = pool.current_num_threads();
    let slots = CHUNKS_PER_THREAD * threads;
    std::thread::scope(|scope| {
        let (free_slot, slot) = mpsc::sync_channel(slots);
        for _ in 0..slots {
            // Cannot fail: the channel has room for every slot.
            let _ = free_slot.send(());
        }
        let (to_workers, for_workers) = mpsc::sync_channel(threads);
        let for_workers = std::sync::Mutex::new(for_workers);
        let (to_merge, for_merge) = mpsc::channel::<ToMerge<T>>();
        let read = read.as_deref();
        let end_to_merge = to_merge.clone();
        scope.spawn(move || {
            read_chunks(chunks, read, spill_dir, &slot, &to_workers, &end_to_merge);
        });
        let mut ended = None;
        pool.in_place_scope(|tasks| {
            for _ in 0..threads {
                let to_merge = to_merge.clone();
                let for_workers = &for_workers;
                tasks.spawn(move |_| {
                    let _notice = PanicNotice(&to_merge);
                    loop {
                        // The lock is held only while waiting for the next
                        // chunk, never while working on one.
                        let next = for_workers.lock().map(|receiver| receiver.recv());
                        let Ok(Ok(ToWork {
                            at,
                            chunk,
                            spill,
                            read,
                        })) = next
                        else {
                            return;
                        };
                        let done = work(at, &chunk);
                        drop(chunk);
                        let worked = ToMerge::Worked {
                            at,
                            done,
                            spill,
                            read,
                        };
                        if to_merge.send(worked).is_err() {
                            return;
                        }
                    }
                });
            }
            // Only the reader and the workers hold senders now: if they all
            // stop (a panic among them), the merge stops waiting.
            drop(to_merge);
            let mut waiting = std::collections::BTreeMap::new();
            let mut next: u64 = 0;
            let mut end: Option<u64> = None;
            while end != Some(next) {
                match for_merge.recv() {
                    Ok(ToMerge::Worked {
                        at,
                        done,
                        spill,
                        read,
                    }) => {
                        waiting.insert(at, (done, spill, read));
                    }
                    Ok(ToMerge::End {
                        chunks,
                        ended: last,
                    }) => {
                        end = Some(chunks);
                        ended = last;
                    }
                    Ok(ToMerge::Abandoned) | Err(_) => break,
                }
                while let Some((done, spill, read)) = waiting.remove(&next) {
                    merge(done);
                    take_spill(spill);
                    progress.advance(read - *reported);
                    *reported = read;
                    next += 1;
                    // The reader may be gone already; then no slot is needed.
                    let _ = free_slot.send(());
                }
            }
            // Unblocks a reader still waiting for a slot, if the merge
            // stopped early.
            drop(free_slot);
        });
        ended.map(|(failure, spill)| {
            take_spill(spill);
            failure
        })
    })
}

/// The reader thread: reads chunks, each once a slot is free, and sends them
/// to the workers until the end of the file, a read error, or the merge
/// hanging up; then tells the merge how many chunks there were.
fn read_chunks<T>(
    chunks: &mut ChunkReader<Box<dyn Read + Send>>,
    read: Option<&AtomicU64>,
    spill_dir: Option<&Path>,
    slot: &mpsc::Receiver<()>,
    to_workers: &SyncSender<ToWork>,
    to_merge: &mpsc::Sender<ToMerge<T>>,
) {
    let mut at = 0;
    let ended = loop {
        if slot.recv().is_err() {
            return;
        }
        let mut spill = None;
        let next = chunks.next_chunk(&mut |bytes| {
            if let Some(dir) = spill_dir {
                set_aside(&mut spill, dir, bytes);
            }
        });
        match next {
            Ok(Some(chunk)) => {
                let read = read.map_or(chunks.bytes_read(), |read| read.load(Ordering::Relaxed));
                let next = ToWork {
                    at,
                    chunk,
                    spill,
                    read,
                };
                if to_workers.send(next).is_err() {
                    return;
                }
                at += 1;
            }
            Ok(None) => break None,
            Err((line, err)) => {
                let failure = Failure {
                    line: Some(line as u32),
                    message: format!("cannot read on: {err}"),
                    internal: false,
                };
                break Some((failure, spill));
            }
        }
    };
    let _ = to_merge.send(ToMerge::End { chunks: at, ended });
}

/// Appends `bytes` to the spill file, made on first use; the first error
/// sticks and the rest of the line is dropped.
fn set_aside(spill: &mut Option<Spill>, dir: &Path, bytes: &[u8]) {
    let file = spill.get_or_insert_with(|| tempfile::tempfile_in(dir));
    if let Ok(file) = file {
        if let Err(err) = file.write_all(bytes) {
            *spill = Some(Err(err));
        }
    }
}

/// What the index phase learned of one dump, for its apply phase.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Indexed {
    /// Document number of its first line.
    pub first_doc: u32,
    /// Lines seen (one document slot each).
    pub lines: u32,
    /// Length and change time when it was read: a dump that changes
    /// between the phases is refused, not mis-numbered.
    pub stamp: Option<(u64, std::time::SystemTime)>,
}

/// One line of a dump as [`scan`] hands it out.
pub(crate) enum RawLine<'a> {
    Bytes(&'a [u8]),
    /// Longer than `input.max-record-bytes`: never held in memory.
    TooLong,
}

/// Reads a dump in chunks, maps every line with `read` (in
/// parallel) and hands the results to `on_line` in line order, each with its
/// line number. Returns the failure that ended the stream early, if any; an
/// error when the file cannot be opened.
pub(crate) fn scan<T: Send>(
    pipeline: &Pipeline,
    source: &Source,
    pool: &rayon::ThreadPool,
    progress: &dyn Progress,
    read: &(dyn Fn(RawLine<'_>) -> T + Sync),
    on_line: &mut dyn FnMut(u32, T),
) -> Result<Option<Failure>, Failure> {
    let mut opened = open(pipeline, source).map_err(|err| Failure::io("cannot read", &err))?;
    let work = |_: u64, chunk: &Chunk| -> Vec<(u64, T)> {
        let mut out: Vec<(u64, T)> = chunk
            .lines()
            .map(|(line, bytes, _)| (line, read(RawLine::Bytes(bytes))))
            .collect();
        if !chunk.too_long.is_empty() {
            out.extend(
                chunk
                    .too_long
                    .iter()
                    .map(|&line| (line, read(RawLine::TooLong))),
            );
            out.sort_by_key(|(line, _)| *line);
        }
        out
    };
    Ok(stream_chunks(
        &mut opened,
        pool,
        progress,
        None,
        &work,
        &mut |lines| {
            for (line, value) in lines {
                on_line(line as u32, value);
            }
        },
    ))
}

/// Index phase for one dump: calls `on_record` with each line's number and
/// the keys of its record (none for a blank or bad line), in line order.
pub(crate) fn index(
    pipeline: &Pipeline,
    source: &Source,
    first_doc: u32,
    pool: &rayon::ThreadPool,
    progress: &dyn Progress,
    on_record: &mut dyn FnMut(u32, &DocKeys),
) -> Result<Indexed, Failure> {
    let stamp = stamp(&source.path).ok();
    let mut lines = 0;
    let fields = Fields::of(pipeline);
    let read = |line: RawLine<'_>| match line {
        RawLine::Bytes(bytes) => record_keys(pipeline, &fields, bytes),
        RawLine::TooLong => DocKeys::default(),
    };
    // Errors are reported once, by the apply phase, which reads the same bytes.
    scan(
        pipeline,
        source,
        pool,
        progress,
        &read,
        &mut |line, keys| {
            lines = line;
            on_record(line, &keys);
        },
    )?;
    Ok(Indexed {
        first_doc,
        lines,
        stamp,
    })
}

/// The names each record of a dump mentions, for `scour names`: `on_record`
/// gets, in line order, each line's number and its mentions, or why the
/// line is bad (the messages the apply phase gives); blank lines are
/// skipped. Returns the failure that ended the stream early, if any.
pub(crate) fn mentions(
    pipeline: &Pipeline,
    source: &Source,
    pool: &rayon::ThreadPool,
    progress: &dyn Progress,
    on_record: &mut dyn FnMut(u32, Result<Vec<Mention>, String>),
) -> Result<Option<Failure>, Failure> {
    let fields = Fields::of(pipeline);
    let max = pipeline.config().input.max_record_bytes;
    let read = |line: RawLine<'_>| -> Option<Result<Vec<Mention>, String>> {
        let bytes = match line {
            RawLine::Bytes(bytes) if is_blank(bytes) => return None,
            RawLine::Bytes(bytes) => bytes,
            RawLine::TooLong => return Some(Err(RecordError::TooLong(max).to_string())),
        };
        let record = match jsonl::parse(bytes, &fields.text, &fields.id) {
            Ok(record) => record,
            Err(err) => return Some(Err(err.to_string())),
        };
        Some(match decode_str(&record.text) {
            Ok(decoded) => Ok(pipeline.mentions(&decoded.text)),
            Err(err) => Err(format!("`{}`: {err}", fields.text)),
        })
    };
    scan(
        pipeline,
        source,
        pool,
        progress,
        &read,
        &mut |line, found| {
            if let Some(found) = found {
                on_record(line, found);
            }
        },
    )
}

fn record_keys(pipeline: &Pipeline, fields: &Fields, line: &[u8]) -> DocKeys {
    if is_blank(line) {
        return DocKeys::default();
    }
    let Ok(record) = jsonl::parse(line, &fields.text, &fields.id) else {
        return DocKeys::default();
    };
    let Ok(decoded) = decode_str(&record.text) else {
        return DocKeys::default();
    };
    pipeline.index_keys(&decoded.text)
}

/// What one chunk produced in the apply phase.
#[derive(Default)]
struct ChunkOut {
    /// The output lines, compressed as the dump is (once the chunk is
    /// done; plain while it is written).
    output: Vec<u8>,
    /// Bad lines, byte for byte, each with its own line ending.
    rejected: Vec<u8>,
    /// For each changed record: its reasons as `#` lines, then its diff.
    report: String,
    result: FileResult,
    records: RecordCounts,
    /// Lines over `max-record-bytes` (set aside for `rejected/` by the reader).
    too_long: u64,
    /// The number of the chunk's last line.
    last_line: u64,
}

/// Where the apply phase of one dump writes; files appear on [`Sinks::commit`].
struct Sinks {
    output: Option<AtomicFile>,
    root: Option<PathBuf>,
    rejected: Option<AtomicFile>,
    rejected_path: Option<PathBuf>,
    diffs: Option<AtomicFile>,
    diffs_path: Option<PathBuf>,
}

impl Sinks {
    fn new(source: &Source, mode: &Mode) -> io::Result<Sinks> {
        let mut sinks = Sinks {
            output: None,
            root: None,
            rejected: None,
            rejected_path: None,
            diffs: None,
            diffs_path: None,
        };
        match mode {
            Mode::Check => {}
            Mode::InPlace => {
                let (folder, target, permissions) = in_place_target(&source.path)?;
                sinks.output = Some(AtomicFile::create(&folder, &target, Some(permissions))?);
            }
            Mode::Write { dir, reports } => {
                let permissions = std::fs::metadata(&source.path)
                    .ok()
                    .map(|m| m.permissions());
                sinks.output = Some(AtomicFile::create(
                    dir,
                    &dir.join(&source.output),
                    permissions,
                )?);
                // Rejected lines are kept uncompressed: `a.jsonl.gz` → `rejected/a.jsonl`.
                let name = source.output.to_string_lossy();
                let plain = name
                    .strip_suffix(".gz")
                    .or_else(|| name.strip_suffix(".zst"))
                    .unwrap_or(&name);
                sinks.rejected_path = Some(dir.join("rejected").join(plain));
                if *reports {
                    sinks.diffs_path = Some(diff_path(dir, &source.output));
                }
                sinks.root = Some(dir.clone());
            }
        }
        Ok(sinks)
    }

    /// Appends to a file created on first use.
    fn append(
        file: &mut Option<AtomicFile>,
        root: Option<&Path>,
        path: Option<&PathBuf>,
        bytes: &[u8],
    ) -> io::Result<()> {
        let (Some(root), Some(path)) = (root, path) else {
            return Ok(());
        };
        if file.is_none() {
            *file = Some(AtomicFile::create(root, path, None)?);
        }
        file.as_mut().map_or(Ok(()), |f| f.write_all(bytes))
    }

    /// Writes a chunk's cleaned lines and its rejected ones; on failure,
    /// says which.
    fn write_chunk(&mut self, output: &[u8], rejected: &[u8]) -> Result<(), (&str, io::Error)> {
        if let Some(file) = self.output.as_mut() {
            file.write_all(output)
                .map_err(|err| ("cannot write", err))?;
        }
        if !rejected.is_empty() {
            self.reject(rejected)
                .map_err(|err| ("cannot write rejected lines", err))?;
        }
        Ok(())
    }

    fn reject(&mut self, bytes: &[u8]) -> io::Result<()> {
        Self::append(
            &mut self.rejected,
            self.root.as_deref(),
            self.rejected_path.as_ref(),
            bytes,
        )
    }

    /// Appends a too-long line the reader set aside.
    fn reject_from(&mut self, mut spill: File) -> io::Result<()> {
        spill.rewind()?;
        // Creates `rejected/` on first use (nothing when there is none).
        self.reject(&[])?;
        match self.rejected.as_mut() {
            Some(file) => io::copy(&mut spill, file).map(drop),
            None => Ok(()),
        }
    }

    fn report(&mut self, text: &str) -> io::Result<()> {
        Self::append(
            &mut self.diffs,
            self.root.as_deref(),
            self.diffs_path.as_ref(),
            text.as_bytes(),
        )
    }

    fn commit(self) -> io::Result<()> {
        for file in [self.output, self.rejected, self.diffs]
            .into_iter()
            .flatten()
        {
            file.commit()?;
        }
        Ok(())
    }
}

/// How much of a dump's diff `check` keeps (with the changes of the same
/// records): what a reader can use, and a bound on memory, since the diff
/// of a dump that needs cleaning is about twice its size.
const CHECK_DIFF_BYTES: usize = 32 << 20;

/// The part of a dump's diff that `check` shows: the chunks' diffs in order
/// until the next would pass the cap, then only a count of changed records,
/// so what is shown is always the dump's first records. The first chunk is
/// shown whatever its size: a dump of one huge record still shows its diff.
struct CheckDiff {
    text: String,
    cap: usize,
    unshown: u64,
}

impl CheckDiff {
    fn new(cap: usize) -> CheckDiff {
        CheckDiff {
            text: String::new(),
            cap,
            unshown: 0,
        }
    }

    /// Adds the diff of a chunk with `changed` changed records; false when
    /// it is left out.
    fn add(&mut self, diff: &str, changed: u64) -> bool {
        let room = self.text.is_empty() || self.text.len() + diff.len() <= self.cap;
        if self.unshown == 0 && room {
            self.text.push_str(diff);
            true
        } else {
            self.unshown += changed;
            false
        }
    }

    /// The diff shown, with a last line saying what it leaves out.
    fn finish(mut self, name: &str) -> String {
        if self.unshown > 0 {
            use std::fmt::Write as _;
            let _ = writeln!(
                self.text,
                "# {name}: {} more changed records not shown: a check keeps the first \
                 {} MiB of a dump's diff (`scour run` writes every record's diff to diffs/)",
                self.unshown,
                self.cap >> 20
            );
        }
        self.text
    }
}

/// What the apply phase keeps about each changed record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Explain {
    Nothing,
    /// `check`: the diff, and the changes with the record's line.
    Check,
    /// `diffs/`: the reasons as `#` lines, then the diff.
    Report,
}

impl Explain {
    /// What a check, or a run that writes `diffs/` or not, keeps.
    fn of(checking: bool, diffs: bool) -> Explain {
        if checking {
            Explain::Check
        } else if diffs {
            Explain::Report
        } else {
            Explain::Nothing
        }
    }
}

/// What becomes of one line in the output.
enum Kept {
    /// The line as it was.
    Line,
    /// The line with its text field replaced, written to the chunk's
    /// output already (without its line ending), saving a copy.
    Spliced,
    /// Nothing: an emptied record under `empty-records = "drop"`.
    Nothing,
    /// A bad line: to `rejected/` (or, in place, kept as it was).
    Rejected,
}

/// Where a dump's decisions come from.
enum Deciding<'a> {
    /// The decide phase, from the keys of the index phase.
    Table(&'a DecisionTable),
    /// Made here, a chunk at a time in line order, from the keys of the
    /// records just cleaned (see [`Dump::clean_once`]).
    AsItReads(&'a Mutex<ExactDecider>),
}

/// One dump to clean, and what cleaning it works with.
pub(crate) struct Dump<'a> {
    pub pipeline: &'a Pipeline,
    pub names: &'a DocNames<'a>,
    pub source: &'a Source,
    pub pool: &'a rayon::ThreadPool,
    pub mode: &'a Mode,
    pub progress: &'a dyn Progress,
}

impl Dump<'_> {
    /// Apply phase for the dump: cleans every record with the decide
    /// phase's `decisions`, writes the output (and `rejected/`, `diffs/`)
    /// and returns what happened.
    pub(crate) fn apply(&self, index: &Indexed, decisions: &DecisionTable) -> FileResult {
        self.stream(index, &Deciding::Table(decisions)).0
    }

    /// Both phases of the dump in one read, deciding each chunk as it is
    /// cleaned: for a run without near duplicates, whose decisions about a
    /// record depend only on the keys of the records before it. `decider`
    /// holds the keys of the run's earlier documents, this dump's first
    /// document is `first_doc`; returns the result and the number of lines
    /// (one document slot each).
    pub(crate) fn clean_once(
        &self,
        first_doc: u32,
        decider: &Mutex<ExactDecider>,
    ) -> (FileResult, u32) {
        let index = Indexed {
            first_doc,
            // No index phase: every line is decided on as it comes.
            lines: u32::MAX,
            stamp: stamp(&self.source.path).ok(),
        };
        self.stream(&index, &Deciding::AsItReads(decider))
    }

    /// Cleans the dump as `deciding` says; returns its result and the
    /// number of its last line.
    fn stream(&self, index: &Indexed, deciding: &Deciding<'_>) -> (FileResult, u32) {
        let Dump {
            pipeline,
            names,
            source,
            pool,
            mode,
            progress,
        } = *self;
        let Indexed {
            first_doc,
            lines,
            stamp: expected,
        } = *index;
        let (mut opened, sinks) = match self.open(expected) {
            Ok((opened, sinks)) => (opened, std::cell::RefCell::new(sinks)),
            Err(failure) => return (FileResult::failed(failure), 0),
        };
        let keep_bad_lines = *mode == Mode::InPlace;
        let checking = *mode == Mode::Check;
        let explain = Explain::of(checking, sinks.borrow().diffs_path.is_some());
        let diff_full = std::sync::atomic::AtomicBool::new(false);
        let context = ApplyContext {
            pipeline,
            names,
            source,
            fields: Fields::of(pipeline),
            first_doc,
            lines,
            decisions: match deciding {
                Deciding::Table(table) => Some(table),
                Deciding::AsItReads(_) => None,
            },
            turns: match deciding {
                Deciding::AsItReads(decider) => Some(Turns::new(decider)),
                Deciding::Table(_) => None,
            },
            compression: compression(source),
            keep_bad_lines,
            checking,
            explain,
            diff_full: &diff_full,
        };
        let work = |at: u64, chunk: &Chunk| context.chunk(at, chunk);
        let mut result = FileResult {
            records: Some(RecordCounts::default()),
            ..FileResult::default()
        };
        let write_error: std::cell::RefCell<Option<Failure>> = std::cell::RefCell::new(None);
        let note = |what: &str, err: &io::Error| {
            write_error
                .borrow_mut()
                .get_or_insert_with(|| Failure::io(what, err));
        };
        // Lines too long to hold are rejected only where bad lines are: set
        // aside next to the output, then copied into `rejected/` in line order.
        let spill_dir = {
            let sinks = sinks.borrow();
            sinks.rejected_path.as_ref().and(sinks.root.clone())
        };
        let mut take_spill = |spill: Spill| {
            if let Err(err) = spill.and_then(|file| sinks.borrow_mut().reject_from(file)) {
                note("cannot write rejected lines", &err);
            }
        };
        let too_long = std::cell::Cell::new(0u64);
        let last_line = std::cell::Cell::new(0u64);
        let mut check_diff = CheckDiff::new(CHECK_DIFF_BYTES);
        let mut merge = |mut out: ChunkOut| {
            too_long.set(too_long.get() + out.too_long);
            last_line.set(last_line.get().max(out.last_line));
            let mut sinks = sinks.borrow_mut();
            if let Err((what, err)) = sinks.write_chunk(&out.output, &out.rejected) {
                note(what, &err);
            }
            if checking {
                if !check_diff.add(&out.report, out.records.changed) {
                    // The changes go with the diff they explain.
                    out.result.changes.clear();
                    diff_full.store(true, Ordering::Relaxed);
                }
            } else if !out.report.is_empty() {
                if let Err(err) = sinks.report(&out.report) {
                    note("cannot write the diff", &err);
                }
            }
            merge_chunk(&mut result, out, checking);
        };
        let overflow = spill_dir.as_deref().map(|dir| Overflow {
            dir,
            take: &mut take_spill,
        });
        let ended = stream_chunks(&mut opened, pool, progress, overflow, &work, &mut merge);
        let ending = Ending {
            partial: ended.is_some() || too_long.get() > 0,
            unchanged_since_index: stamp(&source.path).ok() == expected,
            write_error: write_error.into_inner(),
            in_place: keep_bad_lines,
        };
        result.failures.extend(ended);
        result.diff = check_diff.finish(&source.name);
        let drop_emptied = pipeline.config().output.empty_records == EmptyRecords::Drop;
        ending.finish(&mut result, sinks.into_inner(), drop_emptied);
        (result, last_line.get() as u32)
    }

    /// Opens the dump and its outputs, unless it changed since `expected`.
    fn open(
        &self,
        expected: Option<(u64, std::time::SystemTime)>,
    ) -> Result<(Opened, Sinks), Failure> {
        if stamp(&self.source.path).ok() != expected {
            return Err(Failure {
                line: None,
                message: "changed while scour was reading it; run again".into(),
                internal: false,
            });
        }
        let opened =
            open(self.pipeline, self.source).map_err(|err| Failure::io("cannot read", &err))?;
        let sinks =
            Sinks::new(self.source, self.mode).map_err(|err| Failure::io("cannot write", &err))?;
        Ok((opened, sinks))
    }
}

/// How the apply phase of a dump ended, which decides whether its output
/// may replace anything.
struct Ending {
    /// The stream broke off, or a line was too long to hold.
    partial: bool,
    unchanged_since_index: bool,
    write_error: Option<Failure>,
    in_place: bool,
}

impl Ending {
    /// Settles whether the file changed and commits its output. In place,
    /// the input is replaced only by a complete, changed file: a damaged
    /// stream or a line too long to hold would otherwise lose what could not
    /// be read, and an unchanged file is left untouched.
    fn finish(self, result: &mut FileResult, sinks: Sinks, drop_emptied: bool) {
        let records = result.records.unwrap_or_default();
        result.changed = records.changed > 0
            || (drop_emptied && records.emptied > 0)
            || (records.rejected > 0 && !self.in_place);
        if !self.unchanged_since_index {
            result.failures.push(Failure {
                line: None,
                message: "changed while scour was reading it; run again".into(),
                internal: false,
            });
        } else if let Some(failure) = self.write_error {
            result.failures.push(failure);
        } else if self.in_place && self.partial {
            result.failures.push(Failure {
                line: None,
                message: "left as it was: it could not be read whole".into(),
                internal: false,
            });
        } else if self.in_place && !result.changed {
            // Nothing to write; dropping the sinks removes the temporary file.
        } else if let Err(err) = sinks.commit() {
            result.failures.push(Failure::io("cannot write", &err));
        }
    }
}

/// What identifies a file's contents cheaply: its length and change time.
pub(crate) fn stamp(path: &Path) -> io::Result<(u64, std::time::SystemTime)> {
    let metadata = std::fs::metadata(path)?;
    Ok((metadata.len(), metadata.modified()?))
}

/// What every chunk of one dump needs in the apply phase.
struct ApplyContext<'a> {
    pipeline: &'a Pipeline,
    names: &'a DocNames<'a>,
    source: &'a Source,
    fields: Fields,
    first_doc: u32,
    lines: u32,
    /// The decide phase's decisions, or, deciding as it reads, the turns.
    decisions: Option<&'a DecisionTable>,
    turns: Option<Turns<'a>>,
    compression: Compression,
    keep_bad_lines: bool,
    checking: bool,
    explain: Explain,
    /// Set once a check's diff of this dump is full: later chunks, whose
    /// diffs would not be shown, skip making them.
    diff_full: &'a std::sync::atomic::AtomicBool,
}

impl ApplyContext<'_> {
    /// Cleans the records of chunk `at` (in read order) and compresses its
    /// output lines.
    fn chunk(&self, at: u64, chunk: &Chunk) -> ChunkOut {
        // A worker that unwinds before its turn must not leave the others
        // waiting for it.
        let _abandon = self.turns.as_ref().map(AbandonOnPanic);
        let mut out = ChunkOut::default();
        // Chunks are merged in order, so one that starts after the flag is
        // set comes after the chunk that filled the diff: not shown either.
        let explain = match self.explain {
            Explain::Check if self.diff_full.load(Ordering::Relaxed) => Explain::Nothing,
            explain => explain,
        };
        out.output.reserve(chunk.bytes.len());
        out.too_long = chunk.too_long.len() as u64;
        // Failures in line order: a too-long line goes before the lines after it.
        let mut too_long = chunk.too_long.iter().copied().peekable();
        let mut reject_too_long = |out: &mut ChunkOut, before: u64| {
            while let Some(line) = too_long.next_if(|&line| line < before) {
                out.records.rejected += 1;
                out.result.failures.push(Failure {
                    line: Some(line as u32),
                    message: RecordError::TooLong(self.pipeline.config().input.max_record_bytes)
                        .to_string(),
                    internal: false,
                });
            }
        };
        // Deciding as it reads: the chunk's records are all cleaned and
        // keyed first, then decided on in the chunk's turn, then finished.
        // Cut once: each pass below would search the chunk for newlines
        // again, and the decisions are made holding the turn.
        let lines: Vec<(u64, &[u8], &[u8])> = chunk.lines().collect();
        let records = self.read_records(&lines);
        let decoded = decode_records(&records);
        let mut cleaned = self.clean_records(&decoded);
        let verdicts = match &self.turns {
            Some(turns) => self.decide(turns, at, &lines, &cleaned),
            None => Vec::new(),
        };
        for (i, &(line, bytes, ending)) in lines.iter().enumerate() {
            reject_too_long(&mut out, line);
            out.last_line = line;
            let doc = self.first_doc + line as u32 - 1;
            let record = Line {
                source: self.source,
                fields: &self.fields,
                number: line,
                bytes,
                doc,
            };
            let kept = if let Some(table) = self.decisions {
                // Past the lines the index phase saw, the numbers belong to
                // the next file: such a line gets no decisions (and the run
                // reports the file as changed while read).
                let decisions = if line as u32 <= self.lines {
                    table.doc(doc as usize)
                } else {
                    &[]
                };
                apply_record(
                    self.pipeline,
                    self.names,
                    &record,
                    decisions,
                    explain,
                    &mut out,
                )
            } else {
                let prepared = Prepared {
                    record: &records[i],
                    decoded: &decoded[i],
                    cleaned: cleaned[i].take(),
                    decisions: &verdicts[i].0,
                    keys: &verdicts[i].1,
                };
                apply_prepared(
                    self.pipeline,
                    self.names,
                    &record,
                    prepared,
                    explain,
                    &mut out,
                )
            };
            self.emit(&kept, bytes, ending, &mut out);
        }
        out.last_line = out
            .last_line
            .max(chunk.too_long.last().copied().unwrap_or(0));
        reject_too_long(&mut out, u64::MAX);
        let plain = std::mem::take(&mut out.output);
        if !self.checking {
            match jsonl::compress(plain, self.compression) {
                Ok(bytes) => out.output = bytes,
                Err(err) => out
                    .result
                    .failures
                    .push(Failure::io("cannot compress", &err)),
            }
        }
        out
    }
}

impl ApplyContext<'_> {
    /// The records of a chunk, deciding as it reads; none otherwise (they
    /// are read one at a time).
    fn read_records<'c>(
        &self,
        lines: &[(u64, &'c [u8], &'c [u8])],
    ) -> Vec<Option<Result<jsonl::Record<'c>, RecordError>>> {
        if self.turns.is_none() {
            return Vec::new();
        }
        lines
            .iter()
            .map(|&(_, bytes, _)| read_record(bytes, &self.fields))
            .collect()
    }

    /// The cleaned texts of decoded records.
    fn clean_records<'d>(
        &self,
        decoded: &'d [Option<Result<Decoded<'_>, DecodeError>>],
    ) -> Vec<Option<Document<'d>>> {
        decoded
            .iter()
            .map(|decoded| match decoded {
                Some(Ok(decoded)) => Some(self.pipeline.clean(&decoded.text)),
                _ => None,
            })
            .collect()
    }

    /// Writes what became of a line: to the output, to the rejected
    /// lines, or nowhere.
    fn emit(&self, kept: &Kept, bytes: &[u8], ending: &[u8], out: &mut ChunkOut) {
        let line_bytes = match kept {
            Kept::Line => Some(bytes),
            // Written already: its line ending goes after it.
            Kept::Spliced => Some(&[][..]),
            Kept::Rejected if self.keep_bad_lines => Some(bytes),
            Kept::Rejected => {
                // Byte for byte: with its own line ending, `\r\n`
                // included, or none if it ended the file without one.
                out.rejected.extend_from_slice(bytes);
                out.rejected.extend_from_slice(ending);
                None
            }
            Kept::Nothing => None,
        };
        if let Some(line_bytes) = line_bytes {
            out.output.extend_from_slice(line_bytes);
            out.output.extend_from_slice(ending);
        }
    }

    /// The decisions about the records of chunk `at`, cleaned as
    /// `cleaned`, made in the chunk's turn: after every earlier chunk's.
    /// The decisions about the `cleaned` records of a chunk's `lines`, made
    /// in its turn, with the keys they were made on.
    fn decide(
        &self,
        turns: &Turns<'_>,
        at: u64,
        lines: &[(u64, &[u8], &[u8])],
        cleaned: &[Option<Document<'_>>],
    ) -> Vec<(Vec<Decision>, Vec<KeyedBlock>)> {
        let Some(dedup) = self.pipeline.dedup() else {
            turns.take(at, |_| ());
            return vec![Default::default(); cleaned.len()];
        };
        // Keys are made before the turn, so that only the map lookups wait.
        let keys: Vec<_> = cleaned
            .iter()
            .map(|doc| doc.as_ref().map(|doc| self.pipeline.keys(doc)))
            .collect();
        let decisions: Vec<Vec<Decision>> = turns.take(at, |decider| {
            lines
                .iter()
                .zip(&keys)
                .map(|(&(line, _, _), keys)| {
                    let mut decisions = Vec::new();
                    if let Some(keys) = keys {
                        let doc = self.first_doc + line as u32 - 1;
                        decider.document(dedup, doc, keys, &mut decisions, |_| {});
                    }
                    decisions
                })
                .collect()
        });
        decisions
            .into_iter()
            .zip(keys)
            .map(|(decisions, keys)| (decisions, keys.unwrap_or_default()))
            .collect()
    }
}

/// Hands out turns in read order: the chunk at `at` decides right after the
/// chunk at `at - 1`, so decisions are the same whatever the thread that
/// finishes first. Workers take chunks in read order, so the chunk whose
/// turn is next is always held by a worker that is not waiting.
struct Turns<'a> {
    decider: &'a Mutex<ExactDecider>,
    /// The next turn, and whether a worker unwound before taking its own.
    next: Mutex<(u64, bool)>,
    ready: Condvar,
}

impl<'a> Turns<'a> {
    fn new(decider: &'a Mutex<ExactDecider>) -> Turns<'a> {
        Turns {
            decider,
            next: Mutex::new((0, false)),
            ready: Condvar::new(),
        }
    }

    /// Waits for turn `at`, runs `decide` in it, and passes the turn on.
    fn take<R>(&self, at: u64, decide: impl FnOnce(&mut ExactDecider) -> R) -> R {
        let mut next = self.next.lock().unwrap_or_else(PoisonError::into_inner);
        while next.0 != at {
            // The turn before this one will never come: unwind too (the
            // first panic is the one the run reports).
            assert!(!next.1, "a worker unwound before its turn");
            next = self
                .ready
                .wait(next)
                .unwrap_or_else(PoisonError::into_inner);
        }
        let decided = decide(&mut self.decider.lock().unwrap_or_else(PoisonError::into_inner));
        next.0 += 1;
        self.ready.notify_all();
        decided
    }
}

/// Marks the turns abandoned when the worker holding it unwinds.
struct AbandonOnPanic<'a>(&'a Turns<'a>);

impl Drop for AbandonOnPanic<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let mut next = self.0.next.lock().unwrap_or_else(PoisonError::into_inner);
            next.1 = true;
            self.0.ready.notify_all();
        }
    }
}

/// Adds a chunk's results to its file's. `check` lists every change; the
/// report page keeps the file's first ones, the same whatever the chunks.
fn merge_chunk(result: &mut FileResult, out: ChunkOut, checking: bool) {
    let part = out.result;
    result.documents += part.documents;
    result.changed_documents += part.changed_documents;
    result.blocks += part.blocks;
    for (rule, count) in part.rules {
        *result.rules.entry(rule).or_default() += count;
    }
    result.dropped_blocks += part.dropped_blocks;
    result.marked_blocks += part.marked_blocks;
    result.dropped.extend(part.dropped);
    result.marked.extend(part.marked);
    result.failures.extend(part.failures);
    if checking {
        result.changes.extend(part.changes);
    } else {
        result.review(0, &part.changes);
    }
    result.near_texts.extend(part.near_texts);
    let records = result.records.get_or_insert_with(RecordCounts::default);
    records.total += out.records.total;
    records.changed += out.records.changed;
    records.rejected += out.records.rejected;
    records.emptied += out.records.emptied;
}

/// One line of a dump, with what is needed to name and clean its record.
struct Line<'a> {
    source: &'a Source,
    fields: &'a Fields,
    number: u64,
    bytes: &'a [u8],
    doc: u32,
}

fn apply_record(
    pipeline: &Pipeline,
    names: &DocNames<'_>,
    line: &Line<'_>,
    decisions: &[Decision],
    explain: Explain,
    out: &mut ChunkOut,
) -> Kept {
    let record = match read_record(line.bytes, line.fields) {
        None => return Kept::Line,
        Some(Err(err)) => return reject(out, line.number, err.to_string()),
        Some(Ok(record)) => record,
    };
    let name = format!("{}:{}", line.source.name, line.number);
    let applied = apply::apply_record(pipeline, &name, line.doc, &record.text, decisions);
    finish_record(pipeline, names, line, &record, &name, applied, explain, out)
}

/// A record read, decoded and cleaned before its decisions were known.
struct Prepared<'r, 'c> {
    record: &'r Option<Result<jsonl::Record<'r>, RecordError>>,
    decoded: &'r Option<Result<Decoded<'r>, DecodeError>>,
    cleaned: Option<Document<'c>>,
    decisions: &'r [Decision],
    /// The keys `decisions` were made on.
    keys: &'r [KeyedBlock],
}

/// [`apply_record`] for a record read and cleaned already.
fn apply_prepared(
    pipeline: &Pipeline,
    names: &DocNames<'_>,
    line: &Line<'_>,
    prepared: Prepared<'_, '_>,
    explain: Explain,
    out: &mut ChunkOut,
) -> Kept {
    let record = match prepared.record {
        None => return Kept::Line,
        Some(Err(err)) => return reject(out, line.number, err.to_string()),
        Some(Ok(record)) => record,
    };
    let name = format!("{}:{}", line.source.name, line.number);
    let applied = match (prepared.decoded, prepared.cleaned) {
        (Some(Err(err)), _) => Err(ApplyError::Decode(err.clone())),
        (Some(Ok(decoded)), Some(cleaned)) => apply::apply_cleaned(
            pipeline,
            &name,
            line.doc,
            &record.text,
            decoded.clone(),
            cleaned,
            prepared.decisions,
            prepared.keys,
        ),
        // Not prepared after all: clean it here.
        _ => apply::apply_record(pipeline, &name, line.doc, &record.text, prepared.decisions),
    };
    finish_record(pipeline, names, line, record, &name, applied, explain, out)
}

/// The texts of `records` decoded.
fn decode_records<'r>(
    records: &'r [Option<Result<jsonl::Record<'_>, RecordError>>],
) -> Vec<Option<Result<Decoded<'r>, DecodeError>>> {
    records
        .iter()
        .map(|record| match record {
            Some(Ok(record)) => Some(decode_str(&record.text)),
            _ => None,
        })
        .collect()
}

/// The record on a line; `None` for a blank line.
fn read_record<'a>(
    bytes: &'a [u8],
    fields: &Fields,
) -> Option<Result<jsonl::Record<'a>, RecordError>> {
    (!is_blank(bytes)).then(|| jsonl::parse(bytes, &fields.text, &fields.id))
}

/// Counts and reports a bad line.
fn reject(out: &mut ChunkOut, number: u64, message: String) -> Kept {
    out.records.rejected += 1;
    out.result.failures.push(Failure {
        line: Some(number as u32),
        message,
        internal: false,
    });
    Kept::Rejected
}

/// Counts, explains and splices back a record cleaned as `applied`.
#[allow(clippy::too_many_arguments)]
fn finish_record(
    pipeline: &Pipeline,
    names: &DocNames<'_>,
    line: &Line<'_>,
    record: &jsonl::Record<'_>,
    name: &str,
    applied: Result<apply::Applied<'_>, ApplyError>,
    explain: Explain,
    out: &mut ChunkOut,
) -> Kept {
    let number = line.number as u32;
    let applied = match applied {
        Ok(applied) => applied,
        Err(ApplyError::Decode(err)) => {
            return reject(out, line.number, format!("`{}`: {err}", line.fields.text))
        }
        Err(err @ ApplyError::NotIdempotent { .. }) => {
            out.result.failures.push(Failure {
                line: Some(number),
                message: err.to_string(),
                internal: true,
            });
            return Kept::Line;
        }
    };
    out.records.total += 1;
    out.result
        .add(names, line.doc, name, record.id.as_deref(), &applied);
    if !applied.changed {
        return Kept::Line;
    }
    out.records.changed += 1;
    match explain {
        Explain::Nothing => {}
        Explain::Check => {
            out.report
                .push_str(&diff::unified(&applied.original, &applied.text, name));
            out.result
                .changes
                .extend(applied.changes.listed().iter().cloned().map(|mut change| {
                    change.line = number;
                    change
                }));
        }
        Explain::Report => {
            out.result.review(number, applied.changes.listed());
            out.report
                .push_str(&diff::commented(&diff::explain_log(name, &applied.changes)));
            out.report
                .push_str(&diff::unified(&applied.original, &applied.text, name));
        }
    }
    let text = applied.output();
    if text.is_empty() && !applied.dropped.is_empty() {
        out.records.emptied += 1;
        if pipeline.config().output.empty_records == EmptyRecords::Drop {
            return Kept::Nothing;
        }
    }
    jsonl::splice(line.bytes, &record.span, text, &mut out.output);
    Kept::Spliced
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run::NoProgress;
    use std::sync::atomic::AtomicUsize;
    use std::sync::Mutex;
    use std::time::Duration;

    #[test]
    fn a_check_shows_the_first_records_diffs_up_to_the_cap() {
        let mut diff = CheckDiff::new(3 << 20);
        let chunk = "1".repeat(1 << 20);
        assert!(diff.add(&chunk, 2));
        assert!(diff.add(&chunk, 1));
        assert!(!diff.add(&"2".repeat(2 << 20), 4));
        // Once one chunk is left out, so is every later one: what is shown
        // stays the dump's first records, with no gap.
        assert!(!diff.add("2", 1));
        let text = diff.finish("in/a.jsonl");
        assert!(text.starts_with(&chunk.repeat(2)));
        assert!(!text.contains('2'));
        assert!(text.ends_with(
            "# in/a.jsonl: 5 more changed records not shown: a check keeps the first 3 MiB \
             of a dump's diff (`scour run` writes every record's diff to diffs/)\n"
        ));
        let mut whole = CheckDiff::new(3 << 20);
        assert!(whole.add("x", 1));
        assert_eq!(whole.finish("in/a.jsonl"), "x");
        // A first chunk over the cap (one huge record) is still shown.
        let mut huge = CheckDiff::new(1 << 20);
        assert!(huge.add(&chunk.repeat(2), 1));
        assert!(!huge.add("2", 1));
        assert!(huge.finish("in/a.jsonl").starts_with(&chunk.repeat(2)));
    }

    /// The numbers from 0 to `lines` − 1, one a line.
    fn numbered(lines: usize) -> Vec<u8> {
        let mut text = Vec::new();
        for i in 0..lines {
            writeln!(text, "{i}").unwrap();
        }
        text
    }

    /// A dump of `lines` numbered lines read in chunks of about `chunk_bytes`.
    fn opened(lines: usize, chunk_bytes: usize) -> Opened {
        let input: Box<dyn Read + Send> = Box::new(io::Cursor::new(numbered(lines)));
        Opened {
            chunks: ChunkReader::new(input, chunk_bytes, 1 << 20),
            read: None,
            reported: 0,
        }
    }

    fn pool(threads: usize) -> rayon::ThreadPool {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
    }

    #[test]
    fn chunks_merge_in_line_order_with_a_bounded_number_in_flight() {
        for threads in [1, 2, 4] {
            let mut opened = opened(500, 6);
            let in_flight = AtomicUsize::new(0);
            let most = AtomicUsize::new(0);
            // Chunks finish out of order: some take much longer than others.
            let work = |_: u64, chunk: &Chunk| {
                let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(now, Ordering::SeqCst);
                if chunk.first_line % 7 == 1 {
                    std::thread::sleep(Duration::from_millis(3));
                }
                chunk.lines().map(|(line, _, _)| line).collect::<Vec<u64>>()
            };
            let mut merged = Vec::new();
            let ended = stream_chunks(
                &mut opened,
                &pool(threads),
                &NoProgress,
                None,
                &work,
                &mut |lines| {
                    in_flight.fetch_sub(1, Ordering::SeqCst);
                    merged.extend(lines);
                },
            );
            assert!(ended.is_none());
            assert_eq!(merged, (1..=500).collect::<Vec<u64>>(), "{threads} threads");
            let most = most.load(Ordering::SeqCst);
            assert!(
                most <= CHUNKS_PER_THREAD * threads,
                "{most} chunks in flight with {threads} threads"
            );
        }
    }

    /// Sums the bytes progress is told of.
    #[derive(Default)]
    struct Tally(AtomicU64);

    impl Progress for Tally {
        fn advance(&self, bytes: u64) {
            self.0.fetch_add(bytes, Ordering::SeqCst);
        }
    }

    #[test]
    fn progress_counts_every_byte_of_the_file_plain_or_compressed() {
        let dir = tempfile::tempdir().unwrap();
        let lines = numbered(20_000);
        let pipeline = Pipeline::new(crate::config::Config::default());
        for (name, bytes) in [
            ("a.jsonl", lines.clone()),
            (
                "a.jsonl.zst",
                jsonl::compress(lines.clone(), Compression::Zstd).unwrap(),
            ),
        ] {
            let path = dir.path().join(name);
            std::fs::write(&path, &bytes).unwrap();
            let source = Source {
                path,
                name: name.to_owned(),
                output: PathBuf::from(name),
            };
            let mut opened = open(&pipeline, &source).unwrap();
            let tally = Tally::default();
            let mut chunks = 0;
            let ended = stream_chunks(&mut opened, &pool(2), &tally, None, &|_, _| (), &mut |()| {
                chunks += 1;
            });
            assert!(ended.is_none());
            assert!(chunks > 0);
            assert_eq!(tally.0.into_inner(), bytes.len() as u64, "{name}");
        }
    }

    #[test]
    fn a_read_error_ends_the_stream_after_the_lines_before_it() {
        struct Broken(io::Cursor<Vec<u8>>);
        impl Read for Broken {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                match self.0.read(buf)? {
                    0 => Err(io::Error::new(io::ErrorKind::InvalidData, "truncated")),
                    n => Ok(n),
                }
            }
        }
        let input: Box<dyn Read + Send> = Box::new(Broken(io::Cursor::new(numbered(100))));
        let mut opened = Opened {
            chunks: ChunkReader::new(input, 10, 1 << 20),
            read: None,
            reported: 0,
        };
        let mut merged = Vec::new();
        let work =
            |_: u64, chunk: &Chunk| chunk.lines().map(|(line, _, _)| line).collect::<Vec<u64>>();
        let ended = stream_chunks(
            &mut opened,
            &pool(2),
            &NoProgress,
            None,
            &work,
            &mut |lines| {
                merged.extend(lines);
            },
        );
        let failure = ended.expect("the stream broke off");
        assert_eq!(failure.line, Some(101));
        assert!(failure.message.contains("truncated"), "{}", failure.message);
        assert_eq!(merged, (1..=100).collect::<Vec<u64>>());
    }

    #[test]
    fn turns_come_in_read_order_whatever_order_chunks_are_ready_in() {
        let decider = Mutex::new(ExactDecider::default());
        let turns = Turns::new(&decider);
        let order = Mutex::new(Vec::new());
        std::thread::scope(|scope| {
            // The last chunk is ready first, the first one last.
            for at in (0..6u64).rev() {
                let (turns, order) = (&turns, &order);
                scope.spawn(move || turns.take(at, |_| order.lock().unwrap().push(at)));
                std::thread::sleep(Duration::from_millis(5));
            }
        });
        assert_eq!(*order.lock().unwrap(), (0..6).collect::<Vec<u64>>());
    }

    #[test]
    fn a_worker_unwinding_before_its_turn_frees_the_ones_waiting_for_it() {
        let (done, finished) = mpsc::channel();
        std::thread::spawn(move || {
            let decider = Mutex::new(ExactDecider::default());
            let turns = Turns::new(&decider);
            let waiter_unwound = std::thread::scope(|scope| {
                let waiter = scope.spawn(|| turns.take(1, |_| ()));
                std::thread::sleep(Duration::from_millis(20));
                let _ = scope
                    .spawn(|| {
                        let _abandon = AbandonOnPanic(&turns);
                        panic!("a bug in a stage");
                    })
                    .join();
                waiter.join().is_err()
            });
            let _ = done.send(waiter_unwound);
        });
        let waiter_unwound = finished
            .recv_timeout(Duration::from_secs(60))
            .expect("a worker waited forever for a turn that would never come");
        assert!(waiter_unwound);
    }

    #[test]
    fn a_panicking_worker_surfaces_instead_of_hanging_the_run() {
        let (done, finished) = mpsc::channel();
        std::thread::spawn(move || {
            let outcome = std::panic::catch_unwind(|| {
                let mut opened = opened(300, 6);
                let work = |_: u64, chunk: &Chunk| {
                    assert!(chunk.first_line < 100, "a bug in a stage");
                };
                let merged = Mutex::new(0);
                stream_chunks(&mut opened, &pool(2), &NoProgress, None, &work, &mut |()| {
                    *merged.lock().unwrap() += 1;
                })
            });
            let _ = done.send(outcome.is_err());
        });
        let panicked = finished
            .recv_timeout(Duration::from_secs(60))
            .expect("the run hung after a worker panicked");
        assert!(panicked);
    }
}
