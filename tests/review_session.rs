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
            Trial::ignorable_test(name, move || {
                if let Some(ignored) = support::codex_gate()? {
                    return Ok(ignored);
                }
                let lab = Lab::new()?;
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
    expect(
        code == 0 && started["status"] == "running",
        "start returns a running review",
        &started,
    )?;
    let url = started["managedServerListenUrl"]
        .as_str()
        .unwrap_or_default();
    expect(
        started["selectedTransport"] == "websocket"
            && url.starts_with("ws://127.0.0.1:")
            && started["compatibilityVerdict"] == "compatible"
            && started["failureCode"].is_null(),
        "a websocket lane",
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
    expect(
        code == 0 && waited["success"] == true,
        "wait succeeds",
        &waited,
    )?;
    let result = &waited["reviewResult"];
    expect(
        waited["reviewResultAvailable"] == true
            && waited["reviewResultSource"] == "review_agent_message_json"
            && result["findings"][0]["title"] == FIXTURE_TITLE
            && result["overallCorrectness"] == "patch is incorrect",
        "the mock's findings",
        &waited,
    )?;
    expect(
        waited["reviewThreadId"] == id.as_str() && waited["status"] == "completed",
        "same handle",
        &waited,
    )?;
    let (_, status) = lab.handle("status", &id, &[])?;
    let same = [
        "reviewResult",
        "failureCode",
        "managedServerPid",
        "schemaVersion",
    ];
    expect(
        same.iter().all(|k| status[*k] == waited[*k]),
        "status agrees with wait",
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
    let reaped = after["managedServerReapedAtMs"].is_u64() && !Path::new(&token_file).exists();
    expect(
        reaped,
        "the server was reaped after its TTL and its token removed",
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
    let raw = log.contains("\"review/start\"") && log.contains("\"exitedReviewMode\"");
    expect(raw, "the NDJSON log has the raw traffic", status)?;
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
    expect(
        code == 0 && first["success"] == true,
        "start --wait succeeds",
        &first,
    )?;
    let target = json!({"type": "commit", "sha": "HEAD", "title": "base"});
    expect(first["target"] == target, "the commit target", &first)?;
    expect(
        first["reviewResult"]["findings"][0]["title"] == FIXTURE_TITLE,
        "findings",
        &first,
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
    expect(
        code == 1
            && busy["failureCode"] == "unsafe_parent_thread_state"
            && hint.contains("active writer"),
        "a parent that another server still writes is unsafe",
        &busy,
    )?;
    lab.all_gone(Duration::from_secs(15))?;
    let (code, second) =
        lab.start(&[&reuse[..], &["--custom-instructions", "again", "--wait"]].concat())?;
    expect(
        code == 0 && second["success"] == true,
        "the reused parent is reviewed",
        &second,
    )?;
    let decision = second["parentDecision"].as_str().unwrap_or_default();
    expect(
        second["reviewThreadId"] == id.as_str()
            && second["codexHome"] == first["codexHome"]
            && decision.starts_with("reused"),
        "inline on the parent, in the parent's home",
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
    expect(
        code == 0 && doc["status"] == "running",
        "a running review",
        &doc,
    )?;
    Ok((id_of(&doc)?, doc))
}

fn timeout_then_interrupt(lab: &Lab) -> Outcome {
    let (id, _) = stalled(lab)?;
    let t0 = Instant::now();
    let (code, timed_out) = lab.handle("wait", &id, &["--timeout-ms", "300"])?;
    expect(
        code == 1
            && timed_out["failureCode"] == "wait_timed_out"
            && timed_out["status"] == "running",
        "wait_timed_out",
        &timed_out,
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
    expect(
        code == 1
            && refused["failureCode"] == "unsafe_parent_thread_state"
            && refused["reviewThreadId"].is_null(),
        "a parent with a live review is not reused",
        &refused,
    )?;
    let (code, interrupted) = lab.handle("interrupt", &id, &["--timeout-ms", "15000"])?;
    expect(
        code == 1
            && interrupted["failureCode"] == "review_interrupted"
            && interrupted["status"] == "interrupted",
        "review_interrupted",
        &interrupted,
    )?;
    let (_, again) = lab.handle("wait", &id, &["--timeout-ms", "1000"])?;
    expect(
        again["failureCode"] == "review_interrupted",
        "the handle is waitable again",
        &again,
    )?;
    let log = read(&again, "eventLogPath")?;
    let starts = log
        .lines()
        .filter(|l| l.contains("\"kind\":\"request\"") && l.contains("\"method\":\"review/start\""))
        .count();
    let what = format!("one review/start ({starts}) and the interrupt in the log");
    expect(
        starts == 1 && log.contains("\"turn/interrupt\""),
        &what,
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
    expect(
        code == 1
            && lost["failureCode"] == "review_transport_lost"
            && lost["status"] == "transport_lost",
        "review_transport_lost",
        &lost,
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
    expect(
        code == 1
            && doc["failureCode"] == "review_output_missing"
            && doc["status"] == "completed"
            && doc["reviewResultAvailable"] == false
            && doc["reviewText"] == "looks fine to me",
        "review_output_missing, with the rendered text kept",
        &doc,
    )?;
    done()
}

fn model_fails(lab: &Lab) -> Outcome {
    let (code, doc) = waited(lab, "[[fail]] review")?;
    let failed = code == 1 && doc["failureCode"] == "review_failed" && doc["status"] == "failed";
    expect(failed, "review_failed", &doc)?;
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
    expect(
        code == 1
            && doc["failureCode"] == "parent_thread_not_materialized"
            && doc["reviewThreadId"].is_null()
            && hint.contains("no rollout found"),
        "parent_thread_not_materialized",
        &doc,
    )?;
    let (code, fresh) = lab.start(&[&given[..], &["--wait"]].concat())?;
    let decision = fresh["parentDecision"].as_str().unwrap_or_default();
    expect(
        code == 0
            && fresh["success"] == true
            && fresh["reviewThreadId"] != parent
            && decision.contains("parent_thread_not_materialized"),
        "auto falls back to a fresh thread and says why",
        &fresh,
    )?;
    done()
}

/// The real codex and the degraded wrapper around it.
fn degraded() -> Result<(String, String), Failed> {
    let real = support::target_env()
        .codex
        .resolve()
        .map_err(|e| e.to_string())?;
    let script = support::root().join("fixtures/review/codex-degraded.sh");
    Ok((real.display().to_string(), script.display().to_string()))
}

fn bootstrap_and_fallback(lab: &Lab) -> Outcome {
    let (real, script) = degraded()?;
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
    expect(
        code == 1
            && failed["failureCode"] == "websocket_bootstrap_failed"
            && failed["fallbackUsed"] == false
            && failed["selectedTransport"] == "websocket",
        "websocket_bootstrap_failed, and no silent fallback",
        &failed,
    )?;
    args.extend(["--fallback", "native-review"]);
    let (code, fell_back) = lab.cas(&args, &env)?;
    let output = fell_back["fallbackOutputText"].as_str().unwrap_or_default();
    expect(
        code == 1
            && fell_back["success"] == false
            && fell_back["failureCode"] == "websocket_bootstrap_failed"
            && fell_back["fallbackUsed"] == true
            && fell_back["degradedFallback"] == true
            && fell_back["selectedTransport"] == "native-review"
            && fell_back["fallbackExitCode"] == 0
            && output.contains(FIXTURE_TITLE)
            && fell_back["reviewResultAvailable"] == false
            && fell_back["reviewThreadId"].is_null(),
        "the native review is reported as a fallback, never as a lane result",
        &fell_back,
    )?;
    done()
}

fn hooks(lab: &Lab) -> Outcome {
    let (real, script) = degraded()?;
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
    expect(
        code == 2
            && doc["failureCode"] == "hooks_unsupported"
            && doc["compatibilityVerdict"] == "incompatible",
        "hooks_unsupported, exit 2",
        &doc,
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
        expect(
            code == 1
                && doc["failureCode"] == wanted
                && doc["hookSummary"]["failureCode"] == wanted
                && doc["success"] == false,
            &format!("{wanted}: the hook policy fails the review"),
            &doc,
        )?;
        // A hook that stops the turn leaves no result; the others leave one that still fails.
        let has_result = wanted != "hook_stopped";
        expect(
            doc["reviewResultAvailable"] == has_result,
            "result availability",
            &doc,
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
        let out = Command::new(env!("CARGO_BIN_EXE_cas"))
            .args(args)
            .envs(support::xdg_dirs())
            .env(
                "CODEX_HOME",
                Path::new(env!("CARGO_TARGET_TMPDIR")).join("no-codex-home"),
            )
            .output()
            .map_err(|e| e.to_string())?;
        if out.status.code() != Some(2) || !out.stdout.is_empty() {
            let stderr = String::from_utf8_lossy(&out.stderr);
            return Err(format!(
                "{args:?}: want exit 2 and no stdout, got {:?}; {stderr}",
                out.status
            )
            .into());
        }
    }
    done()
}

/// Each failure code of `FAILURE_CODES` names the test that asserts it: a trial here, or a unit
/// test of the lane's policy and classifier for the codes no live codex 0.169.0 review can give
/// (`approval_denied`, `hook_blocked`, `hook_observed_while_off`). A code added to the list
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
            _ => None,
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
