//! Integration tests, one binary: snapshots per stage × fixture, the sample
//! run, properties, the command line through the built binary, and
//! `scour diff`.

mod cli;
mod diff;
mod dumps;
mod near;
mod properties;
mod report;
mod sample;
mod snapshots;
