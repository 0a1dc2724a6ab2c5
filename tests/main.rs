//! Integration tests, one binary: snapshots per stage × fixture, the sample
//! run, properties, and the command line through the built binary.

mod cli;
mod dumps;
mod near;
mod properties;
mod sample;
mod snapshots;
