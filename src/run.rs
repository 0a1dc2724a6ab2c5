//! A whole run: sources → index → decide → apply → written files and a
//! [`Summary`]. `run`, `check` and `--in-place` are three [`Mode`]s of this
//! one code path; they differ only in what happens to the bytes the apply
//! phase returns.
//!
//! Text files are worked on in parallel, one file per task; a JSONL dump is
//! read in line-aligned chunks worked on in parallel ([`crate::dump`]), so
//! one large file uses every core. Documents are numbered in input order
//! (files by path, records by line) and all results are gathered in that
//! order, so the thread count never changes a byte of output.
//!
//! The engine does I/O on the output folder (atomic writes) but never prints
//! and never exits: outcomes come back as values for the CLI to render.

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use rayon::prelude::*;

use crate::config::NORMALIZATION_VERSION;
use crate::diff;
use crate::document::Change;
use crate::dump;
use crate::formats::Format;
use crate::input::{Inputs, Source};
use crate::phases::apply::{apply_document, Applied, ApplyError, DedupBlock};
use crate::phases::decide::{Decided, DecisionTable, ExactDecider, NearCluster};
use crate::phases::index::{content_hash, index_document, RunIndex};
use crate::pipeline::{DocKeys, Pipeline};
use crate::report::{
    preview, DedupRecord, ErrorKind, ErrorRecord, FileReport, NearClusterRecord, NearMemberRecord,
    RecordCounts, Summary,
};
use crate::variants::VariantTable;
use crate::write::{in_place_target, write_atomic, AtomicFile};

/// What a run does with the cleaned bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    /// Write cleaned files (and reports) under `dir`.
    Write { dir: PathBuf, reports: bool },
    /// Write nothing; keep a diff of every document that would change.
    Check,
    /// Rewrite each changed input file where it is (the fix mode of
    /// `check`); unchanged files are not touched, no reports are written.
    InPlace,
}

/// Receives progress; the CLI draws it, tests ignore it.
pub trait Progress: Sync {
    fn phase(&self, _name: &'static str, _total_bytes: u64) {}
    fn advance(&self, _bytes: u64) {}
}

/// Progress nobody watches.
pub struct NoProgress;
impl Progress for NoProgress {}

/// What happened to one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Unchanged,
    Changed,
    /// Bad input (the whole file, or some of its records): reported.
    Failed,
    /// scour's own bug caught by the idempotence check: not written.
    Internal,
}

/// One file's outcome, as the CLI needs it.
#[derive(Debug, Clone)]
pub struct DocOutcome {
    pub name: String,
    pub status: Status,
    /// Unified diff raw → cleaned; kept in check mode only.
    pub diff: String,
    /// Changes with their rule: in check mode all that each document's
    /// [`ChangeLog`](crate::document::ChangeLog) lists (every drop, and the
    /// first [`LISTED_PER_RULE`](crate::document::LISTED_PER_RULE) of each
    /// other rule), the first [`REVIEW_CHANGES`] when writing with reports,
    /// none otherwise. For a dump the line is the record's line in the file.
    pub changes: Vec<Change>,
    /// How many changes were made in all (`changes` may hold the first only).
    pub change_count: u64,
}

impl DocOutcome {
    /// Changes made but not in `changes`.
    pub fn unlisted_changes(&self) -> u64 {
        self.change_count.saturating_sub(self.changes.len() as u64)
    }
}

#[derive(Debug)]
pub struct RunOutcome {
    pub summary: Summary,
    pub documents: Vec<DocOutcome>,
    /// Paths that could not be found or walked.
    pub discovery_errors: usize,
}

impl RunOutcome {
    /// Whether some input could not be read or cleaned.
    pub fn input_errors(&self) -> bool {
        self.discovery_errors > 0 || self.documents.iter().any(|d| d.status == Status::Failed)
    }

    pub fn internal_errors(&self) -> bool {
        self.documents.iter().any(|d| d.status == Status::Internal)
    }

    pub fn changed(&self) -> usize {
        self.documents
            .iter()
            .filter(|d| d.status == Status::Changed)
            .count()
    }
}

