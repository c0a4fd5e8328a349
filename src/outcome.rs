//! Outcomes as types: every failure code cas reports, and the other closed sets of its reports.
//!
//! One [`FailureCode`] enum serves scenario verdicts, control lanes, hook summaries, review
//! records, ledger refusals and exit-2 refusals, so a code is spelled once and `match` proves
//! every case handled. Each serializes as its snake_case name, exactly as the README's
//! failure-code table lists it (a unit test holds the two together).

use serde::{Deserialize, Serialize};
use std::fmt;

/// Declares [`FailureCode`] from one name table, so `ALL`, `as_str` and serde cannot disagree.
macro_rules! failure_codes {
    ($($(#[$doc:meta])* $name:ident = $text:literal,)*) => {
        /// A machine-readable reason why a check, lane, scenario or review failed.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub enum FailureCode {
            $($(#[$doc])* #[serde(rename = $text)] $name,)*
        }

        impl FailureCode {
            /// Every code, in declaration order.
            pub const ALL: &'static [FailureCode] = &[$(FailureCode::$name),*];

            /// The snake_case name, as serialized.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(FailureCode::$name => $text),*
                }
            }
        }
    };
}

failure_codes! {
    /// cas could not create the scenario's scratch workspace.
    WorkspaceFailed = "workspace_failed",
    /// No codex binary was found (or it is not executable).
    CodexNotFound = "codex_not_found",
    /// `codex --version` failed, hung or printed no version.
    CodexVersionFailed = "codex_version_failed",
    /// The codex lacks what the command relies on (a method of its protocol surface).
    IncompatibleCodex = "incompatible_codex",
    /// The codex cannot run a review lane cas can drive (a review method or a launch flag is missing).
    IncompatibleCodexReviewRuntime = "incompatible_codex_review_runtime",
    /// A flag value, file or argument cas cannot use; nothing was run.
    UsageError = "usage_error",
    /// A scenario file does not load (bad TOML or a broken rule); the suite runs the rest.
    ScenarioUnloadable = "scenario_unloadable",
    /// cas could not prepare or read what it keeps locally (a folder, a file, a record, git).
    SetupFailed = "setup_failed",
    /// A websocket connection to the server could not be opened (refused, timed out, bad token).
    ConnectFailed = "connect_failed",
    /// The codex's protocol surface could not be generated or read.
    SurfaceFailed = "surface_failed",
    /// `cas bench` could not complete a measurement.
    BenchFailed = "bench_failed",
    /// The target server could not be started.
    LaunchFailed = "launch_failed",
    /// The scenario's deadline passed during a step.
    ScenarioDeadline = "scenario_deadline",
    /// A step talks to a server and the run has none.
    NoServer = "no_server",
    /// A step reached the wrong part of the engine (a bug in cas).
    Internal = "internal",
    /// The session failed in a way other than a timeout or a closed connection.
    SessionError = "session_error",
    /// A request got no response before its deadline.
    NoResponse = "no_response",
    /// The connection closed before the step was done.
    ConnectionClosed = "connection_closed",
    /// A lane's wait passed its deadline (the message names what was awaited).
    DeadlineExceeded = "deadline_exceeded",
    /// Overload (`-32001`) answers went on past the retry budget.
    OverloadRetryExhausted = "overload_retry_exhausted",
    /// The server answered a lane's request with a JSON-RPC error (the message has its code).
    ServerError = "server_error",
    /// The command was interrupted (SIGINT or SIGTERM); its report is partial.
    Interrupted = "interrupted",
    /// A result did not match the expected one.
    ResultMismatch = "result_mismatch",
    /// An error came where a result was expected.
    UnexpectedError = "unexpected_error",
    /// A result came where an error was expected.
    UnexpectedResult = "unexpected_result",
    /// An error did not match the expected one (code, data or message).
    ErrorMismatch = "error_mismatch",
    /// No matching notification arrived before the step's timeout.
    NoNotification = "no_notification",
    /// No matching server request arrived before the step's timeout.
    NoServerRequest = "no_server_request",
    /// Something arrived during an expected silence window.
    SilenceBroken = "silence_broken",
    /// No request to the mock model with the step's number arrived before the step's timeout.
    NoModelRequest = "no_model_request",
    /// A request codex sent to the mock model did not match the expected one.
    ModelRequestMismatch = "model_request_mismatch",
    /// A workspace file is missing, present, or holds other contents than the step expects.
    FileMismatch = "file_mismatch",
    /// A `run` step's command ended with another exit code or output, or did not end in time.
    CommandFailed = "command_failed",
    /// A websocket upgrade a `connect` step expected refused was accepted or refused otherwise.
    ConnectionNotRefused = "connection_not_refused",
    /// A `drain` or `answer_all` count did not match the expected one.
    CountMismatch = "count_mismatch",
    /// A notification an `expect_never` step forbids arrived.
    NeverBroken = "never_broken",
    /// What a step with `before` took arrived after what the named step took.
    OrderViolated = "order_violated",
    /// The server sent a request no step answered (cas refused it with -32601).
    UnansweredServerRequest = "unanswered_server_request",
    /// The server sent a line that is not JSON-RPC.
    MalformedMessage = "malformed_message",
    /// A retried request made a different number of attempts than expected.
    AttemptsMismatch = "attempts_mismatch",
    /// A retried request slept other delays than the seeded schedule.
    DelaysMismatch = "delays_mismatch",
    /// Requests of a burst got no response at all.
    BurstRequestsLost = "burst_requests_lost",
    /// Requests of a burst failed other than with overload.
    BurstRequestsFailed = "burst_requests_failed",
    /// A burst expected to overload the server saw no overload error.
    OverloadNotObserved = "overload_not_observed",
    /// A branch of a parallel group failed.
    BranchFailed = "branch_failed",
    /// A ledger step's operation does not parse.
    LedgerStepInvalid = "ledger_step_invalid",
    /// A ledger operation panicked or was cancelled.
    LedgerStepPanicked = "ledger_step_panicked",
    /// The ledger accepted an operation the step expected it to refuse.
    LedgerAccepted = "ledger_accepted",
    /// The ledger's `show` printed no items array.
    LedgerShowInvalid = "ledger_show_invalid",
    /// An item the step checks is not in the ledger.
    LedgerItemMissing = "ledger_item_missing",
    /// A ledger item or count did not match the expected one.
    LedgerMismatch = "ledger_mismatch",
    /// Two held claims have overlapping lock roots.
    HeldRootsOverlap = "held_roots_overlap",
    /// smoke_check: the server does not know the thread given with `--thread-id`.
    UnknownThread = "unknown_thread",
    /// smoke_check: the `--cwd` given is not a directory, so no server or thread can use it.
    InvalidCwd = "invalid_cwd",
    /// smoke_check `--turn-completes`: the smoke turn did not complete with a model answer.
    TurnFailed = "turn_failed",
    /// The codex cannot honour the hook policy asked for.
    HooksUnsupported = "hooks_unsupported",
    /// No hook run was seen under `--hooks require-observed`.
    HookNotObserved = "hook_not_observed",
    /// A hook run ended `blocked`.
    HookBlocked = "hook_blocked",
    /// A hook run ended `failed`.
    HookFailed = "hook_failed",
    /// A hook run ended `stopped`.
    HookStopped = "hook_stopped",
    /// A hook run was seen under `--hooks off`.
    HookObservedWhileOff = "hook_observed_while_off",
    /// The review is still running when `wait` gave up (the handle stays waitable).
    WaitTimedOut = "wait_timed_out",
    /// The review turn was interrupted.
    ReviewInterrupted = "review_interrupted",
    /// cas declined or denied an approval during the review.
    ApprovalDenied = "approval_denied",
    /// The review turn failed, `review/start` was refused, or the lane deadline passed.
    ReviewFailed = "review_failed",
    /// The review completed without review JSON.
    ReviewOutputMissing = "review_output_missing",
    /// The websocket review lane could not come up.
    WebsocketBootstrapFailed = "websocket_bootstrap_failed",
    /// The stdio review lane's server could not start or answer `initialize`.
    StdioBootstrapFailed = "stdio_bootstrap_failed",
    /// The connection or the review host went away before the turn ended.
    ReviewTransportLost = "review_transport_lost",
    /// The parent thread is busy or otherwise unsafe to review from.
    UnsafeParentThreadState = "unsafe_parent_thread_state",
    /// The parent thread to reuse has no rollout yet.
    ParentThreadNotMaterialized = "parent_thread_not_materialized",
    /// The review target does not exist or has nothing to review (checked before launch).
    ReviewTargetInvalid = "review_target_invalid",
    // The ledger's refusals, named as `st` names them, in snake case.
    /// A line that is not a JSON object.
    InvalidRecord = "invalid_record",
    /// A record whose `seq` is missing, not an integer or negative.
    InvalidSeq = "invalid_seq",
    /// A record whose `v` is not 2 or 3.
    UnsupportedSchemaVersion = "unsupported_schema_version",
    /// A v3 record whose `lane` is neither `event` nor `checkpoint`.
    InvalidLane = "invalid_lane",
    /// A checkpoint without an `items` array.
    InvalidCheckpoint = "invalid_checkpoint",
    /// A `replace` event without an `items` array.
    ReplaceMissingItems = "replace_missing_items",
    /// An `upsert` event without an `item`.
    UpsertMissingItem = "upsert_missing_item",
    /// An event whose `op` is unknown.
    InvalidOp = "invalid_op",
    /// The stream breaks the checkpoint seq rule or trailing seqs do not increase.
    SeqContractViolation = "seq_contract_violation",
    /// An item that is not an object or has a field of the wrong shape.
    InvalidItem = "invalid_item",
    /// An item without a non-empty string `id`.
    MissingItemId = "missing_item_id",
    /// An item without a non-empty string `step`.
    MissingStepValue = "missing_step_value",
    /// An item without a `deps` array.
    MissingDepsValue = "missing_deps_value",
    /// A status outside the known set (after normalization).
    InvalidStatus = "invalid_status",
    /// A priority other than high, medium or low.
    InvalidPriority = "invalid_priority",
    /// A dependency type that is not kebab-case.
    InvalidDepType = "invalid_dep_type",
    /// Two items with the same id in one snapshot.
    DuplicateItemId = "duplicate_item_id",
    /// An op naming an id that is not in the ledger.
    UnknownItemId = "unknown_item_id",
    /// An item that depends on itself.
    SelfDependency = "self_dependency",
    /// A dependency on an id that is not in the ledger.
    UnknownDependency = "unknown_dependency",
    /// Dependencies that form a cycle.
    DependencyCycle = "dependency_cycle",
    /// An item whose dependencies are not completed.
    UnresolvedDependencies = "unresolved_dependencies",
    /// An in-plan item whose unfinished dependency is not in the plan.
    PlanDependencyNotSelected = "plan_dependency_not_selected",
    /// More than one `in_progress` item outside a safe parallel wave.
    MultipleInProgress = "multiple_in_progress",
    /// A claim on an item that another unexpired held claim owns.
    ItemAlreadyClaimed = "item_already_claimed",
    /// Lock roots that overlap another held claim or an earlier target of the same claim.
    ScopeClaimConflict = "scope_claim_conflict",
    /// `--ids` given together with a `--wave` that names imported OrchPlan items.
    OrchplanWaveClaimDoesNotAcceptIds = "orchplan_wave_claim_does_not_accept_ids",
    /// A claim with neither an OrchPlan wave nor `--ids`.
    MissingIdsValue = "missing_ids_value",
    /// An op that needs a held claim on an item that has none.
    NoHeldClaim = "no_held_claim",
    /// A claim on an item whose status cannot be claimed.
    InvalidClaimState = "invalid_claim_state",
    /// A lease of zero or fewer seconds.
    InvalidLeaseSeconds = "invalid_lease_seconds",
    /// An executor other than teams, mesh or local.
    InvalidExecutor = "invalid_executor",
    /// A runtime substrate other than spawn_agent, spawn_agents_on_csv or local.
    InvalidRuntimeSubstrate = "invalid_runtime_substrate",
    /// A proof state other than pass, fail or not_run.
    InvalidProofState = "invalid_proof_state",
    /// A flag value that is given but empty.
    EmptyString = "empty_string",
    /// An OrchPlan that cannot be read or has no tasks.
    InvalidOrchPlan = "invalid_orch_plan",
    /// The `<file>.lock` sidecar could not be taken before the deadline.
    LockTimeout = "lock_timeout",
    /// Inside a git work tree, the `<file>.lock` sidecar is not git-ignored.
    LockSidecarNotGitignored = "lock_sidecar_not_gitignored",
    /// `git` could not answer whether the lock sidecar is ignored.
    GitCommandFailed = "git_command_failed",
    /// Reading or writing the plan file failed.
    FileIo = "file_io",
    /// An `st` binary failed without printing a known identifier.
    StCommandFailed = "st_command_failed",
    /// An `st` binary did not finish before its deadline (it was killed).
    StCommandTimeout = "st_command_timeout",
    /// `show` output that is not `{"items":[…]}`.
    InvalidShowOutput = "invalid_show_output",
}

impl FailureCode {
    /// The code named `text` (its snake_case name), if there is one.
    pub fn from_name(text: &str) -> Option<FailureCode> {
        FailureCode::ALL
            .iter()
            .copied()
            .find(|c| c.as_str() == text)
    }
}

impl fmt::Display for FailureCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether a codex has what a command or scenario relies on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CompatibilityVerdict {
    /// Every method and notification relied on is there.
    Compatible,
    /// Something relied on is missing (or the hook policy cannot be honoured).
    Incompatible,
    /// Not checked: a `--url` server cas does not control.
    #[default]
    Unchecked,
}

/// A turn's status as codex sends it (`turn.status`); an unknown value is kept as data.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub enum TurnStatus {
    /// The turn finished normally.
    Completed,
    /// The turn was interrupted (`turn/interrupt`).
    Interrupted,
    /// The turn failed; its error says why.
    Failed,
    /// The turn is still running.
    InProgress,
    /// A status this cas does not know, exactly as sent.
    Other(String),
}

