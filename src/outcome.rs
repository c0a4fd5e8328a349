//! Outcomes as types: every failure code cas reports, and the other closed sets of its reports.
//!
//! One [`FailureCode`] enum serves scenario verdicts, control lanes, hook summaries, review
//! records and exit-2 refusals, so a code is spelled once and `match` proves every case handled.
//! Each serializes as its snake_case name, exactly as the README's failure-code table lists it.

use serde::{Deserialize, Serialize};

/// A machine-readable reason why a check, lane, scenario or review failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureCode {
    /// The codex cannot honour the hook policy asked for.
    HooksUnsupported,
}

/// Whether a codex has what a command or scenario relies on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CompatibilityVerdict {
    /// Every method and notification relied on is there.
    Compatible,
    /// Something relied on is missing (or the hook policy cannot be honoured).
    Incompatible,
    /// Not checked: a `--url` server cas does not control.
    Unchecked,
}