/// A failure the run itself cannot get past (the output folder cannot be made).
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("{path}: {source}")]
    Output {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot start worker threads: {0}")]
    Threads(#[from] rayon::ThreadPoolBuildError),
    /// The near-duplicate sketches could not be kept in temporary files.
    #[error("near duplicates: cannot use temporary files (set TMPDIR to a folder with room): {0}")]
    Scratch(std::io::Error),
}

/// Why a document, a record or a file was not cleaned.
#[derive(Debug, Clone)]
pub(crate) struct Failure {
    pub line: Option<u32>,
    pub message: String,
    pub internal: bool,
}

impl Failure {
    pub fn io(what: &str, err: &std::io::Error) -> Failure {
        Failure {
            line: None,
            message: format!("{what}: {err}"),
            internal: false,
        }
    }
}

/// Everything the apply phase learned about one file, ready for the summary.
#[derive(Debug, Default)]
pub(crate) struct FileResult {
    pub changed: bool,
    pub diff: String,
    pub changes: Vec<Change>,
    pub rules: BTreeMap<&'static str, u64>,
    pub blocks: u64,
    pub documents: u64,
    pub changed_documents: u64,
    /// Blocks dropped and marked, counted always and listed (with a
    /// preview, for the report) only when [`DocNames::itemize`] says so.
    pub dropped_blocks: u64,
    pub marked_blocks: u64,
    pub dropped: Vec<DedupRecord>,
    pub marked: Vec<DedupRecord>,
    pub failures: Vec<Failure>,
    /// Dumps only: record counts.
    pub records: Option<RecordCounts>,
    /// The text of near-duplicate cluster members: (document, line, text).
    pub near_texts: Vec<(u32, u32, String)>,
}

/// Changes kept per file for `report.html` when writing (a check keeps
/// them all): enough to review, bounded for a dump of millions of records.
pub(crate) const REVIEW_CHANGES: usize = 2_000;

impl FileResult {
    pub fn failed(failure: Failure) -> FileResult {
        FileResult {
            failures: vec![failure],
            documents: 1,
            ..FileResult::default()
        }
    }

    /// Keeps `changes` for the report page, with their line replaced by
    /// `line` when not 0 (a dump's record line), up to [`REVIEW_CHANGES`].
    pub fn review(&mut self, line: u32, changes: &[Change]) {
        let room = REVIEW_CHANGES.saturating_sub(self.changes.len());
        self.changes
            .extend(changes.iter().take(room).cloned().map(|mut change| {
                if line != 0 {
                    change.line = line;
                }
                change
            }));
    }

    /// Adds one cleaned document (a file, or a record of a dump named
    /// `name`, number `doc` in the run) to the counts.
    pub fn add(
        &mut self,
        names: &DocNames<'_>,
        doc: u32,
        name: &str,
        id: Option<&str>,
        applied: &Applied<'_>,
    ) {
        if let Some(lines) = names.near_lines.get(&doc) {
            let original: Vec<&str> = applied.original.split('\n').collect();
            for &line in lines {
                let at = (line as usize).saturating_sub(1);
                let text = original.get(at).copied().unwrap_or_default();
                self.near_texts.push((doc, line, preview(text.trim(), 200)));
            }
        }
        self.documents += 1;
        self.blocks += applied.blocks as u64;
        if applied.changed {
            self.changed_documents += 1;
        }
        for (rule, count) in applied.changes.counts() {
            *self.rules.entry(rule.as_str()).or_default() += count;
        }
        self.dropped_blocks += applied.dropped.len() as u64;
        self.marked_blocks += applied.marked.len() as u64;
        if !names.itemize {
            return;
        }
        let record = |block: &DedupBlock| DedupRecord {
            doc: name.to_owned(),
            id: id.map(str::to_owned),
            line: block.decision.line,
            rule: block.decision.kind.rule(),
            scope: block.decision.scope,
            kept_doc: names.name(block.decision.kept_doc),
            kept_line: block.decision.kept_line,
            text: preview(&block.text, 200),
        };
        self.dropped.extend(applied.dropped.iter().map(record));
        self.marked.extend(applied.marked.iter().map(record));
    }
}

/// Names of the documents of a run by index: a file's path, or for a
/// record `path:line`.
pub(crate) struct DocNames<'a> {
    sources: &'a [Source],
    /// Per document: its source and, for a record, its line (0 for a file).
    docs: Vec<(u32, u32)>,
    /// Lines of near-duplicate cluster members, by document: the apply
    /// phase quotes them for the report.
    near_lines: HashMap<u32, Vec<u32>>,
    /// Whether the summary lists each dropped and marked block: only a
    /// report (or `check`'s JSON) shows the list. Without one, a dump of
    /// millions of duplicates would hold a preview of each for a count.
    itemize: bool,
}