impl TurnStatus {
    /// The status as codex spells it.
    pub fn as_str(&self) -> &str {
        match self {
            TurnStatus::Completed => "completed",
            TurnStatus::Interrupted => "interrupted",
            TurnStatus::Failed => "failed",
            TurnStatus::InProgress => "inProgress",
            TurnStatus::Other(text) => text,
        }
    }
}

impl From<&str> for TurnStatus {
    fn from(text: &str) -> TurnStatus {
        match text {
            "completed" => TurnStatus::Completed,
            "interrupted" => TurnStatus::Interrupted,
            "failed" => TurnStatus::Failed,
            "inProgress" => TurnStatus::InProgress,
            other => TurnStatus::Other(other.to_owned()),
        }
    }
}

impl From<String> for TurnStatus {
    fn from(text: String) -> TurnStatus {
        TurnStatus::from(text.as_str())
    }
}

impl From<TurnStatus> for String {
    fn from(status: TurnStatus) -> String {
        status.as_str().to_owned()
    }
}

impl fmt::Display for TurnStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests;

/// Which cas command a report, a verdict or a set of protocol requirements is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckName {
    /// `cas request`.
    Request,
    /// `cas instance_runner`.
    InstanceRunner,
    /// `cas smoke_check`.
    SmokeCheck,
    /// `cas review_session`.
    ReviewSession,
    /// `cas conformance` (the suite's own needs, beyond its scenarios').
    Conformance,
}

impl CheckName {
    /// The command's name, as serialized.
    pub fn as_str(self) -> &'static str {
        match self {
            CheckName::Request => "request",
            CheckName::InstanceRunner => "instance_runner",
            CheckName::SmokeCheck => "smoke_check",
            CheckName::ReviewSession => "review_session",
            CheckName::Conformance => "conformance",
        }
    }
}

impl fmt::Display for CheckName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
