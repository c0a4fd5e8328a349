//! cas drives codex app-servers and tells the truth about them.
//!
//! One library does the work; the `cas` CLI and the `cargo test` conformance harness are thin
//! fronts over it, so `cas conformance` and `cargo test` cannot disagree. The wire core
//! ([`jsonrpc`], [`transport`], [`session`]) speaks the app-server protocol; [`launch`] and
//! [`target`] start what a run talks to (the real codex against a mock model, or the built-in
//! [`fake`] server); [`scenario`] runs declarative checks and produces a [`verdict`].

pub mod errors;
pub mod jsonrpc;
pub mod protocol;
pub mod session;
pub mod transport;
