//! The probe steps of the scenario format: the ledger read, parallel instances and bursts.
//!
//! These are the steps that are not one protocol exchange with one server. Like the rest of the
//! format they refuse unknown keys.

use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;

use super::format::{RetrySpec, StepSpec};

/// Read the ledger (every item, with st's derived fields) and check items by id.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LedgerShowStep {
    /// Item id → the subset its enriched item must contain.
    #[serde(default)]
    pub items: BTreeMap<String, Value>,
    /// Item id → keys the enriched item must not have (e.g. `runtime` after a reclaim).
    #[serde(default)]
    pub absent: BTreeMap<String, Vec<String>>,
    /// The number of `in_progress` items, when it matters.
    #[serde(default)]
    pub in_progress: Option<usize>,
    /// The held claims' lock roots must not overlap pairwise.
    #[serde(default)]
    pub held_roots_disjoint: bool,
}

/// One fresh, isolated instance of the target per entry of `for_each`, all at once.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParallelStep {
    /// One branch per entry; a branch sees its entry as `${item}`, and what it captures as NAME
    /// is known afterwards as `${ENTRY.NAME}`.
    pub for_each: Vec<String>,
    /// The protocol steps each branch runs on its own instance, in order.
    pub steps: Vec<StepSpec>,
}

/// Many requests written at once on one connection; every one must end in a result or an
/// error that is reported, none may go unanswered.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BurstStep {
    /// The method of every request.
    pub method: String,
    /// Their params (default `{}`).
    #[serde(default)]
    pub params: Option<Value>,
    /// How many requests.
    pub count: u32,
    /// Retry `-32001` answers of each request on this schedule (seed + request index).
    #[serde(default)]
    pub retry: Option<RetrySpec>,
    /// At least one first answer must be `-32001` (the burst really overloaded the server).
    #[serde(default)]
    pub expect_overload: bool,
    /// Every request must end in a result (after retries, if any).
    #[serde(default)]
    pub expect_all_succeed: bool,
}
