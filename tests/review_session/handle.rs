//! One review handle across processes: start in one cas run, then wait, status and interrupt
//! in others; the record, the log and the server's reaping; a server killed under a wait.

use libtest_mimic::Failed;
use serde_json::{json, Value};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::lab::{id_of, read, Lab, FIXTURE_TITLE};
use crate::support::{self, done, expect, expect_fields, Outcome};

pub fn split_start_wait(lab: &Lab) -> Outcome {
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
    reaped_after_ttl(lab, &id, &token_file)?;
    done()
}

/// Once every lane process is gone, the record says the server was reaped and its token file
/// is removed.
fn reaped_after_ttl(lab: &Lab, id: &str, token_file: &str) -> Result<(), Failed> {
    lab.all_gone(Duration::from_secs(15))?;
    let (_, after) = lab.handle("status", id, &[])?;
    let reaped = (
        after["managedServerReapedAtMs"].is_u64(),
        Path::new(token_file).exists(),
    );
    support::same(
        "the server was reaped after its TTL (reapedAt set) and its token removed (exists)",
        &reaped,
        &(true, false),
        &after,
    )
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

pub fn timeout_then_interrupt(lab: &Lab) -> Outcome {
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

pub fn server_killed(lab: &Lab) -> Outcome {
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
