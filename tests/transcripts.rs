//! Transcripts and event logs as a user meets them: a failing scenario's transcript (both
//! directions and the server's stderr) and `cas transcript show`, `--transcript-dir`, the
//! `--event-log` of `cas request` with routing keys, probing an unlisted method,
//! `--skip-compat`, shell completions and `--version`.

mod support;

use libtest_mimic::{Arguments, Failed, Trial};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use support::{cas, codex_trial, done, expect, expect_fields, JsonRun, Outcome};

const FAILING: &str = "fixtures/transcripts/deliberate_failure.toml";

fn main() -> ExitCode {
    let args = Arguments::from_args();
    let trials = vec![
        codex_trial(
            "a_failing_scenario_keeps_a_transcript_of_both_directions_and_stderr",
            |_| failing_scenario_transcript(),
        ),
        Trial::ignorable_test(
            "transcript_dir_keeps_passing_and_failing_runs_transcripts",
            transcript_dir,
        ),
        codex_trial(
            "request_event_log_has_a_line_per_frame_with_routing_keys",
            |_| request_event_log(),
        ),
        codex_trial("an_unlisted_method_is_probed_with_a_warning", |_| {
            unlisted_method()
        }),
        Trial::ignorable_test("completions_and_version", completions_and_version),
        Trial::ignorable_test("transcript_show_refuses_what_it_cannot_read", show_refusals),
    ];
    libtest_mimic::run(&args, trials).exit_code()
}

/// A scratch folder that is the runs' TMPDIR, so kept workspaces go with it.
fn scratch() -> Result<tempfile::TempDir, Failed> {
    tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).map_err(|e| e.to_string().into())
}

/// The records of an NDJSON file.
fn records(path: &Path) -> Result<Vec<Value>, Failed> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    text.lines()
        .map(|l| serde_json::from_str(l).map_err(|e| format!("{l}: {e}").into()))
        .collect()
}

fn events<'a>(records: &'a [Value], event: &str) -> Vec<&'a Value> {
    records.iter().filter(|r| r["event"] == event).collect()
}

fn failing_scenario_transcript() -> Outcome {
    let tmp = scratch()?;
    let junit = tmp.path().join("junit.xml");
    let run = JsonRun::of(
        cas()
            .args([
                "conformance",
                "--target",
                "codex-stdio",
                "--scenario",
                FAILING,
            ])
            .args(["--skip-smoke-check", "--json", "--junit"])
            .arg(&junit)
            .env("TMPDIR", tmp.path()),
    )?;
    expect_fields(
        "the scenario fails",
        Some(run.code),
        &run.doc,
        serde_json::json!({"exit": 1, "scenarios/0/ok": false}),
    )?;
    let entry = &run.doc["scenarios"][0];
    let path = PathBuf::from(entry["transcript"].as_str().ok_or("no transcript field")?);
    let kept = entry["tempRoot"].as_str().unwrap_or_default();
    expect(
        path.starts_with(kept),
        "the transcript is in the kept workspace",
        &run.doc,
    )?;
    let recs = records(&path)?;
    let (sent, received, stderr) = (
        events(&recs, "send"),
        events(&recs, "recv"),
        events(&recs, "stderr"),
    );
    let shape = (
        recs[0]["schema"] == "cas.transcript/1",
        sent.iter().any(|r| r["method"] == "thread/list"),
        received
            .iter()
            .any(|r| r["method"] == "thread/list" && r["kind"] == "response"),
        !stderr.is_empty(),
    );
    support::same(
        "schema, thread/list sent and answered, server stderr",
        &shape,
        &(true, true, true, true),
        &Value::String(std::fs::read_to_string(&path).unwrap_or_default()),
    )?;
    let xml = std::fs::read_to_string(&junit).map_err(|e| e.to_string())?;
    let pointed = format!("<system-out>transcript: {}</system-out>", path.display());
    expect(
        xml.contains(&pointed),
        "JUnit points to it",
        &Value::String(xml.clone()),
    )?;
    let shown = cas()
        .args(["transcript", "show"])
        .arg(&path)
        .output()
        .map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&shown.stdout).into_owned();
    let lines = (
        shown.status.code(),
        text.contains("→ main thread/list #"),
        text.contains("← main thread/list #"),
        text.contains("! main stderr: "),
    );
    support::same(
        "transcript show prints the conversation",
        &lines,
        &(Some(0), true, true, true),
        &Value::String(text),
    )?;
    done()
}

