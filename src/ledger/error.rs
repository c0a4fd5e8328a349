//! The ledger's one error type: an `st` error identifier plus a detail.
//!
//! Scenarios and the external-`st` backend compare failures by identifier, so the identifiers are
//! exactly `st`'s (`ItemAlreadyClaimed`, `ScopeClaimConflict`, …) and an error read back from an
//! `st` binary keeps whatever identifier it printed. The detail is lower case, values embedded.

use std::fmt;

use crate::outcome::FailureCode;

macro_rules! error_codes {
    ($($(#[$doc:meta])* $name:ident),* $(,)?) => {
        /// Every identifier the in-process ledger produces (named as `st` names them).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum ErrorCode {
            $($(#[$doc])* $name),*
        }

        impl ErrorCode {
            /// All identifiers, for recognizing them in an `st` binary's stderr.
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$name),*];

            /// The failure code this refusal is reported as (the identifier in snake case).
            pub fn failure_code(self) -> FailureCode {
                match self {
                    $(ErrorCode::$name => FailureCode::$name),*
                }
            }

            /// The identifier as `st` prints it.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(ErrorCode::$name => stringify!($name)),*
                }
            }
        }
    };
}

error_codes! {
    /// A line that is not a JSON object.
    InvalidRecord,
    /// A record whose `seq` is negative.
    InvalidSeq,
    /// A record whose `v` is not 2 or 3 (an `st` binary's identifier; in-process, as in st,
    /// such a record breaks the seq contract first).
    UnsupportedSchemaVersion,
    /// A v3 record whose `lane` is neither `event` nor `checkpoint` (an `st` binary's identifier;
    /// in-process, as in st, such a record breaks the seq contract first).
    InvalidLane,
    /// A checkpoint without an `items` array.
    InvalidCheckpoint,
    /// A `replace` event without an `items` array.
    ReplaceMissingItems,
    /// An `upsert` event without an `item`.
    UpsertMissingItem,
    /// An event whose `op` is unknown.
    InvalidOp,
    /// A record with a missing or unsupported `v`, a missing or non-integer `seq` or an unknown
    /// lane, a checkpoint off the watermark, or trailing seqs that do not increase.
    SeqContractViolation,
    /// An item that is not an object or has a field of the wrong shape.
    InvalidItem,
    /// An item without a non-empty string `id`.
    MissingItemId,
    /// An item without a non-empty string `step`.
    MissingStepValue,
    /// An item without a `deps` array.
    MissingDepsValue,
    /// A status outside the known set (after normalization).
    InvalidStatus,
    /// A priority other than high, medium or low.
    InvalidPriority,
    /// A dependency type that is not kebab-case.
    InvalidDepType,
    /// Two items with the same id in one snapshot.
    DuplicateItemId,
    /// An op naming an id that is not in the ledger.
    UnknownItemId,
    /// An item that depends on itself.
    SelfDependency,
    /// A dependency on an id that is not in the ledger.
    UnknownDependency,
    /// Dependencies that form a cycle.
    DependencyCycle,
    /// An item whose dependencies are not completed.
    UnresolvedDependencies,
    /// An in-plan item whose unfinished dependency is not in the plan.
    PlanDependencyNotSelected,
    /// More than one `in_progress` item outside a safe parallel wave.
    MultipleInProgress,
    /// A claim on an item that another unexpired held claim owns.
    ItemAlreadyClaimed,
    /// Lock roots that overlap another held claim or an earlier target of the same claim.
    ScopeClaimConflict,
    /// `--ids` given together with a `--wave` that names imported OrchPlan items.
    OrchplanWaveClaimDoesNotAcceptIds,
    /// A claim with neither an OrchPlan wave nor `--ids`.
    MissingIdsValue,
    /// An op that needs a held claim on an item that has none.
    NoHeldClaim,
    /// A claim on an item whose status cannot be claimed.
    InvalidClaimState,
    /// A lease of zero or fewer seconds.
    InvalidLeaseSeconds,
    /// An executor other than teams, mesh or local.
    InvalidExecutor,
    /// A runtime substrate other than spawn_agent, spawn_agents_on_csv or local.
    InvalidRuntimeSubstrate,
    /// A proof state other than pass, fail or not_run.
    InvalidProofState,
    /// A flag value that is given but empty.
    EmptyString,
    /// An OrchPlan that cannot be read or has no tasks.
    InvalidOrchPlan,
    /// The `<file>.lock` sidecar could not be taken before the deadline.
    LockTimeout,
    /// Inside a git work tree, the `<file>.lock` sidecar is not git-ignored.
    LockSidecarNotGitignored,
    /// `git` could not answer whether the lock sidecar is ignored.
    GitCommandFailed,
    /// Reading or writing the plan file failed.
    FileIo,
    /// An `st` binary failed without printing a known identifier.
    StCommandFailed,
    /// An `st` binary did not finish before its deadline (it was killed).
    StCommandTimeout,
    /// `show` output that is not `{"items":[…]}`.
    InvalidShowOutput,
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A ledger failure: the `st` identifier and what exactly went wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {detail}")]
pub struct LedgerError {
    code: String,
    detail: String,
}

impl LedgerError {
    /// An error the in-process ledger raises.
    pub fn new(code: ErrorCode, detail: impl Into<String>) -> LedgerError {
        LedgerError {
            code: code.as_str().to_owned(),
            detail: detail.into(),
        }
    }

    /// An error reported by something else (an `st` binary) under its own identifier.
    pub fn foreign(code: impl Into<String>, detail: impl Into<String>) -> LedgerError {
        LedgerError {
            code: code.into(),
            detail: detail.into(),
        }
    }

    /// The `st` identifier, e.g. `ItemAlreadyClaimed`.
    pub fn code(&self) -> &str {
        &self.code
    }

    /// What went wrong, with the offending values.
    pub fn detail(&self) -> &str {
        &self.detail
    }

    /// The failure code this error is reported as: its identifier's, or `st_command_failed` for
    /// an identifier an `st` binary printed that cas does not know.
    pub fn failure_code(&self) -> FailureCode {
        ErrorCode::ALL
            .iter()
            .find(|c| c.as_str() == self.code)
            .map_or(FailureCode::StCommandFailed, |c| c.failure_code())
    }

    /// Whether this is the given identifier.
    pub fn is(&self, code: ErrorCode) -> bool {
        self.code == code.as_str()
    }

    /// The same error with `context` put in front of the detail (e.g. the line number).
    pub fn context(self, context: impl fmt::Display) -> LedgerError {
        LedgerError {
            code: self.code,
            detail: format!("{context}: {}", self.detail),
        }
    }
}

/// Shorthand for `Err(LedgerError::new(code, detail))`.
pub(crate) fn fail<T>(code: ErrorCode, detail: impl Into<String>) -> Result<T, LedgerError> {
    Err(LedgerError::new(code, detail))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_is_code_colon_detail() {
        let e = LedgerError::new(ErrorCode::ItemAlreadyClaimed, "cfg is held by tk");
        assert_eq!(e.to_string(), "ItemAlreadyClaimed: cfg is held by tk");
        assert!(e.is(ErrorCode::ItemAlreadyClaimed));
        assert_eq!(
            e.context("line 3").to_string(),
            "ItemAlreadyClaimed: line 3: cfg is held by tk"
        );
    }

    #[test]
    fn identifiers_are_the_variant_names() {
        assert_eq!(
            ErrorCode::OrchplanWaveClaimDoesNotAcceptIds.as_str(),
            "OrchplanWaveClaimDoesNotAcceptIds"
        );
        assert!(ErrorCode::ALL.contains(&ErrorCode::LockTimeout));
    }

    #[test]
    fn each_identifier_is_reported_as_its_snake_case_failure_code() {
        let snake = |identifier: &str| {
            let mut out = String::new();
            for (i, c) in identifier.chars().enumerate() {
                if c.is_ascii_uppercase() && i > 0 {
                    out.push('_');
                }
                out.push(c.to_ascii_lowercase());
            }
            out
        };
        for &code in ErrorCode::ALL {
            assert_eq!(code.failure_code().as_str(), snake(code.as_str()));
        }
        assert_eq!(
            ErrorCode::OrchplanWaveClaimDoesNotAcceptIds
                .failure_code()
                .as_str(),
            "orchplan_wave_claim_does_not_accept_ids"
        );
        let foreign = LedgerError::foreign("NoSuchThing", "from st");
        assert_eq!(foreign.failure_code(), FailureCode::StCommandFailed);
    }
}
