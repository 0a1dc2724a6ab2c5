//! Rendering outcomes for people (coloured diffs, one-line summaries) and
//! for programs (`--format json`). Colour goes through anstream, which
//! strips it when the stream is not a terminal or `NO_COLOR` is set.

use std::io::Write;
use std::path::Path;

use anstyle::{AnsiColor, Style};
use scour::diff;
use scour::document::LISTED_PER_RULE;
use scour::input::Inputs;
use scour::report::{ErrorKind, ErrorRecord};
use scour::rule::Rule;
use scour::run::{RunOutcome, Status};

const ADDED: Style = AnsiColor::Green.on_default();
const REMOVED: Style = AnsiColor::Red.on_default();
const HUNK: Style = AnsiColor::Cyan.on_default();
const WARNING: Style = AnsiColor::Yellow.on_default();
const BOLD: Style = Style::new().bold();
const DIM: Style = Style::new().dimmed();

pub fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

pub fn rules() -> anyhow::Result<()> {
    let mut out = anstream::stdout().lock();
    for rule in Rule::ALL {
        writeln!(out, "{BOLD}{rule}{BOLD:#}\n    {}\n", rule.explain())?;
    }
    Ok(())
}

/// Bad inputs, one line each, `path:line: message`.
pub fn errors(outcome: &RunOutcome) -> anyhow::Result<()> {
    input_errors(&outcome.summary.errors)
}

/// The input errors among `records`, one line each, `path:line: message`.
pub fn input_errors(records: &[ErrorRecord]) -> anyhow::Result<()> {
    let mut err = anstream::stderr().lock();
    for record in records.iter().filter(|r| r.kind == ErrorKind::Input) {
        match record.line {
            Some(line) => writeln!(
                err,
                "{REMOVED}error{REMOVED:#}: {}:{line}: {}",
                record.path, record.message
            )?,
            None => writeln!(
                err,
                "{REMOVED}error{REMOVED:#}: {}: {}",
                record.path, record.message
            )?,
        }
    }
    Ok(())
}

/// Folders given that held nothing to read: a warning each.
pub fn empty_folders(inputs: &Inputs) -> anyhow::Result<()> {
    let mut err = anstream::stderr().lock();
    for folder in &inputs.empty_folders {
        writeln!(
            err,
            "{WARNING}warning{WARNING:#}: {folder}: no file to read (input.include and \
             input.exclude leave none, or ignore files do: see --no-ignore)"
        )?;
    }
    Ok(())
}

/// Idempotence failures: scour's bugs, said as such.
pub fn internal_errors(outcome: &RunOutcome) -> anyhow::Result<()> {
    let mut err = anstream::stderr().lock();
    for record in outcome
        .summary
        .errors
        .iter()
        .filter(|r| r.kind == ErrorKind::Internal)
    {
        writeln!(
            err,
            "{REMOVED}error{REMOVED:#}: {}: {}\nThis is a bug in scour; the file was not written. Please report it with the file.",
            record.path, record.message
        )?;
    }
    Ok(())
}

pub fn run_summary(
    outcome: &RunOutcome,
    in_place: Option<&str>,
    output: &Path,
) -> anyhow::Result<()> {
    let target = in_place.map_or_else(|| output.display().to_string(), str::to_owned);
    let s = &outcome.summary;
    writeln!(
        anstream::stderr(),
        "scour: {}, {} changed, {} dropped, {} marked, {}, {} → {}",
        plural(s.documents.total, "document", "documents"),
        s.documents.changed,
        plural(s.blocks.dropped, "block", "blocks"),
        s.blocks.marked,
        plural(
            s.near_duplicates.len() as u64,
            "near-duplicate cluster",
            "near-duplicate clusters"
        ),
        plural(s.errors.len() as u64, "error", "errors"),
        target
    )?;
    Ok(())
}

fn colored_diff(out: &mut impl Write, text: &str) -> std::io::Result<()> {
    for line in text.lines() {
        let style = if line.starts_with("+++") || line.starts_with("---") {
            BOLD
        } else if line.starts_with('+') {
            ADDED
        } else if line.starts_with('-') {
            REMOVED
        } else if line.starts_with("@@") {
            HUNK
        } else {
            Style::new()
        };
        writeln!(out, "{style}{line}{style:#}")?;
    }
    Ok(())
}

