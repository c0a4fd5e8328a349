//! The scenario file format: TOML, one scenario per file, unknown keys refused.
//!
//! Keys cas owns are snake_case; protocol payloads (`params`, `expect_result`, …) are verbatim
//! camelCase JSON written as TOML tables. A negative twin names the scenario whose steps it
//! reuses (`negative_twin_of`), brings its own `[fake]` script that breaks a rule, and says
//! which failure it must produce. See `scenarios/README.md` for the guide.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use std::time::Duration;

use crate::errors::RuleError;
use crate::fake::script::FakeScript;
use crate::hooks::HookPolicy;
use crate::policy::PolicyConfig;
pub use crate::target::TargetName;
pub use model::{ExpectModelRequestStep, ModelScript, ServerExtras, ToolOutputCheck};
pub use world::{ExpectFileStep, RunStep, WriteFileStep};

mod model;
mod world;
pub use connections::{ConnectStep, Credentials, DEFAULT_CONNECTION};
pub use flow::{AnswerAllStep, AwaitResponseStep, DrainStep, NeverStep};

mod connections;
mod flow;

/// One scenario file as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioFile {
    /// What the scenario proves, in one or two sentences.
    pub description: String,
    /// Reuse the steps of this scenario (a name, e.g. "handshake"); this file then has no steps.
    #[serde(default)]
    pub negative_twin_of: Option<String>,
    /// The targets to run on; default: all four (twins: the two fake targets).
    #[serde(default)]
    pub targets: Option<Vec<TargetName>>,
    /// Default deadline of each waiting step (humantime, default "5s").
    #[serde(default)]
    pub step_timeout: Option<String>,
    /// Deadline of the whole scenario (humantime, default "60s").
    #[serde(default)]
    pub deadline: Option<String>,
    /// The status the verdict must have: "pass" (default) or "fail" (negative twins).
    #[serde(default)]
    pub expect_status: ExpectStatus,
    /// For `expect_status = "fail"`: the failure that must be among the verdict's failures.
    #[serde(default)]
    pub expect_failure: Option<ExpectedFailure>,
    /// The fake server's script (ignored on codex targets).
    #[serde(default)]
    pub fake: FakeScript,
    /// Hook policy and hooks to install (codex targets) for this scenario.
    #[serde(default)]
    pub hooks: Option<HooksSpec>,
    /// Answer server requests by this policy at once (as the control lanes do) instead of
    /// leaving them to `await_request` steps.
    #[serde(default)]
    pub policy: Option<PolicyConfig>,
    /// What kind of proof the scenario gives: `protocol` (default), `local`, `synthetic`, `live`.
    #[serde(default)]
    pub mode: Mode,
    /// Report the scenario under this name (a scenario proven in several modes, one file each).
    #[serde(default)]
    pub part_of: Option<String>,
    /// Named strings that steps use as `${NAME}`; a twin's values replace the original's.
    #[serde(default)]
    pub vars: BTreeMap<String, String>,
    /// The mock model's scripted answers (codex targets only).
    #[serde(default)]
    pub model: ModelScript,
    /// Environment, config keys, CODEX_HOME files and args of the server (codex targets only).
    #[serde(default)]
    pub server: ServerExtras,
    /// A twin's extra steps, each inserted after the original's step of that name.
    #[serde(default)]
    pub insert_steps: Vec<InsertedSteps>,
    /// The client steps, run in order.
    #[serde(default)]
    pub steps: Vec<StepSpec>,
    /// Methods, notifications or launch flags (`--disable`) the scenario relies on beyond what
    /// its steps name; on a codex lacking one it is `not_applicable`.
    #[serde(default)]
    pub requires: Vec<String>,
}

/// What kind of proof a scenario gives (reported as the scenario's `mode`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Protocol exchanges with one server.
    #[default]
    Protocol,
    /// Operations on a claim ledger in a scratch workspace (servers only where steps ask).
    Local,
    /// A scripted server shows a behaviour on demand (the fake).
    Synthetic,
    /// The real server is driven until it shows the behaviour itself.
    Live,
}

