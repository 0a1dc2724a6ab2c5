//! Reading the two sides of a comparison and pairing their documents:
//! two files, two folders (files paired by relative path) or two JSONL
//! dumps (records paired by id).
//!
//! A dump is read without holding its text: a first pass keeps each old
//! record's key and a hash of its text, a pass over the new dump keeps only
//! the records that differ, and a second pass over the old dump fetches the
//! old text of just those. Memory grows with the number of records and the
//! size of the differences, not with the size of the dumps.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use super::{Comparison, DocDiff, InputError, Origin};
use crate::config::{Config, SegmentMode, StageConfig};
use crate::document::{decode, DecodeError};
use crate::formats::jsonl::{self, ChunkReader, Compression, FieldPath, Record};
use crate::formats::Format;
use crate::input::{discover, Filter};
use crate::stages::dedup::first_128_bits;

/// Dumps are read in chunks of this many bytes of whole lines.
const CHUNK_BYTES: usize = 4 << 20;

/// What a comparison takes from the config.
#[derive(Debug, Clone)]
pub struct CompareOptions {
    /// The segment stage's mode (`auto` when the config has no segment stage:
    /// a comparison without blocks would be a comparison of whole texts).
    pub segment: SegmentMode,
    pub text_field: FieldPath,
    pub id_field: FieldPath,
    pub max_decompressed_bytes: u64,
    pub max_record_bytes: u64,
}

impl CompareOptions {
    pub fn new(config: &Config) -> CompareOptions {
        let segment = config
            .stages
            .iter()
            .find_map(|stage| match stage {
                StageConfig::Segment(c) => Some(c.mode),
                _ => None,
            })
            .unwrap_or_default();
        CompareOptions {
            segment,
            text_field: FieldPath::new(&config.input.text_field),
            id_field: FieldPath::new(&config.input.id_field),
            max_decompressed_bytes: config.input.max_decompressed_bytes,
            max_record_bytes: config.input.max_record_bytes,
        }
    }
}

impl Default for CompareOptions {
    fn default() -> Self {
        CompareOptions::new(&Config::default())
    }
}

/// Why a comparison could not start at all.
#[derive(Debug, thiserror::Error)]
pub enum DiffError {
    #[error("{path}: cannot read: {reason}")]
    Unreadable {
        path: String,
        reason: std::io::Error,
    },
    #[error("cannot compare {old} ({old_kind}) with {new} ({new_kind}): give two files, two folders or two dumps")]
    Mismatch {
        old: String,
        new: String,
        old_kind: &'static str,
        new_kind: &'static str,
    },
}

fn display(path: &Path) -> String {
    let text = path.to_string_lossy();
    text.strip_prefix("./").unwrap_or(&text).replace('\\', "/")
}

/// A file on one side: where to read it and how to name it.
#[derive(Debug, Clone)]
struct File {
    path: PathBuf,
    name: String,
}

impl File {
    fn origin(&self, line: Option<u64>) -> Origin {
        Origin {
            path: self.name.clone(),
            line,
        }
    }
}

/// Two files to compare (one may be missing), and their relative path
/// when they come from folders.
#[derive(Debug)]
struct Pair {
    old: Option<File>,
    new: Option<File>,
    name: Option<String>,
}

/// What comparing one pair found.
#[derive(Debug, Default)]
struct Found {
    documents: Vec<DocDiff>,
    unchanged: u64,
    errors: Vec<InputError>,
}

