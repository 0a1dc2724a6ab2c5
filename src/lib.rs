#![deny(clippy::print_stdout, clippy::print_stderr)]
pub mod config;
pub mod diff;
pub mod document;
pub mod edit;
pub mod input;
pub mod phases;
pub mod pipeline;
pub mod report;
pub mod rule;
pub mod run;
pub mod segment;
pub mod stages;
