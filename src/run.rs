//! A whole run: sources → index → decide → apply → written files and a
//! [`Summary`]. `run` and `check` are two [`Mode`]s of this one code path;
//! they differ only in what happens to the bytes the apply phase returns.
//!
//! The engine does I/O on the output folder (atomic writes) but never prints
//! and never exits: outcomes come back as values for the CLI to render.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::config::NORMALIZATION_VERSION;
use crate::diff;
use crate::document::Change;
use crate::input::{is_contained, Inputs, Source};
use crate::phases::apply::{apply_document, Applied, ApplyError, DedupBlock};
use crate::phases::decide::{decide, Decision};
use crate::phases::index::{content_hash, index_document, DocIndex};
use crate::pipeline::Pipeline;
use crate::report::{preview, DedupRecord, ErrorKind, ErrorRecord, FileReport, Summary};
use crate::rule::Rule;

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

/// What happened to one document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Unchanged,
    Changed,
    /// Bad input: reported, not cleaned.
    Failed,
    /// scour's own bug caught by the idempotence check: not written.
    Internal,
}

/// One document's outcome, as the CLI needs it.
#[derive(Debug, Clone)]
pub struct DocOutcome {
    pub name: String,
    pub status: Status,
    /// Unified diff raw → cleaned; kept in check mode only.
    pub diff: String,
    /// Every change with its rule; kept in check mode only.
    pub changes: Vec<Change>,
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
}

/// Why one document was not cleaned.
#[derive(Debug, Clone)]
struct Failure {
    line: Option<u32>,
    message: String,
    internal: bool,
}

impl Failure {
    fn io(what: &str, err: &std::io::Error) -> Failure {
        Failure {
            line: None,
            message: format!("{what}: {err}"),
            internal: false,
        }
    }
}

/// The per-document result the summary is built from.
struct Finished {
    result: Result<Applied, Failure>,
    diff: String,
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

    progress.phase("index", total);
    let indexed: Vec<Result<DocIndex, Failure>> = pool.install(|| {
        sources
            .par_iter()
            .map(|source| {
                let bytes =
                    std::fs::read(&source.path).map_err(|err| Failure::io("cannot read", &err))?;
                progress.advance(bytes.len() as u64);
                index_document(pipeline, &bytes).map_err(|err| {
                    if let Mode::Write { dir, .. } = mode {
                        reject(dir, source, &bytes);
                    }
                    Failure {
                        line: Some(err.line()),
                        message: err.to_string(),
                        internal: false,
                    }
                })
            })
            .collect()
    });

    let mut content = Vec::with_capacity(indexed.len());
    let mut keys = Vec::with_capacity(indexed.len());
    let mut failures = Vec::with_capacity(indexed.len());
    for entry in indexed {
        match entry {
            Ok(index) => {
                content.push(index.content);
                keys.push(index.keys);
                failures.push(None);
            }
            Err(failure) => {
                content.push(0);
                keys.push(Vec::new());
                failures.push(Some(failure));
            }
        }
    }
    let decisions = match pipeline.dedup() {
        Some(dedup) => decide(dedup, &keys),
        None => vec![Vec::new(); keys.len()],
    };
    drop(keys);

    progress.phase("apply", total);
    let finished: Vec<Finished> = pool.install(|| {
        sources
            .par_iter()
            .zip(failures)
            .zip(&content)
            .zip(&decisions)
            .enumerate()
            .map(|(doc, (((source, failure), &hash), decisions))| {
                let finished = match failure {
                    Some(failure) => Finished {
                        result: Err(failure),
                        diff: String::new(),
                    },
                    None => finish(pipeline, doc as u32, source, hash, decisions, mode),
                };
                progress.advance(
                    finished
                        .result
                        .as_ref()
                        .map_or(0, |a| a.original.len() as u64),
                );
                finished
            })
            .collect()
    });

    let outcome = summarize(sources, finished, inputs, mode);
    if let Mode::Write { dir, reports: true } = mode {
        let mut json = serde_json::to_vec_pretty(&outcome.summary).expect("summary serializes");
        json.push(b'\n');
        let path = dir.join("summary.json");
        write_atomic(dir, &path, &json, None).map_err(|source| RunError::Output {
            path: path.display().to_string(),
            source,
        })?;
    }
    Ok(outcome)
}