impl DocNames<'_> {
    pub fn name(&self, doc: u32) -> String {
        match self.docs.get(doc as usize) {
            Some(&(source, 0)) => self.sources[source as usize].name.clone(),
            Some(&(source, line)) => format!("{}:{line}", self.sources[source as usize].name),
            None => String::new(),
        }
    }
}

/// What the index phase kept of one source.
enum Indexed {
    /// A text file: its document number and a hash of its bytes.
    Text {
        doc: u32,
        content: u128,
    },
    /// A dump: where its records are numbered, and how it looked.
    Dump(dump::Indexed),
    Failed(Failure),
}

/// Consecutive text files, or one dump: the units the phases schedule.
fn groups(sources: &[Source]) -> Vec<std::ops::Range<usize>> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < sources.len() {
        let start = i;
        if Format::of(&sources[i].path) == Format::Text {
            while i < sources.len() && Format::of(&sources[i].path) == Format::Text {
                i += 1;
            }
        } else {
            i += 1;
        }
        out.push(start..i);
    }
    out
}

/// Runs the pipeline over `inputs` with `jobs` threads.
pub fn run(
    pipeline: &Pipeline,
    inputs: &Inputs,
    mode: &Mode,
    jobs: usize,
    progress: &dyn Progress,
) -> Result<RunOutcome, RunError> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(jobs.max(1))
        .build()?;
    if let Mode::Write { dir, reports } = mode {
        prepare_output(dir, *reports)?;
    }
    let sources = &inputs.sources;
    let total: u64 = sources
        .iter()
        .map(|s| std::fs::metadata(&s.path).map_or(0, |m| m.len()))
        .sum();

    let pipeline = &pipeline.clone().reporting(reporting(mode));
    let records = pipeline.for_records();
    let (mut results, names, clusters, variants) = if reads_once(pipeline, sources, mode) {
        progress.phase("clean", total);
        let names = DocNames {
            sources,
            docs: Vec::new(),
            near_lines: HashMap::new(),
            itemize: false,
        };
        let decider = Mutex::new(ExactDecider::default());
        let mut first_doc = 0u32;
        let results = sources
            .iter()
            .map(|source| {
                let dump = dump::Dump {
                    pipeline: &records,
                    names: &names,
                    source,
                    pool: &pool,
                    mode,
                    progress,
                };
                let (result, lines) = dump.clean_once(first_doc, &decider);
                first_doc = first_doc.saturating_add(lines);
                result
            })
            .collect();
        (results, names, Vec::new(), VariantTable::default())
    } else {
        progress.phase("index", total);
        let (indexed, names, decided, variants) =
            index_all(pipeline, &records, sources, mode, &pool, progress)?;
        progress.phase("apply", total);
        let results = apply_all(
            pipeline,
            &records,
            sources,
            indexed,
            &names,
            &decided.decisions,
            mode,
            &pool,
            progress,
        );
        (results, names, decided.clusters, variants)
    };
    let mut near_texts: HashMap<(u32, u32), String> = results
        .iter_mut()
        .flat_map(|r| std::mem::take(&mut r.near_texts))
        .map(|(doc, line, text)| ((doc, line), text))
        .collect();
    let mut outcome = summarize(sources, results, inputs);
    outcome.summary.near_duplicates = near_report(&names, clusters, &mut near_texts);
    if let Some(stage) = pipeline.names() {
        outcome.summary.names = variants.into_groups(sources, stage.given_first());
    }
    if let Mode::Write { dir, reports: true } = mode {
        let path = dir.join("summary.json");
        write_summary(dir, &path, &outcome.summary).map_err(|source| RunError::Output {
            path: path.display().to_string(),
            source,
        })?;
        let path = dir.join("report.html");
        write_atomic(dir, &path, crate::review::page(&outcome).as_bytes(), None).map_err(
            |source| RunError::Output {
                path: path.display().to_string(),
                source,
            },
        )?;
    }
    Ok(outcome)
}