impl Mode {
    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Protocol => "protocol",
            Mode::Local => "local",
            Mode::Synthetic => "synthetic",
            Mode::Live => "live",
        }
    }
}

/// Steps a negative twin inserts into its original's steps.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InsertedSteps {
    /// The name of the original's step they follow.
    pub after: String,
    /// The steps.
    pub steps: Vec<StepSpec>,
}

/// The verdict status a scenario expects.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ExpectStatus {
    /// Every check holds.
    #[default]
    Pass,
    /// A check fails (negative twins).
    Fail,
}

/// The failure a negative twin must produce.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ExpectedFailure {
    /// The failure code, e.g. `unexpected_result` (an unknown code does not load).
    pub code: crate::outcome::FailureCode,
    /// The step it must occur in (its name), if it matters.
    #[serde(default)]
    pub step: Option<String>,
}

/// One step: exactly one of the kinds below, plus an optional name and timeout.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepSpec {
    /// A name for reports; default: the kind and method.
    #[serde(default)]
    pub name: Option<String>,
    /// Overrides the scenario's step timeout (humantime).
    #[serde(default)]
    pub timeout: Option<String>,
    /// Send a request and check its answer.
    #[serde(default)]
    pub request: Option<RequestStep>,
    /// Send a notification.
    #[serde(default)]
    pub notify: Option<NotifyStep>,
    /// Wait for a notification.
    #[serde(default)]
    pub await_notification: Option<AwaitNotificationStep>,
    /// Wait for a server request and answer it.
    #[serde(default)]
    pub await_request: Option<AwaitRequestStep>,
    /// Check that nothing (matching) arrives for a while.
    #[serde(default)]
    pub expect_silence: Option<SilenceStep>,
    /// Run one claim-ledger operation (`{ op = "claim", … }`, st's commands in snake_case).
    #[serde(default)]
    pub ledger: Option<Value>,
    /// With `ledger`: the operation must be refused with this st error (e.g. "ScopeClaimConflict").
    #[serde(default)]
    pub expect_ledger_error: Option<String>,
    /// Read the ledger (`show --surface all`) and check items by id.
    #[serde(default)]
    pub ledger_show: Option<LedgerShowStep>,
    /// Start one fresh instance of the target per entry and run sub-steps on all at once.
    #[serde(default)]
    pub parallel: Option<ParallelStep>,
    /// Pipeline many requests at once and account for every one.
    #[serde(default)]
    pub burst: Option<BurstStep>,
    /// Check a request codex sent to the mock model.
    #[serde(default)]
    pub expect_model_request: Option<ExpectModelRequestStep>,
    /// Write a file under the workspace.
    #[serde(default)]
    pub write_file: Option<WriteFileStep>,
    /// Check a file under the workspace.
    #[serde(default)]
    pub expect_file: Option<ExpectFileStep>,
    /// Run a command in the workspace.
    #[serde(default)]
    pub run: Option<RunStep>,
    /// Run this step on the named client connection (websocket targets), opened on first use.
    #[serde(default)]
    pub connection: Option<String>,
    /// Open the step's connection with these credentials (or expect it refused).
    #[serde(default)]
    pub connect: Option<ConnectStep>,
    /// Close the step's connection (`close_connection = true`).
    #[serde(default)]
    pub close_connection: Option<bool>,
    /// Wait this long (humantime).
    #[serde(default)]
    pub sleep: Option<String>,
    /// Take every notification of a method until one matches or the window ends.
    #[serde(default)]
    pub drain: Option<DrainStep>,
    /// A notification that must not arrive for the rest of the scenario.
    #[serde(default)]
    pub expect_never: Option<NeverStep>,
    /// Wait for and check the answer to a request sent with `wait = false`.
    #[serde(default)]
    pub await_response: Option<AwaitResponseStep>,
    /// Answer every server request of a method from now on, counting them.
    #[serde(default)]
    pub answer_all: Option<AnswerAllStep>,
    /// What this step took must have arrived before what the named step took.
    #[serde(default)]
    pub before: Option<String>,
}

