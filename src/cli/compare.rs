//! `scour diff OLD NEW`: compares two versions and prints the comparison in
//! the chosen format. Exit 0 when equal, 1 when different, 2 when a path
//! or a file could not be read (after comparing everything else).

use std::fmt::Write as _;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use anstyle::{AnsiColor, Effects, Style};
use anyhow::Context;
use clap::{Args, ValueEnum};

use scour::compare::{
    self, html, render, with_context, CompareOptions, Comparison, DocDiff, Row, Shown, Word,
};
use scour::input::Filter;

use super::{discover, jobs, Global, EXIT_CHANGES, EXIT_CLEAN, EXIT_USAGE};

const ADDED: Style = AnsiColor::Green.on_default();
const REMOVED: Style = AnsiColor::Red.on_default();
const MOVED: Style = AnsiColor::Magenta.on_default();
const EDITED: Style = AnsiColor::Yellow.on_default();
const REMOVED_WORDS: Style = AnsiColor::Red
    .on_default()
    .effects(Effects::STRIKETHROUGH.insert(Effects::BOLD));
const ADDED_WORDS: Style = AnsiColor::Green
    .on_default()
    .effects(Effects::UNDERLINE.insert(Effects::BOLD));
const BOLD: Style = Style::new().bold();
const DIM: Style = Style::new().dimmed();

/// Unchanged blocks shown around each change.
const CONTEXT: usize = 1;
/// Width of a row's label column.
const LABEL: usize = 8;

#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The old version: a text file, a JSONL dump or a folder.
    old: PathBuf,
    /// The new version, of the same kind.
    new: PathBuf,
    /// Output format; default: terminal when stdout is a terminal, unified otherwise.
    #[arg(long, value_enum, value_name = "FORMAT")]
    format: Option<DiffFormat>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum DiffFormat {
    /// Block by block, coloured: moved, edited (with word changes), added, removed.
    Terminal,
    /// A plain unified diff for patch or git apply; moves noted on `#` lines.
    Unified,
    /// One JSON document: per document its operations, and totals.
    Json,
    /// One self-contained HTML page.
    Html,
}

pub fn diff_command(global: &Global, args: &DiffArgs) -> anyhow::Result<u8> {
    let config = discover::config(global.config.as_deref())?.config;
    let options = CompareOptions::new(&config);
    let filter =
        Filter::new(&config.input.include, &config.input.exclude).context("input globs")?;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(jobs(global).max(1))
        .build()?;
    let comparison = pool.install(|| {
        compare::compare_paths(&args.old, &args.new, &options, &filter, !global.no_ignore)
    })?;
    let format = args.format.unwrap_or(if std::io::stdout().is_terminal() {
        DiffFormat::Terminal
    } else {
        DiffFormat::Unified
    });
    match format {
        DiffFormat::Terminal => terminal(&comparison, global.quiet)?,
        DiffFormat::Unified => plain(&render::unified(&comparison))?,
        DiffFormat::Json => plain(&render::json(&comparison))?,
        DiffFormat::Html => plain(&html::page(&comparison))?,
    }
    let mut err = anstream::stderr().lock();
    for error in &comparison.errors {
        writeln!(err, "{REMOVED}error{REMOVED:#}: {error}")?;
    }
    Ok(if !comparison.errors.is_empty() {
        EXIT_USAGE
    } else if comparison.differs() {
        EXIT_CHANGES
    } else {
        EXIT_CLEAN
    })
}

fn plain(text: &str) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()
}

/// The coloured view: per document a header, then its rows with the old
/// and new line numbers in a gutter, unchanged blocks folded away beyond
/// one on each side of a change.
fn terminal(comparison: &Comparison, quiet: bool) -> anyhow::Result<()> {
    let colour = anstream::AutoStream::choice(&std::io::stdout()) != anstream::ColorChoice::Never;
    let mut out = anstream::stdout().lock();
    for (n, doc) in comparison.documents.iter().enumerate() {
        if n > 0 {
            writeln!(out)?;
        }
        out.write_all(document(doc, colour).as_bytes())?;
    }
    let total = comparison.documents.len() as u64 + comparison.unchanged;
    if !quiet && total > 1 {
        let t = comparison.totals().documents;
        writeln!(
            out,
            "\n{DIM}{} of {total} documents differ ({} changed, {} added, {} removed){DIM:#}",
            comparison.documents.len(),
            t.changed,
            t.added,
            t.removed
        )?;
    }
    Ok(())
}

