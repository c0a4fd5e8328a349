//! The fault suite: `cas request` against fake servers that flood notifications, send a huge
//! line or a line that never ends. Each run answers (or fails at its deadline), counts what it
//! did not pass on, and keeps its peak memory bounded (`client.peakRssKb` of the cas process).

mod support;

use libtest_mimic::{Arguments, Failed, Trial};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use support::{cas, codex_trial, done, expect, expect_fields, JsonRun, Outcome};

/// Peak RSS the cas process may reach in every fault here.
const PEAK_RSS_LIMIT_KB: u64 = 64 * 1024;

/// The line cap the huge-line faults run with (the default, 64 MiB, would itself be over
/// the RSS limit once buffered).
const LINE_CAP: &str = "16777216";

fn main() -> ExitCode {
    let args = Arguments::from_args();
    let trials = vec![
        Trial::ignorable_test("a_notification_flood_is_capped_and_counted", flood),
        codex_trial(
            "a_huge_line_is_skipped_and_the_answer_still_comes",
            huge_line,
        ),
        codex_trial("a_line_that_never_ends_fails_at_the_deadline", endless_line),
    ];
    libtest_mimic::run(&args, trials).exit_code()
}

/// A scenario whose fake sends `after_initialize` (a TOML inline table) after `initialize`.
fn scenario(dir: &Path, after_initialize: &str) -> Result<PathBuf, Failed> {
    let text = format!(
        r#"description = "fault"
targets = ["fake-stdio"]

[[fake.after_initialize]]
{after_initialize}

[[fake.rules]]
method = "thread/list"
result = {{ data = [{{ id = "thread-a" }}], nextCursor = "" }}

[[steps]]
request = {{ method = "initialize", params = {{ clientInfo = {{ name = "x", version = "1" }} }} }}
"#
    );
    let path = dir.join("fault.toml");
    std::fs::write(&path, text).map_err(|e| e.to_string())?;
    Ok(path)
}

/// A codex stand-in: `codex` itself for everything (version, schema, help) except serving,
/// where the fake from `scenario` serves on stdio.
fn fake_codex(dir: &Path, codex: &Path, scenario: &Path) -> Result<PathBuf, Failed> {
    use std::os::unix::fs::PermissionsExt;
    let script = format!(
        "#!/bin/sh\nif [ \"$1\" = app-server ] && [ $# -eq 1 ]; then\n  exec '{}' fake_server --scenario '{}'\nfi\nexec '{}' \"$@\"\n",
        support::cas_bin().display(),
        scenario.display(),
        codex.display()
    );
    let path = dir.join("codex");
    std::fs::write(&path, script).map_err(|e| e.to_string())?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
        .map_err(|e| e.to_string())?;
    Ok(path)
}

fn tempdir() -> Result<tempfile::TempDir, Failed> {
    tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).map_err(|e| e.to_string().into())
}

/// Runs `cas request --method thread/list --json` with `args`; exit code, document, wall time.
fn request(args: &[&str], env: &[(&str, &str)]) -> Result<(i32, Value, Duration), Failed> {
    let t0 = Instant::now();
    let mut cmd = cas();
    cmd.args(["request", "--method", "thread/list", "--json"])
        .args(args)
        .envs(env.iter().copied());
    let (code, doc) = JsonRun::of(&mut cmd)?.pair();
    Ok((code, doc, t0.elapsed()))
}

fn peak_rss_bounded(what: &str, doc: &Value) -> Result<(), Failed> {
    let peak = doc["client"]["peakRssKb"].as_u64().unwrap_or(u64::MAX);
    eprintln!("{what}: cas peak RSS {peak} kB");
    expect(
        peak <= PEAK_RSS_LIMIT_KB,
        &format!("{what}: peak RSS {peak} kB ≤ {PEAK_RSS_LIMIT_KB} kB"),
        doc,
    )
}

fn flood() -> Outcome {
    let dir = tempdir()?;
    let flood = r#"flood = { count = 200000, method = "item/agentMessage/delta", params = { threadId = "t", turnId = "u", itemId = "i", delta = "some streamed words" } }"#;
    let fake = support::FakeWs::start(&scenario(dir.path(), flood)?, None)?;
    let (code, doc, wall) = request(&["--url", &fake.url, "--request-timeout-ms", "20000"], &[])?;
    expect_fields(
        "the answer comes after the flood; the oldest notifications are dropped and counted",
        Some(code),
        &doc,
        json!({
            "exit": 0,
            "ok": true,
            "results/0/summary/firstThreadId": "thread-a",
            "results/0/droppedNotifications/count": 190_000,
            "results/0/droppedNotifications/samples/0": "item/agentMessage/delta",
        }),
    )?;
    eprintln!("flood of 200000: {wall:?}");
    expect(wall < Duration::from_secs(20), "within the deadline", &doc)?;
    peak_rss_bounded("flood of 200000", &doc)?;
    done()
}

/// `cas request` on a stdio fake scripted with `fault`, under the test's line cap.
fn line_fault(
    real: &Path,
    fault: &str,
    timeout_ms: &str,
) -> Result<(i32, Value, Duration), Failed> {
    let dir = tempdir()?;
    let fault = scenario(dir.path(), fault)?;
    let codex = fake_codex(dir.path(), real, &fault)?;
    let codex = codex.to_string_lossy();
    let args = ["--codex-bin", &codex, "--request-timeout-ms", timeout_ms];
    request(&args, &[("CAS_MAX_MESSAGE_BYTES", LINE_CAP)])
}

fn huge_line(real: &Path) -> Outcome {
    let (code, doc, wall) = line_fault(real, "line_bytes = 104857600", "20000")?;
    expect_fields(
        "the 100 MiB line is skipped by size and the answer still comes",
        Some(code),
        &doc,
        json!({
            "exit": 0,
            "ok": true,
            "results/0/summary/firstThreadId": "thread-a",
            "results/0/oversizedLines": {"count": 1, "samples": [104_857_601]},
        }),
    )?;
    eprintln!("100 MiB line: {wall:?}");
    expect(wall < Duration::from_secs(20), "within the deadline", &doc)?;
    peak_rss_bounded("100 MiB line", &doc)?;
    done()
}

fn endless_line(real: &Path) -> Outcome {
    let (code, doc, wall) = line_fault(real, "endless_line = true", "2000")?;
    expect_fields(
        "the answer is lost in the endless line: the request fails at its deadline",
        Some(code),
        &doc,
        json!({
            "exit": 1,
            "ok": false,
            "requestsFailed": 1,
            "results/0/error": "no response to thread/list within 2s",
        }),
    )?;
    eprintln!("endless line: {wall:?}");
    expect(
        wall < Duration::from_secs(8),
        "within the deadline and shutdown",
        &doc,
    )?;
    peak_rss_bounded("endless line", &doc)?;
    done()
}
