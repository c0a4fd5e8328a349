//! The st-compatible claim ledger (`.step/st-plan.jsonl`, JSONL v3), piece by piece.
//!
//! So far: lock roots, the rule that decides which claims may run in the same wave. The
//! ledger file, claims, leases and the locked atomic rewrite build on it (see the issue for the
//! claim scenarios).

pub mod lock_roots;
