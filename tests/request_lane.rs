//! `cas request` (and `cas instance_runner` on the same fake) as a user runs it against the fake
//! app-server on a real websocket: summaries, deadlines, retries, server requests, bad flags.

mod support;

use libtest_mimic::{Arguments, Failed, Trial};
use serde_json::{json, Value};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use support::{cas, done, expect, expect_fields, JsonRun, Outcome};

fn main() -> ExitCode {
    let args = Arguments::from_args();
    let trials = vec![
        Trial::ignorable_test("request_over_url_reports_the_summary", request_over_url),
        Trial::ignorable_test(
            "a_response_that_never_comes_fails_at_its_deadline",
            never_answered,
        ),
        Trial::ignorable_test("overload_is_retried_and_counted", overload_retried),
        Trial::ignorable_test(
            "server_requests_are_answered_and_unknown_ones_recorded",
            server_requests_recorded,
        ),
        Trial::ignorable_test("bad_flags_exit_2_before_anything_runs", bad_flags),
    ];
    libtest_mimic::run(&args, trials).exit_code()
}

/// The fake app-server on a loopback websocket that wants a token, with the token's file.
struct FakeWs {
    server: support::FakeWs,
    token_file: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl FakeWs {
    fn start() -> Result<FakeWs, Failed> {
        let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).map_err(|e| e.to_string())?;
        let token_file = dir.path().join("token");
        std::fs::write(&token_file, "fake-token\n").map_err(|e| e.to_string())?;
        let scenario = support::root().join("fixtures/fake/control_lanes.toml");
        let server = support::FakeWs::start(&scenario, Some(&token_file))?;
        Ok(FakeWs {
            server,
            token_file,
            _dir: dir,
        })
    }

    /// Runs cas with the URL and token flags appended; returns (exit code, stdout JSON).
    fn cas(&self, args: &[&str]) -> Result<(i32, Value), Failed> {
        JsonRun::of(
            cas()
                .args(args)
                .args(["--url", &self.server.url, "--token-file"])
                .arg(&self.token_file),
        )
        .map(JsonRun::pair)
    }
}

fn request_over_url() -> Outcome {
    let fake = FakeWs::start()?;
    let (code, doc) = fake.cas(&["request", "--method", "thread/list", "--json"])?;
    expect_fields(
        "one thread/list over the URL",
        Some(code),
        &doc,
        json!({
            "exit": 0,
            "ok": true,
            "check": "request",
            "schemaVersion": 1,
            "codex": null,
            "params": {"cursor": null, "limit": 1},
            "results/0/summary": {"rows": 1, "firstThreadId": "thread-a", "nextCursor": ""},
            "results/0/transport": "ws",
            "instancesStarted": 1,
        }),
    )?;
    done()
}

fn never_answered() -> Outcome {
    let fake = FakeWs::start()?;
    let t0 = Instant::now();
    let args = [
        "request",
        "--method",
        "thread/read",
        "--params-json",
        r#"{"threadId":"x"}"#,
        "--request-timeout-ms",
        "500",
        "--json",
    ];
    let (code, doc) = fake.cas(&args)?;
    expect_fields(
        "a hung request fails with a clear message",
        Some(code),
        &doc,
        json!({
            "exit": 1,
            "requestsFailed": 1,
            "results/0/error": "no response to thread/read within 500ms",
        }),
    )?;
    expect(
        t0.elapsed() < Duration::from_secs(5),
        "it took too long",
        &doc,
    )?;
    done()
}

fn overload_retried() -> Outcome {
    let fake = FakeWs::start()?;
    let args = [
        "request",
        "--method",
        "model/list",
        "--backoff-base-ms",
        "5",
        "--retry-seed",
        "3",
        "--json",
    ];
    let (code, doc) = fake.cas(&args)?;
    let delays = doc["results"][0]["retryDelaysMs"].as_array().map(Vec::len);
    expect_fields(
        "two retries, then success",
        Some(code),
        &doc,
        json!({"exit": 0, "retries": 2, "results/0/attempts": 3}),
    )?;
    support::same("the two delays are reported", &delays, &Some(2), &doc)?;
    let args = [
        "instance_runner",
        "--instances",
        "2",
        "--sample",
        "1",
        "--method",
        "model/list",
        "--max-retries",
        "1",
        "--backoff-base-ms",
        "5",
        "--json",
    ];
    let (code, doc) = fake.cas(&args)?;
    // Each connection has its own rule counters: two overloads each, one retry each: both fail.
    expect_fields(
        "past the budget both fail",
        Some(code),
        &doc,
        json!({"exit": 1, "requestsFailed": 2}),
    )?;
    let error = doc["results"][0]["error"].as_str().unwrap_or_default();
    let counted = (
        error.contains("-32001"),
        error.contains("gave up: retry_budget after 2 attempts"),
    );
    support::same(
        "attempts counted (the overload code, the retry budget after 2 attempts)",
        &counted,
        &(true, true),
        &doc,
    )?;
    done()
}

fn server_requests_recorded() -> Outcome {
    let fake = FakeWs::start()?;
    let (code, doc) = fake.cas(&[
        "request",
        "--method",
        "config/read",
        "--file-approval",
        "acceptForSession",
        "--json",
    ])?;
    // The answers may still be in flight when the result arrives; both were answered at once.
    expect_fields(
        "config/read succeeds and the unknown request is recorded",
        Some(code),
        &doc,
        json!({"exit": 0, "unsupportedServerRequests": ["item/fromTheFuture/ask"]}),
    )?;
    let answers = doc["serverRequests"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    expect(answers.contains(&json!({"method": "item/fileChange/requestApproval", "answer": "acceptForSession", "count": 1})), "file approval", &doc)?;
    done()
}

fn bad_flags() -> Outcome {
    let cases: [&[&str]; 5] = [
        &["request", "--params-json", "[1]"],
        &[
            "request",
            "--dynamic-tool-response-json",
            r#"{"success":"yes"}"#,
        ],
        &["request", "--exec-approval", "sometimes"],
        &["instance_runner", "--instances", "0"],
        &[
            "request",
            "--url",
            "ws://127.0.0.1:9",
            "--state-dir",
            "/tmp/x",
        ],
    ];
    for args in cases {
        cas().args(args).assert().code(2).stdout("");
    }
    done()
}
