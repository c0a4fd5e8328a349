//! Declarative conformance scenarios: the file format, loading, matching, and the step engine.
//!
//! A scenario file describes client steps and their expectations, plus a script for the fake
//! server; the engine runs it on a target and produces a [`crate::verdict::Verdict`]. A new
//! protocol check that uses existing step kinds needs no Rust code.

pub mod catalogue;
pub mod engine;
pub mod format;
pub mod load;

pub(crate) mod shipped;
pub mod suite;
pub(crate) mod workspace;

pub use engine::run;
pub use format::TargetName;
pub use load::{base_dir, discover, find, load, name_of, Scenario};
