//! A codex whose app-server cannot listen on a websocket (`fixtures/review/codex-no-listen.sh`
//! hides `--listen` from its `app-server --help`): `start --wait` reviews on a stdio server in
//! its own process, `start` alone is incompatible, a broken server and an interrupt end the
//! review truthfully, and nothing is left behind.

use serde_json::{json, Value};
use std::time::{Duration, Instant};

use crate::lab::{id_of, Lab, FIXTURE_TITLE};
use crate::support::{self, done, expect, expect_fields, Outcome};

/// The real codex, for the wrapper.
fn env(lab: &Lab) -> String {
    lab.codex().display().to_string()
}

/// `review_session start --hermetic --json --cwd <repo> --codex-bin <wrapper>` plus `extra`.
fn start_args<'a>(lab: &'a Lab, script: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    lab.start_args(&[&["--codex-bin", script][..], extra].concat())
}

fn script() -> String {
    let path = support::root().join("fixtures/review/codex-no-listen.sh");
    path.display().to_string()
}

pub fn wait_on_stdio(lab: &Lab) -> Outcome {
    let (real, script) = (env(lab), script());
    let env = [("CAS_REAL_CODEX", real.as_str())];
    let args = start_args(lab, &script, &["--uncommitted", "--wait"]);
    let (code, doc) = lab.cas(&args, &env)?;
    expect_fields(
        "start --wait reviews on a stdio server",
        Some(code),
        &doc,
        json!({
            "exit": 0,
            "success": true,
            "status": "completed",
            "selectedTransport": "stdio",
            "compatibilityVerdict": "compatible",
            "compatibilityReasons": [],
            "failureCode": null,
            "reviewResultAvailable": true,
            "reviewResultSource": "review_agent_message_json",
            "reviewResult/findings/0/title": FIXTURE_TITLE,
            "parentMaterialized": false,
            "managedServerListenUrl": null,
        }),
    )?;
    let reason = doc["selectionReason"].as_str().unwrap_or_default();
    expect(
        reason.contains("does not accept --listen,") && reason.contains("start --wait"),
        "the selection reason names the missing flag",
        &doc,
    )?;
    expect(
        doc["managedServerReapedAtMs"].is_u64() && doc["managedServerPid"].is_u64(),
        "the stdio server was started and reaped before start returned",
        &doc,
    )?;
    let id = id_of(&doc)?;
    let (code, status) = lab.handle("status", &id, &[])?;
    expect_fields(
        "status reads the terminal record of the stdio review",
        Some(code),
        &status,
        json!({
            "exit": 0,
            "status": "completed",
            "success": true,
            "selectedTransport": "stdio",
            "reviewResult/findings/0/title": FIXTURE_TITLE,
            "reviewThreadId": id,
            "terminalAtMs": doc["terminalAtMs"],
        }),
    )?;
    no_wait_is_incompatible(lab, &script, &env)
}

/// `start` without `--wait` on the same codex: incompatible, with the reasons, nothing started.
fn no_wait_is_incompatible(lab: &Lab, script: &str, env: &[(&str, &str)]) -> Outcome {
    let before = lab.lane_folders().len();
    let (code, doc) = lab.cas(&start_args(lab, script, &["--uncommitted"]), env)?;
    expect_fields(
        "start without --wait cannot run on stdio",
        Some(code),
        &doc,
        json!({
            "exit": 2,
            "compatibilityVerdict": "incompatible",
            "failureCode": "incompatible_codex_review_runtime",
            "reviewThreadId": null,
            "hostPid": null,
            "managedServerPid": null,
        }),
    )?;
    let reasons: Vec<&str> = doc["compatibilityReasons"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    let named = reasons
        .first()
        .is_some_and(|r| r.contains("does not accept --listen,"));
    let only_wait = reasons
        .get(1)
        .is_some_and(|r| r.starts_with("only `start --wait`"));
    expect(
        named && only_wait,
        "the reasons name the flag and --wait",
        &doc,
    )?;
    let after = lab.lane_folders().len();
    expect(
        before == after,
        "no lane folder or home for a refusal",
        &doc,
    )?;
    done()
}

pub fn broken_server(lab: &Lab) -> Outcome {
    let (real, script) = (env(lab), script());
    let env = [
        ("CAS_REAL_CODEX", real.as_str()),
        ("CAS_NO_LISTEN_SERVER_FAILS", "1"),
    ];
    let args = start_args(lab, &script, &["--uncommitted", "--wait"]);
    let (code, doc) = lab.cas(&args, &env)?;
    expect_fields(
        "a stdio server that exits at once",
        Some(code),
        &doc,
        json!({
            "exit": 1,
            "success": false,
            "status": "failed",
            "selectedTransport": "stdio",
            "failureCode": "stdio_bootstrap_failed",
            "reviewThreadId": null,
        }),
    )?;
    let hint = doc["failureHint"].as_str().unwrap_or_default();
    expect(
        hint.contains("the app-server is broken"),
        "the hint has the server's stderr",
        &doc,
    )?;
    done()
}

pub fn interrupted(lab: &Lab) -> Outcome {
    let (real, script) = (env(lab), script());
    let env = [("CAS_REAL_CODEX", real.as_str())];
    let slow = [
        "--custom-instructions",
        "[[stall:30]] review slowly",
        "--wait",
    ];
    let mut child = lab.spawn(&start_args(lab, &script, &slow), &env)?;
    let id = running_id(lab, &mut child)?;
    let (_, running) = lab.handle("status", &id, &[])?;
    expect_fields(
        "the stdio review runs in the start process",
        None,
        &running,
        json!({"status": "running", "selectedTransport": "stdio", "hostPid": child.id()}),
    )?;
    // SAFETY: kill(2) with SIGINT on the child this trial started and has not reaped.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let out = child.wait_with_output().map_err(|e| e.to_string())?;
    let doc: Value = serde_json::from_slice(&out.stdout).map_err(|e| e.to_string())?;
    expect_fields(
        "start --wait reports the interrupt",
        out.status.code(),
        &doc,
        json!({"exit": 130, "interrupted": true, "signal": "SIGINT", "failureCode": "interrupted"}),
    )?;
    let (code, status) = lab.handle("status", &id, &[])?;
    expect_fields(
        "the record of the interrupted review is concluded",
        Some(code),
        &status,
        json!({"exit": 1, "status": "transport_lost", "failureCode": "review_transport_lost"}),
    )?;
    let hint = status["failureHint"].as_str().unwrap_or_default();
    expect(
        hint.contains("SIGINT"),
        "the hint names the signal",
        &status,
    )?;
    done()
}

/// Waits (20 s at most) until the spawned start has a running review in cas's index.
fn running_id(lab: &Lab, child: &mut std::process::Child) -> Result<String, libtest_mimic::Failed> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(id) = lab.indexed_ids().into_iter().next() {
            return Ok(id);
        }
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!("start ended before its review ran: {status}").into());
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            return Err("no review in the index within 20 s".into());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}
