//! The st-compatible claim ledger (`.step/st-plan.jsonl`, JSONL v3) that claim scenarios probe.
//!
//! It is the source of truth the scenarios check, not something cas owns for users: the same
//! [`Op`]s run in-process ([`InProcess`] over a [`ClaimLedger`]) or against a user's `st` binary
//! ([`External`]). Invariants: every mutation holds the `<file>.lock` sidecar lock, validates
//! before and after, and replaces the file atomically with the canonical `replace` + `checkpoint`
//! pair at the next seq, so a failing op or a killed writer leaves the previous file intact.
//! Modules by concern: [`record`] (the stream), [`item`] / [`item_read`] (item shape),
//! [`validate`] (§4), [`store`] (lock and atomic write), [`ops`] (§3), [`show`] (§6),
//! [`orchplan`] / [`yaml`] (import), [`lock_roots`] (§5), [`backend`] (what scenarios drive).

pub mod backend;
mod child;
pub mod claim_ledger;
pub mod clock;
pub mod error;
pub mod fields;
pub mod item;
pub mod item_read;
pub mod lock_roots;
pub mod ops;
pub mod orchplan;
pub mod record;
pub mod show;
pub mod store;
pub mod validate;
pub mod yaml;

pub use backend::{ClaimBackend, External, InProcess};
pub use claim_ledger::ClaimLedger;
pub use clock::Clock;
pub use error::{ErrorCode, LedgerError};
pub use ops::Op;
pub use record::{parse_stream, Ledger};
pub use show::Surface;

#[cfg(test)]
mod tests;