/// Compares `old` with `new`: two files (text or JSONL), or two folders
/// walked like `scour run` walks them (`filter`, ignore files when
/// `respect_ignore`). Work is spread over the current rayon pool.
pub fn compare_paths(
    old: &Path,
    new: &Path,
    options: &CompareOptions,
    filter: &Filter,
    respect_ignore: bool,
) -> Result<Comparison, DiffError> {
    let kind = |path: &Path| -> Result<&'static str, DiffError> {
        let metadata = std::fs::metadata(path).map_err(|reason| DiffError::Unreadable {
            path: display(path),
            reason,
        })?;
        Ok(if metadata.is_dir() {
            "folder"
        } else if matches!(Format::of(path), Format::Jsonl(_)) {
            "JSONL dump"
        } else {
            "text file"
        })
    };
    let (old_kind, new_kind) = (kind(old)?, kind(new)?);
    if old_kind != new_kind {
        return Err(DiffError::Mismatch {
            old: display(old),
            new: display(new),
            old_kind,
            new_kind,
        });
    }
    let mut comparison = Comparison {
        old: display(old),
        new: display(new),
        ..Comparison::default()
    };
    let pairs = if old_kind == "folder" {
        pair_folders(old, new, filter, respect_ignore, &mut comparison.errors)
    } else {
        let file = |path: &Path| File {
            path: path.to_path_buf(),
            name: display(path),
        };
        vec![Pair {
            old: Some(file(old)),
            new: Some(file(new)),
            name: None,
        }]
    };
    let found: Vec<Found> = pairs
        .par_iter()
        .map(|pair| compare_pair(pair, options))
        .collect();
    for found in found {
        comparison.documents.extend(found.documents);
        comparison.unchanged += found.unchanged;
        comparison.errors.extend(found.errors);
    }
    Ok(comparison)
}

/// The files of both folders, paired by relative path, in bytewise order.
fn pair_folders(
    old: &Path,
    new: &Path,
    filter: &Filter,
    respect_ignore: bool,
    errors: &mut Vec<InputError>,
) -> Vec<Pair> {
    let mut by_name: BTreeMap<String, Pair> = BTreeMap::new();
    for (root, is_old) in [(old, true), (new, false)] {
        let inputs = discover(&[root.to_path_buf()], filter, None, respect_ignore);
        errors.extend(inputs.errors.into_iter().map(|skipped| InputError {
            path: skipped.path,
            line: None,
            message: skipped.message,
        }));
        for source in inputs.sources {
            let name = display(&source.output);
            let file = File {
                path: source.path,
                name: source.name,
            };
            let pair = by_name.entry(name.clone()).or_insert_with(|| Pair {
                old: None,
                new: None,
                name: Some(name),
            });
            if is_old {
                pair.old = Some(file);
            } else {
                pair.new = Some(file);
            }
        }
    }
    by_name.into_values().collect()
}

/// A document to align: each side's origin and text (absent on the side
/// where it does not exist).
struct Job {
    old: Option<(Origin, String)>,
    new: Option<(Origin, String)>,
    name: Option<String>,
    id: Option<String>,
}

impl Job {
    fn run(self, mode: SegmentMode) -> DocDiff {
        let mut doc = DocDiff::from_texts(self.old, self.new, mode, self.id);
        doc.name = self.name;
        doc
    }
}

fn compare_pair(pair: &Pair, options: &CompareOptions) -> Found {
    let is_dump = [&pair.old, &pair.new]
        .into_iter()
        .flatten()
        .any(|f| matches!(Format::of(&f.path), Format::Jsonl(_)));
    if is_dump {
        return compare_dumps(pair, options);
    }
    let mut found = Found::default();
    let mut read = |file: &Option<File>| -> Result<Option<(Origin, String)>, ()> {
        let Some(file) = file else { return Ok(None) };
        match read_text(file) {
            Ok(text) => Ok(Some((file.origin(None), text))),
            Err(err) => {
                found.errors.push(err);
                Err(())
            }
        }
    };
    let (Ok(old), Ok(new)) = (read(&pair.old), read(&pair.new)) else {
        return found;
    };
    if let (Some((_, a)), Some((_, b))) = (&old, &new) {
        if a == b {
            found.unchanged += 1;
            return found;
        }
    }
    let job = Job {
        old,
        new,
        name: pair.name.clone(),
        id: None,
    };
    found.documents.push(job.run(options.segment));
    found
}

fn decode_message(err: &DecodeError) -> String {
    match err {
        DecodeError::InvalidUtf8 { column, byte, .. } => {
            format!("invalid UTF-8 (byte 0x{byte:02x} at column {column})")
        }
        DecodeError::Binary { .. } => "binary file (NUL byte)".to_owned(),
    }
}