/// Whether every source can be cleaned in one read, each dump's chunks
/// decided on in line order as they are cleaned (`dump::Dump::clean_once`)
/// instead of indexing the whole run first. It can when a record's
/// decisions depend only on the records before it: exact duplicates do,
/// near-duplicate clusters are found over the whole run, and a report
/// names and quotes documents across it. Text files take the two phases.
/// Decisions, and so the output, are the same either way.
fn reads_once(pipeline: &Pipeline, sources: &[Source], mode: &Mode) -> bool {
    !reporting(mode)
        && pipeline.dedup().is_none_or(|dedup| dedup.near.is_none())
        && !sources.is_empty()
        && sources
            .iter()
            .all(|source| Format::of(&source.path) != Format::Text)
}

/// Whether the run reports (summary.json, report.html, or the check
/// output): the names report and near-duplicate member texts are gathered
/// only then, since on a large dump they cost time and memory.
fn reporting(mode: &Mode) -> bool {
    matches!(mode, Mode::Write { reports: true, .. } | Mode::Check)
}

/// The index phase over every source, in input order: the keys go to the
/// decide phase, which runs here too, and the names mentioned to the names
/// report.
fn index_all<'a>(
    pipeline: &Pipeline,
    records: &Pipeline,
    sources: &'a [Source],
    mode: &Mode,
    pool: &rayon::ThreadPool,
    progress: &dyn Progress,
) -> Result<(Vec<Indexed>, DocNames<'a>, Decided, VariantTable), RunError> {
    let mut table = RunIndex::new(pipeline).map_err(RunError::Scratch)?;
    let mut variants = VariantTable::default();
    let mut names = DocNames {
        sources,
        docs: Vec::new(),
        near_lines: HashMap::new(),
        itemize: reporting(mode),
    };
    let mut indexed: Vec<Indexed> = Vec::with_capacity(sources.len());
    for group in groups(sources) {
        if Format::of(&sources[group.start].path) == Format::Text {
            let results: Vec<_> = pool.install(|| {
                sources[group.clone()]
                    .par_iter()
                    .map(|source| index_text(pipeline, source, mode, progress))
                    .collect()
            });
            let empty = DocKeys::default();
            for (i, result) in group.zip(results) {
                let keys = result.as_ref().map_or(&empty, |(keys, _)| keys);
                let doc = table.push(keys);
                names.docs.push((i as u32, 0));
                variants.add(i as u32, 0, &keys.names);
                indexed.push(match result {
                    Ok((_, content)) => Indexed::Text { doc, content },
                    Err(failure) => Indexed::Failed(failure),
                });
            }
        } else {
            let i = group.start;
            let first_doc = table.len() as u32;
            let result = dump::index(
                records,
                &sources[i],
                first_doc,
                pool,
                progress,
                &mut |line, keys| {
                    table.push(keys);
                    names.docs.push((i as u32, line));
                    variants.add(i as u32, line, &keys.names);
                },
            );
            indexed.push(match result {
                Ok(dump) => Indexed::Dump(dump),
                Err(failure) => Indexed::Failed(failure),
            });
        }
    }
    // On the run's pool: the decide phase sorts in parallel where the
    // order cannot depend on it.
    let decided = pool
        .install(|| table.decide(pipeline))
        .map_err(RunError::Scratch)?;
    // Member texts only serve a report; a dump with many clusters would
    // otherwise hold them all for nothing.
    let quoted = if reporting(mode) {
        &decided.clusters[..]
    } else {
        &[]
    };
    for cluster in quoted {
        for member in &cluster.members {
            names
                .near_lines
                .entry(member.doc)
                .or_default()
                .push(member.line);
        }
    }
    Ok((indexed, names, decided, variants))
}

