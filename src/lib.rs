//! scour cleans document dumps: it finds duplicate paragraphs by hashing
//! them, normalizes punctuation, Unicode and person names, records every
//! change with the rule that made it, and writes cleaned copies.
//!
//! The library is the engine; it never prints and never exits. A run is
//! [`config::Config`] → [`pipeline::Pipeline`] → [`input::discover`] →
//! [`run::run`], which goes through the three [`phases`] and returns a
//! [`run::RunOutcome`] holding the [`report::Summary`]. To clean one text in
//! memory, use [`phases::apply::clean_alone`]; to list the name variants of
//! some inputs without a run, [`variants::collect`].
//!
//! ```
//! use scour::{config::Config, phases::apply::clean_alone, pipeline::Pipeline};
//!
//! let pipeline = Pipeline::new(Config::default());
//! let text = "Minister MOTEGI met the WTO “team” .\n";
//! assert_eq!(clean_alone(&pipeline, text).unwrap(), "Minister Motegi met the WTO \"team\".\n");
//! ```
#![deny(clippy::print_stdout, clippy::print_stderr)]

pub mod compare;
pub mod config;
pub mod diff;
pub mod document;
pub mod dump;
pub mod edit;
pub mod formats;
pub mod html;
pub mod input;
pub mod phases;
pub mod pipeline;
pub mod report;
pub mod review;
pub mod rule;
pub mod run;
pub mod segment;
pub mod stages;
pub mod variants;
pub mod write;