/// Applies the decisions to one document and writes or keeps the result.
fn finish(
    pipeline: &Pipeline,
    doc: u32,
    source: &Source,
    hash: u128,
    decisions: &[Decision],
    mode: &Mode,
) -> Finished {
    let failed = |failure| Finished {
        result: Err(failure),
        diff: String::new(),
    };
    let bytes = match std::fs::read(&source.path) {
        Ok(bytes) => bytes,
        Err(err) => return failed(Failure::io("cannot read", &err)),
    };
    if content_hash(&bytes) != hash {
        return failed(Failure {
            line: None,
            message: "changed while scour was reading it; run again".into(),
            internal: false,
        });
    }
    let applied = match apply_document(pipeline, &source.name, doc, &bytes, decisions) {
        Ok(applied) => applied,
        Err(ApplyError::Decode(err)) => {
            return failed(Failure {
                line: Some(err.line()),
                message: err.to_string(),
                internal: false,
            })
        }
        Err(err @ ApplyError::NotIdempotent { .. }) => {
            return failed(Failure {
                line: None,
                message: err.to_string(),
                internal: true,
            })
        }
    };
    let diff = if applied.changed {
        let mut diff = diff::unified(&applied.original, &applied.text, &source.name);
        if diff.is_empty() {
            // Same text, other bytes: line endings or BOM only.
            diff = format!(
                "--- a/{0}\n+++ b/{0}\n(line endings or byte order mark only)\n",
                source.name
            );
        }
        diff
    } else {
        String::new()
    };
    match mode {
        Mode::Check => Finished {
            result: Ok(applied),
            diff,
        },
        Mode::InPlace => {
            if applied.changed {
                if let Err(err) = write_in_place(&source.path, &applied.output) {
                    return failed(Failure::io("cannot rewrite in place", &err));
                }
            }
            Finished {
                result: Ok(applied),
                diff: String::new(),
            }
        }
        Mode::Write { dir, reports } => {
            let target = dir.join(&source.output);
            let permissions = std::fs::metadata(&source.path)
                .ok()
                .map(|m| m.permissions());
            if let Err(err) = write_atomic(dir, &target, &applied.output, permissions) {
                return failed(Failure::io(
                    &format!("cannot write {}", target.display()),
                    &err,
                ));
            }
            if *reports && applied.changed {
                let mut text = String::new();
                for line in diff::explain(&source.name, &applied.changes).lines() {
                    text.push_str("# ");
                    text.push_str(line);
                    text.push('\n');
                }
                text.push_str(&diff);
                let mut name = source.output.clone().into_os_string();
                name.push(".diff");
                let path = dir.join("diffs").join(name);
                if let Err(err) = write_atomic(dir, &path, text.as_bytes(), None) {
                    return failed(Failure::io(
                        &format!("cannot write {}", path.display()),
                        &err,
                    ));
                }
            }
            Finished {
                result: Ok(applied),
                diff: String::new(),
            }
        }
    }
}

