//! The stages that rewrite a document: one file per stage.
//!
//! Each stage is built once from its config (`PunctuationConfig` →
//! `PunctuationNormalizer`) and is `Send + Sync`, so one instance serves all
//! threads. Stages record every change; they never print or do I/O.

pub mod dedup;
pub mod names;
pub mod near;
pub mod punctuation;