/// For each file that would change: why (one line per change), then the diff.
pub fn check_human(outcome: &RunOutcome) -> anyhow::Result<()> {
    let mut out = anstream::stdout().lock();
    for doc in outcome
        .documents
        .iter()
        .filter(|d| d.status == Status::Changed)
    {
        for line in diff::explain(&doc.name, &doc.changes).lines() {
            writeln!(out, "{DIM}{line}{DIM:#}")?;
        }
        let unlisted = doc.unlisted_changes();
        if unlisted > 0 {
            writeln!(
                out,
                "{DIM}{}: {unlisted} more changes, counted but not listed (a document lists \
                 at most {LISTED_PER_RULE} of each rule; a dump, those of the records \
                 whose diff is shown){DIM:#}",
                doc.name
            )?;
        }
        colored_diff(&mut out, &doc.diff)?;
    }
    Ok(())
}

/// `--diff`: the unified diffs alone, uncoloured, for `patch` or `git apply`.
pub fn check_diff(outcome: &RunOutcome) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    for doc in outcome
        .documents
        .iter()
        .filter(|d| d.status == Status::Changed)
    {
        out.write_all(doc.diff.as_bytes())?;
    }
    Ok(())
}

/// `--list-different`: paths only, one a line.
pub fn check_list(outcome: &RunOutcome) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    for doc in outcome
        .documents
        .iter()
        .filter(|d| d.status == Status::Changed)
    {
        writeln!(out, "{}", doc.name)?;
    }
    Ok(())
}

/// `--format github`: one workflow command per change, so each shows as an
/// annotation on the pull request; errors as `::error`.
pub fn check_github(outcome: &RunOutcome) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    for doc in outcome
        .documents
        .iter()
        .filter(|d| d.status == Status::Changed)
    {
        for change in &doc.changes {
            writeln!(
                out,
                "::warning file={},line={},title={}::{}",
                github_property(&doc.name),
                change.line,
                github_property(&format!("scour {}", change.rule)),
                github_data(&format!(
                    "{} → {}",
                    shown(&change.before),
                    shown(&change.after)
                ))
            )?;
        }
    }
    for record in &outcome.summary.errors {
        let line = record
            .line
            .map(|l| format!(",line={l}"))
            .unwrap_or_default();
        writeln!(
            out,
            "::error file={}{line},title=scour::{}",
            github_property(&record.path),
            github_data(&record.message)
        )?;
    }
    Ok(())
}

fn shown(text: &str) -> String {
    format!("{text:?}")
}

/// Escapes the message of a workflow command.
fn github_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a property (file, title) of a workflow command.
fn github_property(text: &str) -> String {
    github_data(text).replace(':', "%3A").replace(',', "%2C")
}

pub fn check_summary(outcome: &RunOutcome) -> anyhow::Result<()> {
    let total = outcome.documents.len() as u64;
    let changed = outcome.changed() as u64;
    let mut err = anstream::stderr().lock();
    if changed == 0 {
        writeln!(
            err,
            "scour: {} already clean",
            plural(total, "file", "files")
        )?;
    } else {
        writeln!(
            err,
            "scour: {changed} of {} would change",
            plural(total, "file", "files")
        )?;
    }
    Ok(())
}

pub fn check_json(outcome: &RunOutcome) -> anyhow::Result<()> {
    let files: Vec<serde_json::Value> = outcome
        .documents
        .iter()
        .map(|doc| {
            serde_json::json!({
                "path": doc.name,
                "status": match doc.status {
                    Status::Unchanged => "unchanged",
                    Status::Changed => "changed",
                    Status::Failed => "failed",
                    Status::Internal => "internal-error",
                },
                "changes": doc.changes,
                "unlisted_changes": doc.unlisted_changes(),
                "diff": doc.diff,
            })
        })
        .collect();
    let report = serde_json::json!({
        "files": files,
        "summary": outcome.summary,
    });
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, &report)?;
    writeln!(out)?;
    Ok(())
}