/// A text file, decoded: BOM dropped, line endings made LF.
fn read_text(file: &File) -> Result<String, InputError> {
    let bytes = std::fs::read(&file.path).map_err(|err| InputError {
        path: file.name.clone(),
        line: None,
        message: format!("cannot read: {err}"),
    })?;
    match decode(&bytes) {
        Ok(decoded) => Ok(decoded.text.into_owned()),
        Err(err) => Err(InputError {
            path: file.name.clone(),
            line: Some(u64::from(err.line())),
            message: decode_message(&err),
        }),
    }
}

/// How records are paired: by id (the n-th record with an id pairs with
/// the n-th with that id on the other side), by line when there is none.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum RecordKey {
    Id(String, u32),
    Line(u64),
}

impl RecordKey {
    fn id(&self) -> Option<String> {
        match self {
            RecordKey::Id(id, _) => Some(id.clone()),
            RecordKey::Line(_) => None,
        }
    }
}

/// Numbers repeated ids as they come.
#[derive(Default)]
struct Keyer(HashMap<String, u32>);

impl Keyer {
    fn key(&mut self, record: &Record<'_>, line: u64) -> RecordKey {
        match &record.id {
            Some(id) => {
                let seen = self.0.entry(id.to_string()).or_default();
                *seen += 1;
                RecordKey::Id(id.to_string(), *seen)
            }
            None => RecordKey::Line(line),
        }
    }
}

/// Calls `visit` with each record of a dump: its line, key and decoded text
/// (or why the text could not be decoded). Returns the lines that are not
/// records, and a read error that ended the file early.
fn read_dump(
    file: &File,
    options: &CompareOptions,
    mut visit: impl FnMut(u64, RecordKey, Result<String, InputError>),
) -> Vec<InputError> {
    let mut errors = Vec::new();
    let error = |line: Option<u64>, message: String| InputError {
        path: file.name.clone(),
        line,
        message,
    };
    let compression = match Format::of(&file.path) {
        Format::Jsonl(c) => c,
        Format::Text => Compression::None,
    };
    let reader = std::fs::File::open(&file.path)
        .and_then(|f| jsonl::reader(f, compression, options.max_decompressed_bytes));
    let reader = match reader {
        Ok(reader) => reader,
        Err(err) => {
            errors.push(error(None, format!("cannot read: {err}")));
            return errors;
        }
    };
    let mut chunks = ChunkReader::new(reader, CHUNK_BYTES, options.max_record_bytes);
    let mut keyer = Keyer::default();
    loop {
        match chunks.next_chunk(&mut |_| {}) {
            Ok(None) => break,
            Ok(Some(chunk)) => {
                for &line in &chunk.too_long {
                    errors.push(error(
                        Some(line),
                        format!(
                            "record longer than {} bytes (input.max-record-bytes)",
                            options.max_record_bytes
                        ),
                    ));
                }
                for (line, body, _) in chunk.lines() {
                    if body.iter().all(u8::is_ascii_whitespace) {
                        continue;
                    }
                    match jsonl::parse(body, &options.text_field, &options.id_field) {
                        Ok(record) => {
                            let key = keyer.key(&record, line);
                            let text = match decode(record.text.as_bytes()) {
                                Ok(decoded) => Ok(decoded.text.into_owned()),
                                Err(err) => Err(error(
                                    Some(line),
                                    format!("text: {}", decode_message(&err)),
                                )),
                            };
                            visit(line, key, text);
                        }
                        Err(err) => errors.push(error(Some(line), err.to_string())),
                    }
                }
            }
            Err((line, err)) => {
                errors.push(error(Some(line), err.to_string()));
                break;
            }
        }
    }
    errors
}

fn text_hash(text: &str) -> u128 {
    first_128_bits(&blake3::hash(text.as_bytes()))
}

/// An old record, by key: kept as a hash until its text is wanted.
struct OldRecord {
    key: RecordKey,
    line: u64,
    hash: u128,
    paired: bool,
    text: Option<String>,
}

/// A new record that differs from its old one (or has none).
struct NewRecord {
    line: u64,
    key: RecordKey,
    text: String,
    old: Option<usize>,
}

