//! The command line: parses flags, finds the config, runs the engine, and
//! turns its outcome into output and an exit code. The only code that
//! prints.
//!
//! Exit codes: 0 clean, 1 changes needed (`check`) or some inputs failed
//! (`run`), 2 usage, config or (for `check`) input error, 123 internal error.
//! `diff` exits like `diff`: 0 equal, 1 different, 2 trouble. `names` exits
//! 0, or 2 when some input could not be read.

mod compare;
mod discover;
mod names;
mod output;
mod progress;

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Parser, Subcommand, ValueEnum};

use scour::input::{discover, Filter};
use scour::pipeline::Pipeline;
use scour::run::{run, Mode, RunOutcome};

const EXIT_CLEAN: u8 = 0;
const EXIT_CHANGES: u8 = 1;
const EXIT_USAGE: u8 = 2;
const EXIT_INTERNAL: u8 = 123;

#[derive(Debug, Parser)]
#[command(
    name = "scour",
    version,
    about = "Clean document dumps: duplicate paragraphs, punctuation, Unicode and names, every change explained."
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    global: Global,
}

#[derive(Debug, Args)]
struct Global {
    /// Pipeline file; default: pipeline.toml here or in the nearest parent folder.
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Worker threads; default: one per core.
    #[arg(long, short, global = true, value_name = "N")]
    jobs: Option<usize>,
    /// Print only errors.
    #[arg(long, short, global = true)]
    quiet: bool,
    /// Also read files that .gitignore or .ignore files exclude.
    #[arg(long, global = true)]
    no_ignore: bool,
    /// When to colour output; `NO_COLOR` is obeyed under `auto`.
    #[arg(long, global = true, value_enum, default_value_t = ColorWhen::Auto, value_name = "WHEN")]
    color: ColorWhen,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum ColorWhen {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Clean the inputs and write cleaned copies and reports (the default).
    Run(RunArgs),
    /// Write nothing; exit 1 and show a diff for each file that would change.
    Check(CheckArgs),
    /// Compare two versions of a document, two folders or two JSONL dumps.
    ///
    /// Blocks are matched by content: each is reported as moved, edited (word
    /// by word), added or removed. Exit 0 when equal, 1 when different, 2 on
    /// an error.
    Diff(compare::DiffArgs),
    /// Print aliases for the person names the inputs write more than one way.
    ///
    /// Variants differ in case, accents, full-width letters or word order
    /// (`MOTEGI` / `Motegi`, `MOTEGI Toshimitsu` / `Toshimitsu Motegi`). Prints
    /// `[stages.aliases]` lines to paste into pipeline.toml, each variant
    /// mapped to a suggested form; writes nothing. Exit 0, or 2 when some
    /// input could not be read.
    Names(names::NamesArgs),
    /// List the rule names with what each does.
    Rules,
}

#[derive(Debug, Args, Default)]
struct RunArgs {
    /// Files or folders; default: the config's input.paths.
    paths: Vec<PathBuf>,
    /// Output folder; default: the config's output.dir.
    #[arg(long, short, value_name = "DIR")]
    output: Option<PathBuf>,
    /// Rewrite changed input files where they are, atomically; no reports.
    #[arg(long, conflicts_with = "output")]
    in_place: bool,
}

#[derive(Debug, Args)]
struct CheckArgs {
    /// Files or folders; default: the config's input.paths.
    paths: Vec<PathBuf>,
    /// How to report files that would change.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
    /// Print only a plain unified diff on stdout (for patch or git apply);
    /// the summary goes to stderr.
    #[arg(long, conflicts_with_all = ["list_different", "format"])]
    diff: bool,
    /// Print only the paths of files that would change, one a line.
    #[arg(long, short = 'l', conflicts_with = "format")]
    list_different: bool,
    /// Also write the review page (as `run` writes report.html) to FILE.
    #[arg(long, value_name = "FILE")]
    report: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    /// Why each line changes, then a coloured diff.
    Human,
    /// One JSON document: files, changes with rules, diffs, the summary.
    Json,
    /// GitHub Actions workflow commands: one annotation per change.
    Github,
}

pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            let _ = err.print();
            return ExitCode::from(if err.use_stderr() {
                EXIT_USAGE
            } else {
                EXIT_CLEAN
            });
        }
    };
    let color = match cli.global.color {
        ColorWhen::Auto => anstream::ColorChoice::Auto,
        ColorWhen::Always => anstream::ColorChoice::Always,
        ColorWhen::Never => anstream::ColorChoice::Never,
    };
    color.write_global();
    let result = match cli.command.unwrap_or(Command::Run(RunArgs::default())) {
        Command::Run(args) => run_command(&cli.global, &args),
        Command::Check(args) => check_command(&cli.global, &args),
        Command::Diff(args) => compare::diff_command(&cli.global, &args),
        Command::Names(args) => names::names_command(&cli.global, &args),
        Command::Rules => output::rules().map(|()| EXIT_CLEAN),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(err) if is_broken_pipe(&err) => ExitCode::from(EXIT_CLEAN),
        Err(err) => {
            let _ = writeln!(anstream::stderr(), "scour: error: {err:#}");
            ExitCode::from(EXIT_USAGE)
        }
    }
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain()
        .filter_map(|e| e.downcast_ref::<std::io::Error>())
        .any(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
}

fn jobs(global: &Global) -> usize {
    global
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, std::num::NonZero::get))
}

/// Everything a command needs before the engine runs.
struct Prepared {
    pipeline: Pipeline,
    paths: Vec<PathBuf>,
    output: PathBuf,
    filter: Filter,
}

