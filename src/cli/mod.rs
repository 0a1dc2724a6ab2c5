//! The command line: parses flags, finds the config, runs the engine, and
//! turns its outcome into output and an exit code. The only code that
//! prints.
//!
//! Exit codes: 0 clean, 1 changes needed (`check`) or some inputs failed
//! (`run`), 2 usage, config or (for `check`) input error, 123 internal error.

mod discover;
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
}

#[derive(Debug, Args)]
struct CheckArgs {
    /// Files or folders; default: the config's input.paths.
    paths: Vec<PathBuf>,
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    Human,
    Json,
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
    let inputs = discover(
        &prepared.paths,
        &prepared.filter,
        Some(&prepared.output),
        !global.no_ignore,
    );
    let mode = Mode::Write {
        dir: prepared.output.clone(),
        reports,
    };
    let bar = progress::Bar::new(global.quiet);
    let outcome = run(&prepared.pipeline, &inputs, &mode, jobs(global), &bar)?;
    bar.finish();
    output::errors(&outcome)?;
    output::internal_errors(&outcome)?;
    if !global.quiet {
        output::run_summary(&outcome, &prepared.output)?;
    }
    Ok(exit_code(&outcome, EXIT_CHANGES, false))
}

fn check_command(global: &Global, args: &CheckArgs) -> anyhow::Result<u8> {
    let prepared = prepare(global, &args.paths, None)?;
    let inputs = discover(&prepared.paths, &prepared.filter, None, !global.no_ignore);
    let bar = progress::Bar::new(global.quiet || args.format == Format::Json);
    let outcome = run(
        &prepared.pipeline,
        &inputs,
        &Mode::Check,
        jobs(global),
        &bar,
    )?;
    bar.finish();
    match args.format {
        Format::Human => {
            output::check_human(&outcome)?;
            output::errors(&outcome)?;
            output::internal_errors(&outcome)?;
            if !global.quiet {
                output::check_summary(&outcome)?;
            }
        }
        Format::Json => output::check_json(&outcome)?,
    }
    Ok(exit_code(&outcome, EXIT_USAGE, true))
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