/// Records of two dumps (either may be missing), paired by key.
fn compare_dumps(pair: &Pair, options: &CompareOptions) -> Found {
    let mut found = Found::default();
    // Keys with a record that could not be read on either side: neither
    // compared nor reported as added or removed.
    let mut failed: HashSet<RecordKey> = HashSet::new();
    let mut olds: Vec<OldRecord> = Vec::new();
    if let Some(file) = &pair.old {
        let errors = read_dump(file, options, |line, key, text| match text {
            Ok(text) => olds.push(OldRecord {
                key,
                line,
                hash: text_hash(&text),
                paired: false,
                text: None,
            }),
            Err(err) => {
                found.errors.push(err);
                failed.insert(key);
            }
        });
        found.errors.extend(errors);
    }
    let index: HashMap<RecordKey, usize> = olds
        .iter()
        .enumerate()
        .map(|(i, r)| (r.key.clone(), i))
        .collect();

    let mut news: Vec<NewRecord> = Vec::new();
    if let Some(file) = &pair.new {
        let errors = read_dump(file, options, |line, key, text| {
            let old = index.get(&key).copied();
            if let Some(i) = old {
                olds[i].paired = true;
            }
            match text {
                Ok(_) if failed.contains(&key) => {}
                Ok(text) => match old {
                    Some(i) if olds[i].hash == text_hash(&text) => found.unchanged += 1,
                    _ => news.push(NewRecord {
                        line,
                        key,
                        text,
                        old,
                    }),
                },
                Err(err) => found.errors.push(err),
            }
        });
        found.errors.extend(errors);
    }

    // Second pass over the old dump, for the texts that are needed.
    let mut wanted: HashSet<usize> = news.iter().filter_map(|n| n.old).collect();
    wanted.extend((0..olds.len()).filter(|&i| !olds[i].paired));
    if let (Some(file), false) = (&pair.old, wanted.is_empty()) {
        // Its errors were reported by the first pass.
        let _ = read_dump(file, options, |_, key, text| {
            if let (Some(&i), Ok(text)) = (index.get(&key), text) {
                if wanted.contains(&i) {
                    olds[i].text = Some(text);
                }
            }
        });
    }
    let jobs = dump_jobs(pair, olds, news, &mut found.errors);
    found.documents = jobs
        .into_par_iter()
        .map(|job| job.run(options.segment))
        .collect();
    found
}

/// The records to align: the new ones that differ, in the new dump's order,
/// then the old ones without a partner, in the old dump's order.
fn dump_jobs(
    pair: &Pair,
    mut olds: Vec<OldRecord>,
    news: Vec<NewRecord>,
    errors: &mut Vec<InputError>,
) -> Vec<Job> {
    let unpaired: Vec<(usize, Option<String>)> = (0..olds.len())
        .filter(|&i| !olds[i].paired)
        .map(|i| (i, olds[i].key.id()))
        .collect();
    let mut jobs = Vec::with_capacity(news.len() + unpaired.len());
    // The old half of a job: record `i`'s origin and text.
    let mut old_half = |i: usize, errors: &mut Vec<InputError>| -> Option<(Origin, String)> {
        let file = pair.old.as_ref()?;
        let record = &mut olds[i];
        let Some(text) = record.text.take() else {
            errors.push(InputError {
                path: file.name.clone(),
                line: Some(record.line),
                message: "changed while being compared".to_owned(),
            });
            return None;
        };
        Some((file.origin(Some(record.line)), text))
    };
    if let Some(new_file) = &pair.new {
        for record in news {
            let old = match record.old {
                Some(i) => match old_half(i, errors) {
                    None => continue,
                    half => half,
                },
                None => None,
            };
            jobs.push(Job {
                old,
                new: Some((new_file.origin(Some(record.line)), record.text)),
                name: pair.name.clone(),
                id: record.key.id(),
            });
        }
    }
    for (i, id) in unpaired {
        if let Some(half) = old_half(i, errors) {
            jobs.push(Job {
                old: Some(half),
                new: None,
                name: pair.name.clone(),
                id,
            });
        }
    }
    jobs
}
