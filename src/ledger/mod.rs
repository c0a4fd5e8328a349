//! The st-compatible claim ledger (`.step/st-plan.jsonl`, JSONL v3) that claim scenarios probe.
//!
//! It is the source of truth the scenarios check, not something cas owns for users: the same
//! [`Op`]s run in-process ([`InProcess`] over a [`ClaimLedger`]) or against a user's `st` binary
//! ([`External`]). Invariants: every mutation holds the `<file>.lock` sidecar lock, validates
//! before and after, and replaces the file atomically with the canonical `replace` + `checkpoint`
//! pair at the next seq, so a failing op or a killed writer leaves the previous file intact.
//! Modules by concern: `record` (the stream), `item` / `item_read` (item shape),
//! `validate` (§4), `store` (lock and atomic write), `ops` (§3; `claiming` for `claim`),
//! `show` (§6), `orchplan` / `yaml` (import), `lock_roots` (§5), `backend` (what scenarios
//! drive).

pub(crate) mod backend;
mod child;
pub(crate) mod claim_ledger;
pub(crate) mod claiming;
pub(crate) mod clock;
pub(crate) mod error;
pub(crate) mod fields;
pub(crate) mod item;
pub(crate) mod item_read;
pub(crate) mod lock_roots;
pub(crate) mod ops;
pub(crate) mod orchplan;
pub(crate) mod record;
pub(crate) mod show;
pub(crate) mod store;
pub(crate) mod validate;
pub(crate) mod yaml;

pub use backend::{ClaimBackend, External, InProcess};
pub use claim_ledger::ClaimLedger;
pub use clock::Clock;
pub use error::{ErrorCode, LedgerError};
pub use fields::Lease;
pub use lock_roots::lists_overlap;
pub use ops::Op;
pub use record::{parse_stream, Ledger};
pub use show::Surface;

#[cfg(test)]
mod tests;