/// The clusters as `summary.json` shows them: documents by name, numbered
/// from 1.
fn near_report(
    names: &DocNames<'_>,
    clusters: Vec<NearCluster>,
    texts: &mut HashMap<(u32, u32), String>,
) -> Vec<NearClusterRecord> {
    clusters
        .into_iter()
        .enumerate()
        .map(|(i, cluster)| NearClusterRecord {
            cluster: i + 1,
            level: cluster.level,
            action: cluster.action,
            members: cluster
                .members
                .iter()
                .map(|m| NearMemberRecord {
                    doc: names.name(m.doc),
                    line: m.line,
                    similarity: (m.similarity * 1e4).round() / 1e4,
                    // Each member is in one cluster: its text moves, once.
                    text: texts.remove(&(m.doc, m.line)).unwrap_or_default(),
                })
                .collect(),
        })
        .collect()
}

/// The apply phase over every source, results in input order.
#[allow(clippy::too_many_arguments)]
fn apply_all(
    pipeline: &Pipeline,
    records: &Pipeline,
    sources: &[Source],
    indexed: Vec<Indexed>,
    names: &DocNames<'_>,
    decisions: &DecisionTable,
    mode: &Mode,
    pool: &rayon::ThreadPool,
    progress: &dyn Progress,
) -> Vec<FileResult> {
    let mut results: Vec<FileResult> = Vec::with_capacity(sources.len());
    let mut indexed = indexed.into_iter();
    for group in groups(sources) {
        let entries: Vec<Indexed> = indexed.by_ref().take(group.len()).collect();
        if Format::of(&sources[group.start].path) == Format::Text {
            let batch: Vec<FileResult> = pool.install(|| {
                sources[group]
                    .par_iter()
                    .zip(entries)
                    .map(|(source, entry)| match entry {
                        Indexed::Text { doc, content } => apply_text(
                            pipeline,
                            names,
                            source,
                            doc,
                            content,
                            decisions.doc(doc as usize),
                            mode,
                            progress,
                        ),
                        Indexed::Failed(failure) => FileResult::failed(failure),
                        Indexed::Dump(_) => unreachable!("a text group holds text files"),
                    })
                    .collect()
            });
            results.extend(batch);
        } else {
            let source = &sources[group.start];
            results.push(match entries.into_iter().next() {
                Some(Indexed::Dump(index)) => dump::Dump {
                    pipeline: records,
                    names,
                    source,
                    pool,
                    mode,
                    progress,
                }
                .apply(&index, decisions),
                Some(Indexed::Failed(failure)) => FileResult::failed(failure),
                _ => unreachable!("a dump group holds one dump"),
            });
        }
    }
    results
}

fn index_text(
    pipeline: &Pipeline,
    source: &Source,
    mode: &Mode,
    progress: &dyn Progress,
) -> Result<(DocKeys, u128), Failure> {
    let max = pipeline.config().input.max_record_bytes;
    let size = std::fs::metadata(&source.path)
        .map_err(|err| Failure::io("cannot read", &err))?
        .len();
    if size > max {
        // Cleaning holds a document several times over: a file this large
        // is set aside whole, streamed, never read into memory.
        progress.advance(size);
        if let Mode::Write { dir, .. } = mode {
            reject_file(dir, &source.output, &source.path);
        }
        return Err(Failure {
            line: None,
            message: format!(
                "{size} bytes: larger than input.max-record-bytes ({max}), \
                 the most scour cleans as one document; raise it or split the file"
            ),
            internal: false,
        });
    }
    let bytes = std::fs::read(&source.path).map_err(|err| Failure::io("cannot read", &err))?;
    progress.advance(bytes.len() as u64);
    match index_document(pipeline, &bytes) {
        Ok(index) => Ok((index.keys, index.content)),
        Err(err) => {
            if let Mode::Write { dir, .. } = mode {
                reject(dir, &source.output, &bytes);
            }
            Err(Failure {
                line: Some(err.line()),
                message: err.to_string(),
                internal: false,
            })
        }
    }
}