/// `text` in `style`, every line after the first indented by `indent`
/// (the style closed before each newline, so the gutter stays plain).
fn styled(out: &mut String, style: Style, text: &str, indent: &str) {
    for (k, line) in text.split('\n').enumerate() {
        if k > 0 {
            out.push('\n');
            out.push_str(indent);
        }
        if !line.is_empty() {
            let _ = write!(out, "{style}{line}{style:#}");
        }
    }
}

fn words(out: &mut String, words: &[Word], colour: bool, indent: &str) {
    for word in words {
        match (word, colour) {
            (Word::Equal(text), _) => styled(out, Style::new(), text, indent),
            (Word::Removed(text), true) => styled(out, REMOVED_WORDS, text, indent),
            (Word::Added(text), true) => styled(out, ADDED_WORDS, text, indent),
            // Without colour, the markers of `git diff --word-diff=plain`.
            (Word::Removed(text), false) => styled(out, REMOVED, &format!("[-{text}-]"), indent),
            (Word::Added(text), false) => styled(out, ADDED, &format!("{{+{text}+}}"), indent),
        }
    }
}

fn document(doc: &DocDiff, colour: bool) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{BOLD}{}{BOLD:#}  {DIM}{}{DIM:#}",
        doc.title(),
        render::describe(&doc.totals())
    );
    let (old, new) = (&doc.old.version, &doc.new.version);
    let indent = format!("{:>5} {:>5} {DIM}│{DIM:#} {:LABEL$}", "", "", "");
    for shown in with_context(&doc.rows, CONTEXT) {
        let row = match shown {
            Shown::Folded(count) => {
                let _ = writeln!(out, "{DIM}{:>5} {:>5} │ ⋮ {count} unchanged{DIM:#}", "", "");
                continue;
            }
            Shown::Row(i) => &doc.rows[i],
        };
        let line = |version: &compare::Version, unit: usize| version.units[unit].line().to_string();
        let (a, b, label, style) = match row {
            Row::Unchanged { old: i, new: j } => (line(old, *i), line(new, *j), "", DIM),
            Row::Edited { old: i, new: j, .. } => (line(old, *i), line(new, *j), "edited", EDITED),
            Row::Removed { old: i } => (line(old, *i), String::new(), "removed", REMOVED),
            Row::Added { new: j } => (String::new(), line(new, *j), "added", ADDED),
            Row::MovedAway { old: i, .. } => (line(old, *i), String::new(), "moved", MOVED),
            Row::Moved { old: i, new: j, .. } => (line(old, *i), line(new, *j), "moved", MOVED),
            Row::Spacing { .. } | Row::FinalNewline { .. } => {
                (String::new(), String::new(), "spacing", DIM)
            }
        };
        let _ = write!(
            out,
            "{DIM}{a:>5} {b:>5} │{DIM:#} {style}{label:LABEL$}{style:#}"
        );
        match row {
            Row::Unchanged { new: j, .. } => {
                // Context: the block's first line is enough to place it.
                let text = new.unit_text(*j);
                let first = text.lines().next().unwrap_or_default();
                let more = if first.len() < text.len() { " …" } else { "" };
                styled(&mut out, DIM, &format!("{first}{more}"), &indent);
            }
            Row::Removed { old: i } => styled(&mut out, REMOVED, old.unit_text(*i), &indent),
            Row::Added { new: j } => styled(&mut out, ADDED, new.unit_text(*j), &indent),
            Row::Moved {
                new: j, edit: None, ..
            } => styled(&mut out, Style::new(), new.unit_text(*j), &indent),
            Row::Edited { edit, .. }
            | Row::Moved {
                edit: Some(edit), ..
            } => {
                words(&mut out, &edit.words, colour, &indent);
            }
            Row::MovedAway { new: j, .. } => {
                styled(
                    &mut out,
                    DIM,
                    &format!("→ now at line {}", new.units[*j].line()),
                    &indent,
                );
            }
            Row::Spacing { .. } | Row::FinalNewline { .. } => {
                styled(
                    &mut out,
                    DIM,
                    &render::spacing_note(row).unwrap_or_default(),
                    &indent,
                );
            }
        }
        out.push('\n');
    }
    out
}
