//! The `scour` binary: flags, threads, printing and exit codes live in
//! [`cli`]; everything else is the `scour` library.

mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
