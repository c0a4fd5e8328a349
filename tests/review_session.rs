//! `cas review_session` end to end: the real codex on a detached websocket lane, the mock model
//! answering reviews, a temporary git repository built from `fixtures/review`.
//!
//! Each trial runs the cas binary as separate processes (start in one, wait/status/interrupt in
//! others), with its own state folder, and ends only when every lane process it caused is gone
//! (checked by the pids and start times the record names). Codex trials are ignored with a
//! reason when codex is missing, and fail instead under `CAS_REQUIRE_CODEX=1`.

#[path = "review_session/degraded.rs"]
mod degraded;
#[path = "review_session/endings.rs"]
mod endings;
#[path = "review_session/handle.rs"]
mod handle;
#[path = "review_session/lab.rs"]
mod lab;
#[path = "review_session/parent.rs"]
mod parent;
#[path = "review_session/stdio.rs"]
mod stdio;
mod support;
#[path = "review_session/target.rs"]
mod target;

use libtest_mimic::{Arguments, Failed, Trial};
use std::process::ExitCode;
use std::time::Duration;

use lab::Lab;
use support::{cas, done, Outcome};

/// A codex trial's body.
type Body = fn(&Lab) -> Outcome;

fn main() -> ExitCode {
    let args = Arguments::from_args();
    let codex: [(&str, Body); 13] = [
        ("start_then_wait_in_another_process_returns_the_findings_and_the_server_is_reaped", handle::split_start_wait),
        ("start_wait_reviews_a_commit_and_a_reused_parent_keeps_the_handle", parent::start_wait_and_reuse),
        ("wait_times_out_then_interrupt_gives_review_interrupted", handle::timeout_then_interrupt),
        ("killing_the_managed_server_gives_review_transport_lost", handle::server_killed),
        ("a_non_json_answer_gives_review_output_missing", endings::output_missing),
        ("a_failing_model_gives_review_failed", endings::model_fails),
        ("an_unmaterialized_parent_is_refused_on_reuse", parent::parent_not_materialized),
        ("no_websocket_gives_websocket_bootstrap_failed_and_the_native_fallback_is_only_a_fallback", degraded::bootstrap_and_fallback),
        ("hook_policies_hold_on_the_review_lane", degraded::hooks),
        ("invalid_review_targets_are_refused_before_launch", target::invalid_targets),
        ("no_websocket_flag_start_wait_reviews_on_stdio_and_start_alone_is_incompatible", stdio::wait_on_stdio),
        ("a_stdio_server_that_exits_gives_stdio_bootstrap_failed", stdio::broken_server),
        ("an_interrupted_stdio_start_wait_stops_its_server_and_concludes_the_record", stdio::interrupted),
    ];
    let mut trials: Vec<Trial> = codex
        .into_iter()
        .map(|(name, body)| {
            support::codex_trial(name, move |codex| {
                let lab = Lab::new(codex)?;
                let outcome = body(&lab);
                let gone = lab.all_gone(Duration::from_secs(20));
                outcome.and(gone.map(|()| libtest_mimic::Completion::Completed))
            })
        })
        .collect();
    trials.push(Trial::ignorable_test(
        "bad_flags_and_unknown_handles_exit_2",
        bad_flags,
    ));
    trials.push(Trial::test(
        "every_failure_code_is_asserted_by_a_test",
        every_code_tested,
    ));
    libtest_mimic::run(&args, trials).exit_code()
}
fn bad_flags() -> Outcome {
    let unknown = "01a1ff71-ffff-7000-8000-000000000000";
    let cases: [&[&str]; 4] = [
        &[
            "review_session",
            "start",
            "--uncommitted",
            "--base",
            "main",
            "--json",
        ],
        &["review_session", "start", "--json"],
        &[
            "review_session",
            "status",
            "--review-thread-id",
            "../etc/passwd",
            "--json",
        ],
        &[
            "review-session",
            "wait",
            "--review-thread-id",
            unknown,
            "--timeout-ms",
            "10",
        ],
    ];
    for args in cases {
        let assert = cas().args(args).assert().code(2);
        let stdout = String::from_utf8_lossy(&assert.get_output().stdout).into_owned();
        if args[1] == "status" {
            // Fails after the flags parse: with --json, the one exit-2 document.
            let doc: serde_json::Value = serde_json::from_str(&stdout).map_err(|e| {
                format!("{args:?}: stdout is not one JSON document ({e}): {stdout}")
            })?;
            support::expect(doc["failureCode"] == "usage_error", "usage_error", &doc)?;
        } else {
            support::expect(stdout.is_empty(), "nothing on stdout", &stdout.into())?;
        }
    }
    done()
}

