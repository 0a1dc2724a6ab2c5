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

use std::fs::File;
use std::io::{self, BufRead, Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, SyncSender};
use std::sync::Arc;

use crate::config::EmptyRecords;
use crate::diff;
use crate::document::decode_str;
use crate::formats::jsonl::{self, Chunk, ChunkReader, Compression, FieldPath, RecordError};
use crate::formats::Format;
use crate::input::Source;
use crate::phases::apply::{self, ApplyError};
use crate::phases::decide::DecisionTable;
use crate::pipeline::{DocKeys, Pipeline};
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
    chunks: ChunkReader<Box<dyn BufRead + Send>>,
    read: Arc<AtomicU64>,
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
    let read = Arc::new(AtomicU64::new(0));
    let counting = Counting {
        inner: file,
        count: Arc::clone(&read),
    };
    let reader = jsonl::reader(counting, compression(source), input.max_decompressed_bytes)?;
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
    work: &(dyn Fn(&Chunk) -> T + Sync),
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
        let read = &*read;
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
                        let done = work(&chunk);
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
    chunks: &mut ChunkReader<Box<dyn BufRead + Send>>,
    read: &AtomicU64,
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
                let read = read.load(Ordering::Relaxed);
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
    let work = |chunk: &Chunk| -> Vec<(u64, T)> {
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
    /// The output lines, compressed as the dump is.
    output: Vec<u8>,
    /// Bad lines, byte for byte, each with its own line ending.
    rejected: Vec<u8>,
    /// For each changed record: its reasons as `#` lines, then its diff.
    report: String,
    result: FileResult,
    records: RecordCounts,
    /// Lines over `max-record-bytes` (set aside for `rejected/` by the reader).
    too_long: u64,
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

/// What becomes of one line in the output.
enum Kept {
    /// The line as it was.
    Line,
    /// The line with its text field replaced.
    Spliced(Vec<u8>),
    /// Nothing: an emptied record under `empty-records = "drop"`.
    Nothing,
    /// A bad line: to `rejected/` (or, in place, kept as it was).
    Rejected,
}

/// Apply phase for one dump: cleans every record, writes the output (and
/// `rejected/`, `diffs/`) and returns what happened.
#[allow(clippy::too_many_arguments)]
pub(crate) fn apply(
    pipeline: &Pipeline,
    names: &DocNames<'_>,
    source: &Source,
    index: &Indexed,
    decisions: &DecisionTable,
    pool: &rayon::ThreadPool,
    mode: &Mode,
    progress: &dyn Progress,
) -> FileResult {
    let Indexed {
        first_doc,
        lines,
        stamp: expected,
    } = *index;
    if stamp(&source.path).ok() != expected {
        return FileResult::failed(Failure {
            line: None,
            message: "changed while scour was reading it; run again".into(),
            internal: false,
        });
    }
    let mut opened = match open(pipeline, source) {
        Ok(opened) => opened,
        Err(err) => return FileResult::failed(Failure::io("cannot read", &err)),
    };
    let sinks = match Sinks::new(source, mode) {
        Ok(sinks) => std::cell::RefCell::new(sinks),
        Err(err) => return FileResult::failed(Failure::io("cannot write", &err)),
    };
    let keep_bad_lines = *mode == Mode::InPlace;
    let checking = *mode == Mode::Check;
    let explain = if checking {
        Explain::Check
    } else if sinks.borrow().diffs_path.is_some() {
        Explain::Report
    } else {
        Explain::Nothing
    };
    let diff_full = std::sync::atomic::AtomicBool::new(false);
    let context = ApplyContext {
        pipeline,
        names,
        source,
        fields: Fields::of(pipeline),
        first_doc,
        lines,
        decisions,
        compression: compression(source),
        keep_bad_lines,
        checking,
        explain,
        diff_full: &diff_full,
    };
    let work = |chunk: &Chunk| context.chunk(chunk);
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
    let mut check_diff = CheckDiff::new(CHECK_DIFF_BYTES);
    let mut merge = |mut out: ChunkOut| {
        too_long.set(too_long.get() + out.too_long);
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
    result
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
    decisions: &'a DecisionTable,
    compression: Compression,
    keep_bad_lines: bool,
    checking: bool,
    explain: Explain,
    /// Set once a check's diff of this dump is full: later chunks, whose
    /// diffs would not be shown, skip making them.
    diff_full: &'a std::sync::atomic::AtomicBool,
}

impl ApplyContext<'_> {
    /// Cleans the records of one chunk and compresses its output lines.
    fn chunk(&self, chunk: &Chunk) -> ChunkOut {
        let mut out = ChunkOut::default();
        // Chunks are merged in order, so one that starts after the flag is
        // set comes after the chunk that filled the diff: not shown either.
        let explain = match self.explain {
            Explain::Check if self.diff_full.load(Ordering::Relaxed) => Explain::Nothing,
            explain => explain,
        };
        let mut plain = Vec::with_capacity(chunk.bytes.len());
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
        for (line, bytes, ending) in chunk.lines() {
            reject_too_long(&mut out, line);
            let doc = self.first_doc + line as u32 - 1;
            // Past the lines the index phase saw, the numbers belong to the
            // next file: such a line gets no decisions (and the run reports
            // the file as changed while read).
            let decisions = if line as u32 <= self.lines {
                self.decisions.doc(doc as usize)
            } else {
                &[]
            };
            let record = Line {
                source: self.source,
                fields: &self.fields,
                number: line,
                bytes,
                doc,
            };
            let kept = apply_record(
                self.pipeline,
                self.names,
                &record,
                decisions,
                explain,
                &mut out,
            );
            let line_bytes = match &kept {
                Kept::Line => Some(bytes),
                Kept::Spliced(new) => Some(new.as_slice()),
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
                plain.extend_from_slice(line_bytes);
                plain.extend_from_slice(ending);
            }
        }
        reject_too_long(&mut out, u64::MAX);
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
    decisions: &[crate::phases::decide::Decision],
    explain: Explain,
    out: &mut ChunkOut,
) -> Kept {
    if is_blank(line.bytes) {
        return Kept::Line;
    }
    let number = line.number as u32;
    let mut reject = |message: String| {
        out.records.rejected += 1;
        out.result.failures.push(Failure {
            line: Some(number),
            message,
            internal: false,
        });
        Kept::Rejected
    };
    let record = match jsonl::parse(line.bytes, &line.fields.text, &line.fields.id) {
        Ok(record) => record,
        Err(err) => return reject(err.to_string()),
    };
    let name = format!("{}:{}", line.source.name, line.number);
    let applied = match apply::apply_record(pipeline, &name, line.doc, &record.text, decisions) {
        Ok(applied) => applied,
        Err(ApplyError::Decode(err)) => return reject(format!("`{}`: {err}", line.fields.text)),
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
        .add(names, line.doc, &name, record.id.as_deref(), &applied);
    if !applied.changed {
        return Kept::Line;
    }
    out.records.changed += 1;
    match explain {
        Explain::Nothing => {}
        Explain::Check => {
            out.report
                .push_str(&diff::unified(&applied.original, &applied.text, &name));
            out.result
                .changes
                .extend(applied.changes.listed().iter().cloned().map(|mut change| {
                    change.line = number;
                    change
                }));
        }
        Explain::Report => {
            out.result.review(number, applied.changes.listed());
            out.report.push_str(&diff::commented(&diff::explain_log(
                &name,
                &applied.changes,
            )));
            out.report
                .push_str(&diff::unified(&applied.original, &applied.text, &name));
        }
    }
    let text = applied.output();
    if text.is_empty() && !applied.dropped.is_empty() {
        out.records.emptied += 1;
        if pipeline.config().output.empty_records == EmptyRecords::Drop {
            return Kept::Nothing;
        }
    }
    let mut spliced = Vec::with_capacity(line.bytes.len() + 16);
    jsonl::splice(line.bytes, &record.span, text, &mut spliced);
    Kept::Spliced(spliced)
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
        let input: Box<dyn BufRead + Send> = Box::new(io::Cursor::new(numbered(lines)));
        Opened {
            chunks: ChunkReader::new(input, chunk_bytes, 1 << 20),
            read: Arc::new(AtomicU64::new(0)),
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
            let work = |chunk: &Chunk| {
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
        let input: Box<dyn BufRead + Send> = Box::new(io::BufReader::with_capacity(
            7,
            Broken(io::Cursor::new(numbered(100))),
        ));
        let mut opened = Opened {
            chunks: ChunkReader::new(input, 10, 1 << 20),
            read: Arc::new(AtomicU64::new(0)),
            reported: 0,
        };
        let mut merged = Vec::new();
        let work = |chunk: &Chunk| chunk.lines().map(|(line, _, _)| line).collect::<Vec<u64>>();
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
    fn a_panicking_worker_surfaces_instead_of_hanging_the_run() {
        let (done, finished) = mpsc::channel();
        std::thread::spawn(move || {
            let outcome = std::panic::catch_unwind(|| {
                let mut opened = opened(300, 6);
                let work = |chunk: &Chunk| {
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