/// Applies the decisions to one text file and writes or keeps the result.
#[allow(clippy::too_many_arguments)]
fn apply_text(
    pipeline: &Pipeline,
    names: &DocNames<'_>,
    source: &Source,
    doc: u32,
    hash: u128,
    decisions: &[crate::phases::decide::Decision],
    mode: &Mode,
    progress: &dyn Progress,
) -> FileResult {
    let bytes = match std::fs::read(&source.path) {
        Ok(bytes) => bytes,
        Err(err) => return FileResult::failed(Failure::io("cannot read", &err)),
    };
    progress.advance(bytes.len() as u64);
    if content_hash(&bytes) != hash {
        return FileResult::failed(Failure {
            line: None,
            message: "changed while scour was reading it; run again".into(),
            internal: false,
        });
    }
    let applied = match apply_document(pipeline, &source.name, doc, &bytes, decisions) {
        Ok(applied) => applied,
        Err(ApplyError::Decode(err)) => {
            return FileResult::failed(Failure {
                line: Some(err.line()),
                message: err.to_string(),
                internal: false,
            })
        }
        Err(err @ ApplyError::NotIdempotent { .. }) => {
            return FileResult::failed(Failure {
                line: None,
                message: err.to_string(),
                internal: true,
            })
        }
    };
    let mut result = FileResult::default();
    result.add(names, doc, &source.name, None, &applied);
    result.changed = applied.changed;
    let diff = if applied.changed {
        let diff = diff::unified(&applied.original, &applied.text, &source.name);
        if diff.is_empty() {
            // Same text, other bytes: line endings or BOM only.
            format!(
                "--- a/{0}\n+++ b/{0}\n(line endings or byte order mark only)\n",
                source.name
            )
        } else {
            diff
        }
    } else {
        String::new()
    };
    let written = match mode {
        Mode::Check => {
            result.diff = diff;
            result.changes = applied.changes.into_listed();
            return result;
        }
        Mode::InPlace if !applied.changed => Ok(()),
        Mode::InPlace => in_place_target(&source.path)
            .and_then(|(folder, target, permissions)| {
                write_atomic(
                    &folder,
                    &target,
                    applied.output().as_bytes(),
                    Some(permissions),
                )
            })
            .map_err(|err| Failure::io("cannot rewrite in place", &err)),
        Mode::Write { dir, reports } => {
            if *reports {
                result.review(0, applied.changes.listed());
            }
            let target = dir.join(&source.output);
            let permissions = std::fs::metadata(&source.path)
                .ok()
                .map(|m| m.permissions());
            write_atomic(dir, &target, applied.output().as_bytes(), permissions)
                .map_err(|err| Failure::io(&format!("cannot write {}", target.display()), &err))
                .and_then(|()| {
                    if *reports && applied.changed {
                        write_diff(
                            dir,
                            &source.output,
                            &diff::explain_log(&source.name, &applied.changes),
                            &diff,
                        )
                    } else {
                        Ok(())
                    }
                })
        }
    };
    if let Err(failure) = written {
        result.failures.push(failure);
    }
    result
}

/// Where the report of the file written to `output` goes: `diffs/<output>.diff`.
pub(crate) fn diff_path(dir: &Path, output: &Path) -> PathBuf {
    let mut name = output.as_os_str().to_owned();
    name.push(".diff");
    dir.join("diffs").join(name)
}

/// `diffs/<output>.diff`: the reasons as `#` lines, then the unified diff.
pub(crate) fn write_diff(
    dir: &Path,
    output: &Path,
    explained: &str,
    diff: &str,
) -> Result<(), Failure> {
    let mut text = diff::commented(explained);
    text.push_str(diff);
    let path = diff_path(dir, output);
    write_atomic(dir, &path, text.as_bytes(), None)
        .map_err(|err| Failure::io(&format!("cannot write {}", path.display()), &err))
}

