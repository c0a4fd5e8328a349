//! cas drives codex app-servers and tells the truth about them.
//!
//! One library does the work; the `cas` CLI and the `cargo test` conformance harness are thin
//! fronts over it, so `cas conformance` and `cargo test` cannot disagree. What a user of the
//! crate needs is public; everything else is crate-private, so the compiler reports dead code.
//!
//! - The wire: [`jsonrpc`] (messages), [`transport`] (one `Connection` over stdio, websocket or
//!   memory), [`session`] (one read loop: correlation, deadlines, server-request answering),
//!   [`protocol`] (method names and the few typed views cas reads).
//! - Answering and retrying: [`policy`] (what cas answers to each server request), [`retry`]
//!   (the `-32001` backoff schedule).
//! - Starting servers: [`launch`] (resolve codex, its launch flags, stdio and websocket servers,
//!   hermetic and template homes, the mock model), [`target`] (the conformance targets).
//! - Checking: [`scenario`] (load and run declarative scenario files), [`verdict`] (what a run
//!   found), [`outcome`] (every failure code), [`schema`] (protocol surface, diff,
//!   compatibility), [`ledger`] (the st-compatible claim ledger), [`review`] (review records
//!   and their lifecycle).
//! - [`errors`]: every error type; [`run`]: the `cas` command line.

pub mod errors;
pub mod gc;
pub mod interrupt;
pub mod jsonrpc;
pub mod launch;
pub mod ledger;
pub mod outcome;
pub mod policy;
pub mod protocol;
pub mod retry;
pub mod review;
pub mod scenario;
pub mod schema;
pub mod session;
pub mod target;
pub mod transcript;
pub mod transport;
pub mod verdict;

pub(crate) mod bench;
pub(crate) mod cli;
pub(crate) mod commands;
pub(crate) mod fake;
pub(crate) mod fanout;
pub(crate) mod hooks;
pub(crate) mod matcher;
pub(crate) mod progress;
pub(crate) mod resources;
pub(crate) mod runtime;
pub(crate) mod smoke;
pub(crate) mod summary;
pub(crate) mod text;

pub use cli::run;
pub use hooks::HookPolicy;