/// Each failure code of `FAILURE_CODES` names the test that asserts it: a trial here, or a unit
/// test of the lane's policy and classifier for the codes no live codex 0.169.0 review can give
/// (`approval_denied`, `hook_blocked`, `hook_observed_while_off`). The match is exhaustive (no
/// wildcard), so a new `FailureCode` does not compile until it is placed here; a review code
/// without a test named here fails this trial.
fn every_code_tested() -> Result<(), Failed> {
    use cas::outcome::FailureCode as C;
    const CLASSIFIER: &str = "review::outcome::tests::classifies_each_ending_by_precedence";
    let mut untested = Vec::new();
    for &code in cas::review::outcome::FAILURE_CODES {
        let asserted_by: Option<&str> = match code {
            C::WaitTimedOut => Some("wait_times_out_then_interrupt_gives_review_interrupted"),
            C::ReviewInterrupted => Some("wait_times_out_then_interrupt_gives_review_interrupted"),
            C::ApprovalDenied => {
                Some("review::lane_io::tests::a_declined_approval_makes_the_review_approval_denied")
            }
            C::ReviewFailed => Some("a_failing_model_gives_review_failed"),
            C::ReviewOutputMissing => Some("a_non_json_answer_gives_review_output_missing"),
            C::WebsocketBootstrapFailed => Some(
                "no_websocket_gives_websocket_bootstrap_failed_and_the_native_fallback_is_only_a_fallback",
            ),
            C::ReviewTransportLost => Some("killing_the_managed_server_gives_review_transport_lost"),
            C::HooksUnsupported
            | C::HookNotObserved
            | C::HookFailed
            | C::HookStopped => Some("hook_policies_hold_on_the_review_lane"),
            C::HookBlocked | C::HookObservedWhileOff => Some(CLASSIFIER),
            C::UnsafeParentThreadState => {
                Some("start_wait_reviews_a_commit_and_a_reused_parent_keeps_the_handle")
            }
            C::ParentThreadNotMaterialized => Some("an_unmaterialized_parent_is_refused_on_reuse"),
            C::ReviewTargetInvalid => Some("invalid_review_targets_are_refused_before_launch"),
            C::IncompatibleCodexReviewRuntime => {
                Some("a_codex_lacking_a_needed_method_is_refused_as_incompatible")
            }
            C::StdioBootstrapFailed => Some("a_stdio_server_that_exits_gives_stdio_bootstrap_failed"),
            // Not reported by review_session: scenario, lane and ledger codes.
            C::WorkspaceFailed | C::CodexNotFound | C::LaunchFailed | C::ScenarioDeadline
            | C::NoServer | C::Internal | C::SessionError | C::NoResponse | C::ConnectionClosed
            | C::ResultMismatch | C::UnexpectedError | C::UnexpectedResult | C::ErrorMismatch
            | C::NoNotification | C::NoServerRequest | C::SilenceBroken | C::UnansweredServerRequest
            | C::NoModelRequest | C::ModelRequestMismatch | C::FileMismatch | C::CommandFailed
            | C::MalformedMessage | C::AttemptsMismatch | C::DelaysMismatch | C::BurstRequestsLost
            | C::BurstRequestsFailed | C::OverloadNotObserved | C::BranchFailed
            | C::LedgerStepInvalid | C::LedgerStepPanicked | C::LedgerAccepted
            | C::LedgerShowInvalid | C::LedgerItemMissing | C::LedgerMismatch | C::HeldRootsOverlap
            | C::InvalidRecord | C::InvalidSeq | C::UnsupportedSchemaVersion | C::InvalidLane
            | C::InvalidCheckpoint | C::ReplaceMissingItems | C::UpsertMissingItem | C::InvalidOp
            | C::SeqContractViolation | C::InvalidItem | C::MissingItemId | C::MissingStepValue
            | C::MissingDepsValue | C::InvalidStatus | C::InvalidPriority | C::InvalidDepType
            | C::DuplicateItemId | C::UnknownItemId | C::SelfDependency | C::UnknownDependency
            | C::DependencyCycle | C::UnresolvedDependencies | C::PlanDependencyNotSelected
            | C::MultipleInProgress | C::ItemAlreadyClaimed | C::ScopeClaimConflict
            | C::OrchplanWaveClaimDoesNotAcceptIds | C::MissingIdsValue | C::NoHeldClaim
            | C::InvalidClaimState | C::InvalidLeaseSeconds | C::InvalidExecutor
            | C::InvalidRuntimeSubstrate | C::InvalidProofState | C::EmptyString
            | C::InvalidOrchPlan | C::LockTimeout | C::LockSidecarNotGitignored
            | C::GitCommandFailed | C::FileIo | C::StCommandFailed | C::StCommandTimeout
            | C::InvalidShowOutput | C::ScenarioUnloadable => None,
            // Scenario v2 connection and flow codes (scenarios/connections, scenarios/flow).
            C::ConnectionNotRefused | C::CountMismatch | C::NeverBroken | C::OrderViolated => None,
            // The codes of exit-2 setup failures (tests/json_exit.rs).
            C::CodexVersionFailed | C::IncompatibleCodex | C::UsageError | C::SetupFailed
            | C::ConnectFailed | C::SurfaceFailed | C::BenchFailed => None,
            // smoke_check's codes (tests/smoke_check.rs).
            C::UnknownThread | C::InvalidCwd | C::TurnFailed => None,
            // The request lanes' codes (tests/faults.rs) and an interrupted command's.
            C::DeadlineExceeded | C::OverloadRetryExhausted | C::ServerError | C::Interrupted => {
                None
            }
        };
        if asserted_by.is_none() {
            untested.push(code);
        }
    }
    if untested.is_empty() {
        Ok(())
    } else {
        Err(format!("review failure codes no test is named for: {untested:?}").into())
    }
}
