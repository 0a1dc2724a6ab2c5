//! The three phases of a run: **index** → **decide** → **apply**.
//!
//! * [`index`] reads every document in parallel, cleans it in memory and
//!   keeps only the keys of its blocks ([`crate::pipeline::KeyedBlock`]:
//!   block position, line, 128-bit key), never the text.
//! * [`decide`] walks those keys once in input order (paths sorted bytewise)
//!   and chooses, for every repeated key, which copy survives. It is the
//!   only sequential step, and the only one that sees the whole corpus.
//! * [`apply`] reads every document again in parallel, cleans it the same
//!   way, removes or marks the blocks the decisions name, checks that
//!   cleaning the result changes nothing, and hands back the bytes.
//!
//! A run over dumps with no near duplicates and no report does all three
//! in one read of each dump, chunk by chunk (`crate::dump`), with the same
//! [`decide::ExactDecider`] and the same decisions.
//!
//! Between the phases only serde-serializable values travel (`KeyedBlock`,
//! [`decide::Decision`]), so each phase can later run as its own job.

pub mod apply;
pub mod decide;
pub mod index;
pub mod near;