fn transcript_dir() -> Outcome {
    let tmp = scratch()?;
    let dir = tmp.path().join("transcripts");
    std::fs::create_dir(&dir).map_err(|e| e.to_string())?;
    let run = JsonRun::of(
        cas()
            .args([
                "conformance",
                "--target",
                "fake-stdio",
                "--skip-smoke-check",
            ])
            .args(["--scenario", "handshake", "--scenario", FAILING, "--json"])
            .arg("--transcript-dir")
            .arg(&dir)
            .env("TMPDIR", tmp.path()),
    )?;
    let passing = dir.join("handshake@fake-stdio.ndjson");
    // A scenario given as a file is named by its path; `/` becomes `__`.
    let failing = dir.join("fixtures__transcripts__deliberate_failure@fake-stdio.ndjson");
    let found = (
        run.code,
        run.doc["scenarios"][0]["transcript"] == passing.display().to_string(),
        run.doc["scenarios"][1]["transcript"] == failing.display().to_string(),
    );
    support::same(
        "both transcripts are kept in the folder",
        &found,
        &(1, true, true),
        &run.doc,
    )?;
    let recs = records(&failing)?;
    let both = (
        !events(&recs, "send").is_empty(),
        !events(&recs, "recv").is_empty(),
    );
    support::same("both directions", &both, &(true, true), &run.doc)?;
    let missing = JsonRun::of(
        cas()
            .args([
                "conformance",
                "--target",
                "fake-stdio",
                "--skip-smoke-check",
            ])
            .args(["--scenario", "handshake", "--json", "--transcript-dir"])
            .arg(tmp.path().join("absent")),
    )?;
    expect_fields(
        "a missing --transcript-dir is a usage error",
        Some(missing.code),
        &missing.doc,
        serde_json::json!({"exit": 2, "failureCode": "usage_error"}),
    )?;
    done()
}

fn request_event_log() -> Outcome {
    let tmp = scratch()?;
    let log = tmp.path().join("events.ndjson");
    let run = JsonRun::of(
        cas()
            .args(["request", "--hermetic", "--method", "thread/start"])
            .args(["--params-json", "{}", "--json", "--event-log"])
            .arg(&log),
    )?;
    expect_fields(
        "request ok",
        Some(run.code),
        &run.doc,
        serde_json::json!({"exit": 0}),
    )?;
    let recs = records(&log)?;
    let frames: Vec<&Value> = recs
        .iter()
        .filter(|r| r["event"] == "send" || r["event"] == "recv")
        .collect();
    let every_frame_whole = frames.iter().all(|r| r["frame"].is_object());
    let answer = frames
        .iter()
        .find(|r| r["method"] == "thread/start" && r["kind"] == "response")
        .ok_or("no thread/start response line")?;
    let thread = answer["threadId"].as_str().unwrap_or_default();
    let in_frame = answer["frame"]["result"]["thread"]["id"].as_str();
    let model = events(&recs, "model_request").len();
    support::same(
        "whole frames, thread/start's answer routed by its thread id, no model call",
        &(
            every_frame_whole,
            !thread.is_empty(),
            in_frame == Some(thread),
            model,
        ),
        &(true, true, true, 0),
        &Value::Array(recs.clone()),
    )?;
    let sent = frames.iter().filter(|r| r["event"] == "send").count();
    expect(
        sent == 3,
        "initialize, initialized, thread/start sent",
        &run.doc,
    )?;
    done()
}

fn unlisted_method() -> Outcome {
    let probe = JsonRun::of(cas().args([
        "request",
        "--hermetic",
        "--method",
        "does/notExist",
        "--json",
    ]))?;
    expect_fields(
        "sent anyway: the server refuses it, the codex is not incompatible",
        Some(probe.code),
        &probe.doc,
        serde_json::json!({"exit": 1, "compatibilityVerdict": "compatible", "requestsFailed": 1}),
    )?;
    expect(
        probe.stderr.contains("does not list does/notExist"),
        "a warning on stderr",
        &Value::String(probe.stderr.clone()),
    )?;
    let skipped = JsonRun::of(cas().args(["request", "--hermetic", "--skip-compat", "--json"]))?;
    expect_fields(
        "--skip-compat: unchecked",
        Some(skipped.code),
        &skipped.doc,
        serde_json::json!({"exit": 0, "compatibilityVerdict": "unchecked"}),
    )?;
    done()
}

fn completions_and_version() -> Outcome {
    for shell in ["bash", "zsh", "fish"] {
        let out = cas()
            .args(["completions", shell])
            .output()
            .map_err(|e| e.to_string())?;
        let script = String::from_utf8_lossy(&out.stdout);
        if !out.status.success() || !script.contains("transcript") {
            return Err(format!("{shell} completions: {} {script}", out.status).into());
        }
    }
    let out = cas().arg("--version").output().map_err(|e| e.to_string())?;
    let version = String::from_utf8_lossy(&out.stdout).into_owned();
    let want = format!(
        "cas {} (pinned codex {})",
        env!("CARGO_PKG_VERSION"),
        cas::launch::PINNED_CODEX_VERSION
    );
    expect(
        version.trim() == want,
        &format!("--version says {want:?}"),
        &Value::String(version),
    )?;
    done()
}

fn show_refusals() -> Outcome {
    let tmp = scratch()?;
    let bad = tmp.path().join("bad.ndjson");
    std::fs::write(&bad, "{}\nnot json\n").map_err(|e| e.to_string())?;
    for (file, says) in [
        (tmp.path().join("absent.ndjson"), "No such file"),
        (bad, "line 2 is not a transcript record"),
    ] {
        let out = cas()
            .args(["transcript", "show"])
            .arg(&file)
            .output()
            .map_err(|e| e.to_string())?;
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        if out.status.code() != Some(2) || !stderr.contains(says) {
            return Err(format!("{}: {} {stderr}", file.display(), out.status).into());
        }
    }
    done()
}