fn prepare(
    global: &Global,
    paths: &[PathBuf],
    output: Option<&PathBuf>,
) -> anyhow::Result<Prepared> {
    let found = discover::config(global.config.as_deref())?;
    let config = found.config;
    let paths = if paths.is_empty() {
        config
            .input
            .paths
            .iter()
            .map(|p| found.base.join(p))
            .collect()
    } else {
        paths.to_vec()
    };
    let output = output
        .cloned()
        .unwrap_or_else(|| found.base.join(&config.output.dir));
    let filter =
        Filter::new(&config.input.include, &config.input.exclude).context("input globs")?;
    Ok(Prepared {
        pipeline: Pipeline::new(config),
        paths,
        output,
        filter,
    })
}

fn run_command(global: &Global, args: &RunArgs) -> anyhow::Result<u8> {
    let prepared = prepare(global, &args.paths, args.output.as_ref())?;
    let reports = prepared.pipeline.config().output.reports;
    let skip = (!args.in_place).then_some(prepared.output.as_path());
    let inputs = discover(&prepared.paths, &prepared.filter, skip, !global.no_ignore);
    if !global.quiet {
        output::empty_folders(&inputs)?;
    }
    let mode = if args.in_place {
        Mode::InPlace
    } else {
        Mode::Write {
            dir: prepared.output.clone(),
            reports,
        }
    };
    let bar = progress::Bar::new(global.quiet);
    let outcome = run(&prepared.pipeline, &inputs, &mode, jobs(global), &bar)?;
    bar.finish();
    output::errors(&outcome)?;
    output::internal_errors(&outcome)?;
    if !global.quiet {
        output::run_summary(
            &outcome,
            args.in_place.then_some("in place"),
            &prepared.output,
        )?;
    }
    Ok(exit_code(&outcome, EXIT_CHANGES, false))
}

fn check_command(global: &Global, args: &CheckArgs) -> anyhow::Result<u8> {
    let prepared = prepare(global, &args.paths, None)?;
    let inputs = discover(&prepared.paths, &prepared.filter, None, !global.no_ignore);
    if !global.quiet {
        output::empty_folders(&inputs)?;
    }
    let bar = progress::Bar::new(
        global.quiet || args.format != Format::Human || args.diff || args.list_different,
    );
    let outcome = run(
        &prepared.pipeline,
        &inputs,
        &Mode::Check,
        jobs(global),
        &bar,
    )?;
    bar.finish();
    if let Some(path) = &args.report {
        write_report(path, &outcome)?;
    }
    match args.format {
        Format::Json => output::check_json(&outcome)?,
        Format::Github => output::check_github(&outcome)?,
        Format::Human => {
            if args.list_different {
                output::check_list(&outcome)?;
            } else if args.diff {
                output::check_diff(&outcome)?;
            } else {
                output::check_human(&outcome)?;
            }
            output::errors(&outcome)?;
            output::internal_errors(&outcome)?;
            if !global.quiet && !args.list_different {
                output::check_summary(&outcome)?;
            }
        }
    }
    Ok(exit_code(&outcome, EXIT_USAGE, true))
}

/// Writes `report.html` for `check --report`, atomically, beside nothing else.
fn write_report(path: &std::path::Path, outcome: &RunOutcome) -> anyhow::Result<()> {
    let folder = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .with_context(|| format!("--report {}: not a file name", path.display()))?;
    let page = scour::review::page(outcome);
    std::fs::create_dir_all(&folder)
        .and_then(|()| {
            scour::write::write_atomic(&folder, &folder.join(name), page.as_bytes(), None)
        })
        .with_context(|| format!("cannot write the report {}", path.display()))
}

/// Internal errors win, then input errors (`input_code`), then changes
/// when checking.
fn exit_code(outcome: &RunOutcome, input_code: u8, checking: bool) -> u8 {
    if outcome.internal_errors() {
        EXIT_INTERNAL
    } else if outcome.input_errors() {
        input_code
    } else if checking && outcome.changed() > 0 {
        EXIT_CHANGES
    } else {
        EXIT_CLEAN
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use scour::report::Summary;
    use scour::run::{DocOutcome, Status};

    fn outcome(statuses: &[Status], discovery_errors: usize) -> RunOutcome {
        RunOutcome {
            summary: Summary::default(),
            documents: statuses
                .iter()
                .map(|&status| DocOutcome {
                    name: "doc".into(),
                    status,
                    diff: String::new(),
                    changes: Vec::new(),
                    change_count: 0,
                })
                .collect(),
            discovery_errors,
        }
    }

    #[test]
    fn exit_codes_rank_internal_then_input_then_changes() {
        use Status::{Changed, Failed, Internal, Unchanged};
        assert_eq!(
            exit_code(&outcome(&[Unchanged], 0), EXIT_USAGE, true),
            EXIT_CLEAN
        );
        assert_eq!(
            exit_code(&outcome(&[Changed], 0), EXIT_USAGE, true),
            EXIT_CHANGES
        );
        assert_eq!(
            exit_code(&outcome(&[Changed], 0), EXIT_CHANGES, false),
            EXIT_CLEAN
        );
        assert_eq!(
            exit_code(&outcome(&[Changed, Failed], 0), EXIT_USAGE, true),
            EXIT_USAGE
        );
        assert_eq!(
            exit_code(&outcome(&[Unchanged], 1), EXIT_CHANGES, false),
            EXIT_CHANGES
        );
        assert_eq!(
            exit_code(&outcome(&[Failed, Internal], 0), EXIT_USAGE, true),
            EXIT_INTERNAL
        );
        assert_eq!(
            exit_code(&outcome(&[Internal], 0), EXIT_CHANGES, false),
            EXIT_INTERNAL
        );
    }
}
