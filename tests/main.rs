//! Integration tests, one binary: snapshots per stage × fixture, the sample
//! run, properties, the command line through the built binary,
//! `scour diff` and the names report.

mod cli;
mod common;
mod diff;
mod dumps;
mod names;
mod near;
mod properties;
mod report;
mod sample;
mod snapshots;