fn summarize(
    sources: &[Source],
    finished: Vec<Finished>,
    inputs: &Inputs,
    mode: &Mode,
) -> RunOutcome {
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
    let mut documents = Vec::with_capacity(finished.len());
    for (source, done) in sources.iter().zip(finished) {
        summary.documents.total += 1;
        let applied = match done.result {
            Ok(applied) => applied,
            Err(failure) => {
                summary.documents.failed += 1;
                summary.errors.push(ErrorRecord {
                    kind: if failure.internal {
                        ErrorKind::Internal
                    } else {
                        ErrorKind::Input
                    },
                    path: source.name.clone(),
                    line: failure.line,
                    message: failure.message,
                });
                documents.push(DocOutcome {
                    name: source.name.clone(),
                    status: if failure.internal {
                        Status::Internal
                    } else {
                        Status::Failed
                    },
                    diff: String::new(),
                    changes: Vec::new(),
                });
                continue;
            }
        };
        let rules = count_document(&mut summary, sources, source, &applied);
        if applied.changed {
            summary.documents.changed += 1;
        } else {
            summary.documents.unchanged += 1;
        }
        summary.files.push(FileReport {
            doc: source.name.clone(),
            output: source.output.to_string_lossy().replace('\\', "/"),
            blocks: applied.blocks as u64,
            changed: applied.changed,
            rules,
        });
        let keep_details = *mode == Mode::Check;
        documents.push(DocOutcome {
            name: source.name.clone(),
            status: if applied.changed {
                Status::Changed
            } else {
                Status::Unchanged
            },
            diff: done.diff,
            changes: if keep_details {
                applied.changes
            } else {
                Vec::new()
            },
        });
    }
    RunOutcome {
        summary,
        documents,
        discovery_errors: inputs.errors.len(),
    }
}

/// Adds one cleaned document's counts and dedup records to `summary`;
/// returns its changes counted by rule.
fn count_document(
    summary: &mut Summary,
    sources: &[Source],
    source: &Source,
    applied: &Applied,
) -> BTreeMap<&'static str, u64> {
    let mut rules: BTreeMap<&'static str, u64> = BTreeMap::new();
    for change in &applied.changes {
        *rules.entry(change.rule.as_str()).or_default() += 1;
    }
    for (rule, count) in &rules {
        *summary.rules.entry(rule).or_default() += count;
    }
    let record = |block: &DedupBlock| DedupRecord {
        doc: source.name.clone(),
        line: block.decision.line,
        rule: Rule::DedupExact,
        scope: block.decision.scope,
        kept_doc: sources[block.decision.kept_doc as usize].name.clone(),
        kept_line: block.decision.kept_line,
        text: preview(&block.text, 200),
    };
    summary.blocks.total += applied.blocks as u64;
    summary.blocks.dropped += applied.dropped.len() as u64;
    summary.blocks.marked += applied.marked.len() as u64;
    summary.dropped.extend(applied.dropped.iter().map(record));
    summary.marked.extend(applied.marked.iter().map(record));
    rules
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

/// Replaces the file at `path` (through a symlink, its target) atomically,
/// keeping its permissions.
fn write_in_place(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let target = path.canonicalize()?;
    let folder = target.parent().unwrap_or(Path::new("/"));
    let permissions = std::fs::metadata(&target)?.permissions();
    write_atomic(folder, &target, bytes, Some(permissions))
}

/// Keeps an unreadable document byte for byte under `rejected/`.
fn reject(dir: &Path, source: &Source, bytes: &[u8]) {
    let path = dir.join("rejected").join(&source.output);
    // A failed copy still leaves the error in the summary; nothing is hidden.
    let _ = write_atomic(dir, &path, bytes, None);
}

/// Writes `bytes` to `path` through a temporary file in the same folder and a
/// rename, so a crash never leaves half a file. Refuses paths that would
/// leave `root`, whatever symlinks inside it say.
pub fn write_atomic(
    root: &Path,
    path: &Path,
    bytes: &[u8],
    permissions: Option<std::fs::Permissions>,
) -> std::io::Result<()> {
    let outside = || {
        std::io::Error::new(
            std::io::ErrorKind::PermissionDenied,
            "path leaves the output folder",
        )
    };
    let relative = path.strip_prefix(root).map_err(|_| outside())?;
    if !is_contained(relative) {
        return Err(outside());
    }
    let parent = path.parent().unwrap_or(root);
    std::fs::create_dir_all(parent)?;
    if !parent.canonicalize()?.starts_with(root.canonicalize()?) {
        return Err(outside());
    }
    let mut file = tempfile::NamedTempFile::new_in(parent)?;
    file.write_all(bytes)?;
    if let Some(permissions) = permissions {
        file.as_file().set_permissions(permissions)?;
    } else {
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            file.as_file()
                .set_permissions(std::fs::Permissions::from_mode(0o644))?;
        }
    }
    file.persist(path).map_err(|err| err.error)?;
    Ok(())
}
