//! `cas review_session` end to end: the real codex on a detached websocket lane, the mock model
//! answering reviews, a temporary git repository built from `fixtures/review`.
//!
//! Each trial runs the cas binary as separate processes (start in one, wait/status/interrupt in
//! others), with its own state folder, and ends only when every lane process it caused is gone
//! (checked by the pids and start times the record names). Codex trials are ignored with a
//! reason when codex is missing, and fail instead under `CAS_REQUIRE_CODEX=1`.

#[path = "review_session/lab.rs"]
mod lab;
mod support;

use libtest_mimic::{Arguments, Failed, Trial};

use lab::{id_of, read, Lab};
use serde_json::{json, Value};
use std::path::Path;
use std::process::{Command, ExitCode};

use std::time::{Duration, Instant};
use support::{cas, expect_fields};

use support::{done, expect, Outcome};

/// A codex trial's body.
type Body = fn(&Lab) -> Outcome;

fn main() -> ExitCode {
    let args = Arguments::from_args();
    let codex: [(&str, Body); 9] = [
        ("start_then_wait_in_another_process_returns_the_findings_and_the_server_is_reaped", split_start_wait),
        ("start_wait_reviews_a_commit_and_a_reused_parent_keeps_the_handle", start_wait_and_reuse),
        ("wait_times_out_then_interrupt_gives_review_interrupted", timeout_then_interrupt),
        ("killing_the_managed_server_gives_review_transport_lost", server_killed),
        ("a_non_json_answer_gives_review_output_missing", output_missing),
        ("a_failing_model_gives_review_failed", model_fails),
        ("an_unmaterialized_parent_is_refused_on_reuse", parent_not_materialized),
        ("no_websocket_gives_websocket_bootstrap_failed_and_the_native_fallback_is_only_a_fallback", bootstrap_and_fallback),
        ("hook_policies_hold_on_the_review_lane", hooks),
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

const FIXTURE_TITLE: &str = "[P1] Division by zero when n is 0";

fn split_start_wait(lab: &Lab) -> Outcome {
    let t0 = Instant::now();
    let (code, started) = lab.start(&["--uncommitted", "--orphan-ttl-seconds", "2"])?;
    expect_fields(
        "start returns a running review on a websocket lane",
        Some(code),
        &started,
        json!({
            "exit": 0,
            "status": "running",
            "selectedTransport": "websocket",
            "compatibilityVerdict": "compatible",
            "failureCode": null,
        }),
    )?;
    let url = started["managedServerListenUrl"]
        .as_str()
        .unwrap_or_default();
    expect(
        url.starts_with("ws://127.0.0.1:"),
        "a loopback websocket URL",
        &started,
    )?;
    let id = id_of(&started)?;
    let record: Value =
        serde_json::from_str(&read(&started, "recordPath")?).map_err(|e| e.to_string())?;
    let token_file = record["transport"]["tokenFilePath"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let token = std::fs::read_to_string(&token_file).map_err(|e| format!("{token_file}: {e}"))?;
    let (code, waited) = lab.handle("wait", &id, &["--timeout-ms", "30000"])?;
    expect_fields(
        "wait succeeds on the same handle with the mock's findings",
        Some(code),
        &waited,
        json!({
            "exit": 0,
            "success": true,
            "reviewResultAvailable": true,
            "reviewResultSource": "review_agent_message_json",
            "reviewResult/findings/0/title": FIXTURE_TITLE,
            "reviewResult/overallCorrectness": "patch is incorrect",
            "reviewThreadId": id,
            "status": "completed",
        }),
    )?;
    let (_, status) = lab.handle("status", &id, &[])?;
    let same = [
        "reviewResult",
        "failureCode",
        "managedServerPid",
        "schemaVersion",
    ];
    let pick = |doc: &Value| -> Vec<Value> { same.iter().map(|k| doc[*k].clone()).collect() };
    support::same(
        "status agrees with wait on reviewResult, failureCode, managedServerPid, schemaVersion",
        &pick(&status),
        &pick(&waited),
        &status,
    )?;
    record_and_log(&status, &token)?;
    expect(
        t0.elapsed() < Duration::from_secs(30),
        "took too long",
        &status,
    )?;
    lab.all_gone(Duration::from_secs(15))?;
    let (_, after) = lab.handle("status", &id, &[])?;
    let reaped = (
        after["managedServerReapedAtMs"].is_u64(),
        Path::new(&token_file).exists(),
    );
    support::same(
        "the server was reaped after its TTL (reapedAt set) and its token removed (exists)",
        &reaped,
        &(true, false),
        &after,
    )?;
    done()
}

/// The record is mode 0600; the log holds the raw traffic and never the token.
fn record_and_log(status: &Value, token: &str) -> Result<(), Failed> {
    use std::os::unix::fs::PermissionsExt;
    let record_path = status["recordPath"].as_str().unwrap_or_default();
    let mode = std::fs::metadata(record_path)
        .map_err(|e| e.to_string())?
        .permissions()
        .mode();
    expect(
        mode & 0o777 == 0o600,
        &format!("record mode {mode:o}"),
        status,
    )?;
    let log = read(status, "eventLogPath")?;
    let raw = (
        log.contains("\"review/start\""),
        log.contains("\"exitedReviewMode\""),
    );
    support::same(
        "the NDJSON log has the raw traffic (review/start, exitedReviewMode)",
        &raw,
        &(true, true),
        status,
    )?;
    expect(
        !log.contains(token.trim()),
        "the token is never logged",
        status,
    )?;
    Ok(())
}

fn start_wait_and_reuse(lab: &Lab) -> Outcome {
    let commit = [
        "--commit",
        "HEAD",
        "--title",
        "base",
        "--wait",
        "--orphan-ttl-seconds",
        "3",
    ];
    let (code, first) = lab.start(&commit)?;
    expect_fields(
        "start --wait reviews the commit target with findings",
        Some(code),
        &first,
        json!({
            "exit": 0,
            "success": true,
            "target": {"type": "commit", "sha": "HEAD", "title": "base"},
            "reviewResult/findings/0/title": FIXTURE_TITLE,
        }),
    )?;
    let id = id_of(&first)?;
    let reuse = [
        "--parent-mode",
        "reuse",
        "--parent-thread-id",
        &id,
        "--orphan-ttl-seconds",
        "1",
    ];
    // The first lane's server still holds the thread for its TTL: an active writer.
    let (code, busy) = lab.start(&[&reuse[..], &["--uncommitted"]].concat())?;
    let hint = busy["failureHint"].as_str().unwrap_or_default();
    expect_fields(
        "a parent that another server still writes is unsafe",
        Some(code),
        &busy,
        json!({"exit": 1, "failureCode": "unsafe_parent_thread_state"}),
    )?;
    expect(
        hint.contains("active writer"),
        "the hint names the active writer",
        &busy,
    )?;
    lab.all_gone(Duration::from_secs(15))?;
    let (code, second) =
        lab.start(&[&reuse[..], &["--custom-instructions", "again", "--wait"]].concat())?;
    expect_fields(
        "the reused parent is reviewed inline, in the parent's home",
        Some(code),
        &second,
        json!({
            "exit": 0,
            "success": true,
            "reviewThreadId": id,
            "codexHome": first["codexHome"],
        }),
    )?;
    let decision = second["parentDecision"].as_str().unwrap_or_default();
    expect(
        decision.starts_with("reused"),
        "the parent decision says reused",
        &second,
    )?;
    let turn = first["reviewTurnId"].as_str().unwrap_or_default();
    let kept = Path::new(first["recordPath"].as_str().unwrap_or_default())
        .with_file_name(format!("{id}.{turn}.json"));
    expect(
        kept.is_file(),
        "the earlier review's record is kept",
        &second,
    )?;
    done()
}

fn stalled(lab: &Lab) -> Result<(String, Value), Failed> {
    let slow = [
        "--custom-instructions",
        "[[stall:30]] review slowly",
        "--orphan-ttl-seconds",
        "1",
    ];
    let (code, doc) = lab.start(&slow)?;
    expect_fields(
        "a running review",
        Some(code),
        &doc,
        json!({"exit": 0, "status": "running"}),
    )?;
    Ok((id_of(&doc)?, doc))
}

fn timeout_then_interrupt(lab: &Lab) -> Outcome {
    let (id, _) = stalled(lab)?;
    let t0 = Instant::now();
    let (code, timed_out) = lab.handle("wait", &id, &["--timeout-ms", "300"])?;
    expect_fields(
        "wait_timed_out",
        Some(code),
        &timed_out,
        json!({"exit": 1, "failureCode": "wait_timed_out", "status": "running"}),
    )?;
    expect(
        t0.elapsed() < Duration::from_secs(5),
        "the wait kept its deadline",
        &timed_out,
    )?;
    let reuse = [
        "--uncommitted",
        "--parent-mode",
        "reuse",
        "--parent-thread-id",
        &id,
    ];
    let (code, refused) = lab.start(&reuse)?;
    expect_fields(
        "a parent with a live review is not reused",
        Some(code),
        &refused,
        json!({"exit": 1, "failureCode": "unsafe_parent_thread_state", "reviewThreadId": null}),
    )?;
    let (code, interrupted) = lab.handle("interrupt", &id, &["--timeout-ms", "15000"])?;
    expect_fields(
        "review_interrupted",
        Some(code),
        &interrupted,
        json!({"exit": 1, "failureCode": "review_interrupted", "status": "interrupted"}),
    )?;
    let (_, again) = lab.handle("wait", &id, &["--timeout-ms", "1000"])?;
    expect_fields(
        "the handle is waitable again",
        None,
        &again,
        json!({"failureCode": "review_interrupted"}),
    )?;
    let log = read(&again, "eventLogPath")?;
    let starts = log
        .lines()
        .filter(|l| l.contains("\"kind\":\"request\"") && l.contains("\"method\":\"review/start\""))
        .count();
    support::same(
        "one review/start and the interrupt in the log (starts, interrupt logged)",
        &(starts, log.contains("\"turn/interrupt\"")),
        &(1, true),
        &again,
    )?;
    done()
}

fn server_killed(lab: &Lab) -> Outcome {
    let (id, doc) = stalled(lab)?;
    let pid = doc["managedServerPid"].as_i64().ok_or("no server pid")?;
    let kill = Command::new("kill")
        .args(["-KILL", &pid.to_string()])
        .status();
    expect(kill.is_ok_and(|s| s.success()), "kill the server", &doc)?;
    let (code, lost) = lab.handle("wait", &id, &["--timeout-ms", "15000"])?;
    expect_fields(
        "review_transport_lost",
        Some(code),
        &lost,
        json!({"exit": 1, "failureCode": "review_transport_lost", "status": "transport_lost"}),
    )?;
    done()
}

fn waited(lab: &Lab, instructions: &str) -> Result<(i32, Value), Failed> {
    lab.start(&[
        "--custom-instructions",
        instructions,
        "--wait",
        "--orphan-ttl-seconds",
        "1",
    ])
}

fn output_missing(lab: &Lab) -> Outcome {
    let (code, doc) = waited(lab, "[[say:looks fine to me]]")?;
    expect_fields(
        "review_output_missing, with the rendered text kept",
        Some(code),
        &doc,
        json!({
            "exit": 1,
            "failureCode": "review_output_missing",
            "status": "completed",
            "reviewResultAvailable": false,
            "reviewText": "looks fine to me",
        }),
    )?;
    done()
}

fn model_fails(lab: &Lab) -> Outcome {
    let (code, doc) = waited(lab, "[[fail]] review")?;
    expect_fields(
        "review_failed",
        Some(code),
        &doc,
        json!({"exit": 1, "failureCode": "review_failed", "status": "failed"}),
    )?;
    done()
}

fn parent_not_materialized(lab: &Lab) -> Outcome {
    let parent = "01a1ff71-0000-7000-8000-000000000000";
    let given = [
        "--uncommitted",
        "--parent-thread-id",
        parent,
        "--orphan-ttl-seconds",
        "1",
    ];
    let (code, doc) = lab.start(&[&given[..], &["--parent-mode", "reuse"]].concat())?;
    let hint = doc["failureHint"].as_str().unwrap_or_default();
    expect_fields(
        "parent_thread_not_materialized",
        Some(code),
        &doc,
        json!({
            "exit": 1,
            "failureCode": "parent_thread_not_materialized",
            "reviewThreadId": null,
        }),
    )?;
    expect(
        hint.contains("no rollout found"),
        "the hint says no rollout was found",
        &doc,
    )?;
    let (code, fresh) = lab.start(&[&given[..], &["--wait"]].concat())?;
    let decision = fresh["parentDecision"].as_str().unwrap_or_default();
    let got = json!({
        "exit": code,
        "success": fresh["success"],
        "reviewThreadIdIsTheParent": fresh["reviewThreadId"] == parent,
        "decisionSaysWhy": decision.contains("parent_thread_not_materialized"),
    });
    let want = json!({
        "exit": 0,
        "success": true,
        "reviewThreadIdIsTheParent": false,
        "decisionSaysWhy": true,
    });
    support::same(
        "auto falls back to a fresh thread and says why",
        &got,
        &want,
        &fresh,
    )?;
    done()
}

/// The real codex and the degraded wrapper around it.
fn degraded(lab: &Lab) -> (String, String) {
    let script = support::root().join("fixtures/review/codex-degraded.sh");
    (
        lab.codex().display().to_string(),
        script.display().to_string(),
    )
}

fn bootstrap_and_fallback(lab: &Lab) -> Outcome {
    let (real, script) = degraded(lab);
    let env = [("CAS_REAL_CODEX", real.as_str())];
    let mut args = vec![
        "review_session",
        "start",
        "--hermetic",
        "--uncommitted",
        "--json",
    ];
    args.extend(["--cwd", lab.repo(), "--codex-bin", &script]);
    let (code, failed) = lab.cas(&args, &env)?;
    expect_fields(
        "websocket_bootstrap_failed, and no silent fallback",
        Some(code),
        &failed,
        json!({
            "exit": 1,
            "failureCode": "websocket_bootstrap_failed",
            "fallbackUsed": false,
            "selectedTransport": "websocket",
        }),
    )?;
    args.extend(["--fallback", "native-review"]);
    let (code, fell_back) = lab.cas(&args, &env)?;
    let output = fell_back["fallbackOutputText"].as_str().unwrap_or_default();
    expect_fields(
        "the native review is reported as a fallback, never as a lane result",
        Some(code),
        &fell_back,
        json!({
            "exit": 1,
            "success": false,
            "failureCode": "websocket_bootstrap_failed",
            "fallbackUsed": true,
            "degradedFallback": true,
            "selectedTransport": "native-review",
            "fallbackExitCode": 0,
            "reviewResultAvailable": false,
            "reviewThreadId": null,
        }),
    )?;
    expect(
        output.contains(FIXTURE_TITLE),
        "the fallback output has the findings",
        &fell_back,
    )?;
    done()
}

fn hooks(lab: &Lab) -> Outcome {
    let (real, script) = degraded(lab);
    let mut off = vec![
        "review_session",
        "start",
        "--hermetic",
        "--uncommitted",
        "--json",
    ];
    off.extend([
        "--cwd",
        lab.repo(),
        "--codex-bin",
        &script,
        "--hooks",
        "off",
    ]);
    let (code, doc) = lab.cas(&off, &[("CAS_REAL_CODEX", real.as_str())])?;
    expect_fields(
        "hooks_unsupported, exit 2",
        Some(code),
        &doc,
        json!({
            "exit": 2,
            "failureCode": "hooks_unsupported",
            "compatibilityVerdict": "incompatible",
        }),
    )?;
    let hooks_dir = support::root().join("fixtures/hooks");
    let cases = [
        (None, "hook_not_observed"),
        (Some("failing.json"), "hook_failed"),
        (Some("stopping.json"), "hook_stopped"),
    ];
    for (config, wanted) in cases {
        let path = config.map(|c| hooks_dir.join(c).display().to_string());
        let mut args = vec!["--uncommitted", "--hooks", "require-observed", "--wait"];
        args.extend(["--orphan-ttl-seconds", "1"]);
        if let Some(path) = &path {
            args.extend(["--hooks-config", path.as_str()]);
        }
        let (code, doc) = lab.start(&args)?;
        // A hook that stops the turn leaves no result; the others leave one that still fails.
        let has_result = wanted != "hook_stopped";
        expect_fields(
            &format!("{wanted}: the hook policy fails the review"),
            Some(code),
            &doc,
            json!({
                "exit": 1,
                "failureCode": wanted,
                "hookSummary/failureCode": wanted,
                "success": false,
                "reviewResultAvailable": has_result,
            }),
        )?;
    }
    done()
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
        cas().args(args).assert().code(2).stdout("");
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
            // Not reported by review_session: scenario, lane and ledger codes.
            C::WorkspaceFailed | C::CodexNotFound | C::LaunchFailed | C::ScenarioDeadline
            | C::NoServer | C::Internal | C::SessionError | C::NoResponse | C::ConnectionClosed
            | C::ResultMismatch | C::UnexpectedError | C::UnexpectedResult | C::ErrorMismatch
            | C::NoNotification | C::NoServerRequest | C::SilenceBroken | C::UnansweredServerRequest
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
            | C::InvalidShowOutput => None,
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