fn summarize(sources: &[Source], results: Vec<FileResult>, inputs: &Inputs) -> RunOutcome {
    let mut summary = Summary {
        normalization_version: NORMALIZATION_VERSION,
        ..Summary::default()
    };
    for skipped in &inputs.errors {
        summary.errors.push(ErrorRecord {
            kind: ErrorKind::Input,
            path: skipped.path.clone(),
            line: None,
            message: skipped.message.clone(),
        });
    }
    let mut documents = Vec::with_capacity(results.len());
    for (source, result) in sources.iter().zip(results) {
        let internal = result.failures.iter().any(|f| f.internal);
        let failed = !result.failures.is_empty();
        // A text file is one document: failed, changed or unchanged. A
        // dump's records are documents too, its rejected lines failed ones.
        let whole_file_failed = failed && result.documents <= 1 && result.records.is_none();
        if whole_file_failed {
            summary.documents.total += 1;
            summary.documents.failed += 1;
        } else {
            summary.documents.total += result.documents;
            summary.documents.changed += result.changed_documents;
            summary.documents.unchanged += result.documents - result.changed_documents;
        }
        if let Some(records) = &result.records {
            summary.documents.total += records.rejected;
            summary.documents.failed += records.rejected;
        }
        for failure in &result.failures {
            summary.errors.push(ErrorRecord {
                kind: if failure.internal {
                    ErrorKind::Internal
                } else {
                    ErrorKind::Input
                },
                path: source.name.clone(),
                line: failure.line,
                message: failure.message.clone(),
            });
        }
        for (rule, count) in &result.rules {
            *summary.rules.entry(rule).or_default() += count;
        }
        let change_count = result.rules.values().sum();
        summary.blocks.total += result.blocks;
        summary.blocks.dropped += result.dropped_blocks;
        summary.blocks.marked += result.marked_blocks;
        summary.dropped.extend(result.dropped);
        summary.marked.extend(result.marked);
        if !whole_file_failed {
            summary.files.push(FileReport {
                doc: source.name.clone(),
                output: source.output.to_string_lossy().replace('\\', "/"),
                blocks: result.blocks,
                changed: result.changed,
                rules: result.rules,
                records: result.records,
            });
        }
        let status = if internal {
            Status::Internal
        } else if failed {
            Status::Failed
        } else if result.changed {
            Status::Changed
        } else {
            Status::Unchanged
        };
        documents.push(DocOutcome {
            name: source.name.clone(),
            status,
            diff: result.diff,
            changes: result.changes,
            change_count,
        });
    }
    RunOutcome {
        summary,
        documents,
        discovery_errors: inputs.errors.len(),
    }
}

/// Streams `summary.json` to its file: a dump's summary can be large, and
/// need not exist twice in memory.
fn write_summary(dir: &Path, path: &Path, summary: &Summary) -> std::io::Result<()> {
    let mut file = std::io::BufWriter::new(AtomicFile::create(dir, path, None)?);
    serde_json::to_writer_pretty(&mut file, summary)?;
    file.write_all(b"\n")?;
    file.into_inner()
        .map_err(std::io::IntoInnerError::into_error)?
        .commit()
}

/// Makes the output folder and clears the report folders a previous run
/// left, so no stale diff survives.
fn prepare_output(dir: &Path, reports: bool) -> Result<(), RunError> {
    let fail = |source| RunError::Output {
        path: dir.display().to_string(),
        source,
    };
    std::fs::create_dir_all(dir).map_err(fail)?;
    for stale in ["diffs", "rejected"] {
        let path = dir.join(stale);
        if path.is_dir() && !path.is_symlink() && (reports || stale == "rejected") {
            std::fs::remove_dir_all(&path).map_err(fail)?;
        }
    }
    Ok(())
}

/// Keeps an unreadable text file byte for byte under `rejected/`.
/// Copies a file too large to clean to `rejected/`, a buffer at a time.
fn reject_file(dir: &Path, output: &Path, source: &Path) {
    let path = dir.join("rejected").join(output);
    // As in `reject`: a failed copy still leaves the error in the summary.
    let _ = std::fs::File::open(source).and_then(|mut file| {
        let mut out = AtomicFile::create(dir, &path, None)?;
        std::io::copy(&mut file, &mut out)?;
        out.commit()
    });
}

fn reject(dir: &Path, output: &Path, bytes: &[u8]) {
    let path = dir.join("rejected").join(output);
    // A failed copy still leaves the error in the summary; nothing is hidden.
    let _ = write_atomic(dir, &path, bytes, None);
}