/// Send a request; expect a result (default) or an error.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestStep {
    /// The method.
    pub method: String,
    /// The params (default `{}`; codex requires the key).
    #[serde(default)]
    pub params: Option<Value>,
    /// Send no `params` key at all.
    #[serde(default)]
    pub omit_params: bool,
    /// The result must contain this subset.
    #[serde(default)]
    pub expect_result: Option<Value>,
    /// The answer must be an error containing this subset (`{code, message?, data?}`).
    #[serde(default)]
    pub expect_error: Option<Value>,
    /// The error message must contain this text.
    #[serde(default)]
    pub expect_error_message_contains: Option<String>,
    /// Retry `-32001` answers on this schedule.
    #[serde(default)]
    pub retry: Option<RetrySpec>,
    /// With `retry`: exactly this many attempts must have been made.
    #[serde(default)]
    pub expect_attempts: Option<u32>,
    /// With `retry`: the delays slept between attempts, in milliseconds (the seeded schedule's).
    #[serde(default)]
    pub expect_delays_ms: Option<Vec<u64>>,
    /// `false`: send it and go on; an `await_response` step checks the answer (default `true`).
    #[serde(default)]
    pub wait: Option<bool>,
}

/// The hooks of a scenario.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HooksSpec {
    /// `inherit` (default), `off` or `require-observed`.
    #[serde(default)]
    pub policy: HookPolicy,
    /// A hooks.json (relative to the scenario file's folder) installed and trusted in the codex
    /// target's CODEX_HOME; `${HOOKS_DIR}` in it stands for its folder.
    #[serde(default)]
    pub config: Option<String>,
}

/// A seeded overload-retry schedule for a request step.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetrySpec {
    /// Retries after the first attempt.
    pub max_retries: u32,
    /// The first delay's ceiling (humantime).
    pub base: String,
    /// The cap on every delay (humantime).
    pub max: String,
    /// No retry starts after this (humantime, default "30s").
    #[serde(default)]
    pub deadline: Option<String>,
    /// The jitter seed, so delays are reproducible.
    #[serde(default)]
    pub seed: u64,
}

/// Send a notification.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotifyStep {
    /// The method, e.g. "initialized".
    pub method: String,
    /// The params, if any.
    #[serde(default)]
    pub params: Option<Value>,
}

/// Wait for a notification with this method whose params contain the subset.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AwaitNotificationStep {
    /// The method.
    pub method: String,
    /// The params must contain this subset.
    #[serde(default)]
    pub params: Option<Value>,
    /// It must have arrived after the notification the previous in-order step took.
    #[serde(default)]
    pub in_order: bool,
}

/// Wait for a server request, then answer it with exactly one of `answer_result` / `answer_error`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AwaitRequestStep {
    /// The method.
    pub method: String,
    /// The params must contain this subset.
    #[serde(default)]
    pub params: Option<Value>,
    /// Answer with this result.
    #[serde(default)]
    pub answer_result: Option<Value>,
    /// Answer with this error (`{code, message}`).
    #[serde(default)]
    pub answer_error: Option<Value>,
}

/// Nothing (with this method, if given) may arrive during the window.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SilenceStep {
    /// How long to listen (humantime, e.g. "300ms").
    pub window: String,
    /// Only messages with this method break the silence.
    #[serde(default)]
    pub method: Option<String>,
}

/// Parses a humantime duration field, naming the field in the error.
pub fn parse_duration(
    field: &'static str,
    text: Option<&str>,
    default: Duration,
) -> Result<Duration, RuleError> {
    match text {
        None => Ok(default),
        Some(t) => humantime::parse_duration(t).map_err(|source| RuleError::Duration {
            field,
            text: t.to_owned(),
            source,
        }),
    }
}

// The probe steps: the ledger read, parallel instances and bursts (not one exchange with one
// server).

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
