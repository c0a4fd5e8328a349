//! cas drives codex app-servers and tells the truth about them.
//!
//! One library does the work; the `cas` CLI and the `cargo test` conformance harness are thin
//! fronts over it, so `cas conformance` and `cargo test` cannot disagree. The wire core
//! ([`jsonrpc`], [`transport`], [`session`]) speaks the app-server protocol; [`launch`] and
//! [`target`] start what a run talks to (the real codex against the [`launch::mock_model`], or the
//! built-in [`fake`] server); [`scenario`] runs declarative checks and produces a [`verdict`].

pub mod bench;
pub mod cli;
pub mod commands;
pub mod errors;
pub mod fake;
pub mod fanout;
pub mod hooks;
pub mod jsonrpc;
pub mod launch;
pub mod ledger;
pub mod matcher;
pub mod outcome;
pub mod policy;
pub mod protocol;
pub mod resources;
pub mod retry;
pub mod review;
pub mod runtime;
pub mod scenario;
pub mod schema;
pub mod session;
pub mod smoke;
pub mod summary;
pub mod target;
pub mod transport;
pub mod verdict;
