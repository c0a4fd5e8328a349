//! The fault suite: `cas request` against fake servers that misbehave — a notification flood, a
//! huge line, a line that never ends, answers under wrong ids or sent twice, garbage lines, a
//! crash at a request, a slow initialize, a JSON-RPC error, endless overload, a websocket
//! server that never announces itself, a `--url` that never completes its handshake.
//!
//! Each run is checked for its `failureCode` (or its success), its wall time (within the
//! deadline plus a small margin), its peak memory (`client.peakRssKb` of the cas process) and
//! that it left nothing behind: no process mentioning the run's folder, nothing in its TMPDIR,
//! no home or hook log in its state folder.

#[path = "faults/run.rs"]
mod run;
mod support;

use libtest_mimic::{Arguments, Failed, Trial};
use serde_json::{json, Value};
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use run::Run;
use support::{codex_trial, done, expect, expect_fields, Outcome};

/// Peak RSS the cas process may reach in every fault here.
const PEAK_RSS_LIMIT_KB: u64 = 64 * 1024;

/// What a run may take past its deadline (start-up, shutdown, a loaded machine).
const MARGIN: Duration = Duration::from_secs(3);

fn main() -> ExitCode {
    let args = Arguments::from_args();
    let trials = vec![
        Trial::ignorable_test("a_notification_flood_is_not_kept", flood),
        Trial::ignorable_test(
            "a_url_that_never_completes_its_handshake_fails_at_the_connect_timeout",
            silent_url,
        ),
        codex_trial(
            "a_huge_line_is_skipped_and_the_answer_still_comes",
            huge_line,
        ),
        codex_trial("a_line_that_never_ends_fails_at_the_deadline", endless_line),
        codex_trial(
            "an_answer_under_a_wrong_id_is_a_deadline_that_names_it",
            wrong_ids,
        ),
        codex_trial("a_duplicate_answer_is_counted_as_stray", duplicates),
        codex_trial("garbage_lines_are_counted_and_skipped", garbage),
        codex_trial(
            "a_crash_at_a_request_is_connection_closed_with_the_signal",
            crash,
        ),
        codex_trial("a_slow_initialize_is_a_start_deadline", slow_initialize),
        codex_trial(
            "a_json_rpc_error_is_server_error_with_its_code",
            server_error,
        ),
        codex_trial("endless_overload_is_overload_retry_exhausted", overload),
        codex_trial(
            "a_ws_server_that_never_announces_itself_is_a_bootstrap_failure",
            silent_ws,
        ),
        codex_trial(
            "connect_timeout_without_a_websocket_is_refused",
            lonely_connect_timeout,
        ),
    ];
    libtest_mimic::run(&args, trials).exit_code()
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

/// The run's waiting took at most `deadline` plus [`MARGIN`]: the phases after preparing
/// (start, run, shutdown) from the report's `timingMs`, or the whole wall time of a run that
/// has none. Preparing (codex's version and protocol surface) is timed by its own deadlines
/// and, on a loaded machine, takes seconds; the whole run must stay under a minute more.
fn in_time(what: &str, wall: Duration, deadline: Duration, doc: &Value) -> Result<(), Failed> {
    let t = &doc["timingMs"];
    let waited = match (
        t["startAll"].as_f64(),
        t["runAll"].as_f64(),
        t["shutdown"].as_f64(),
    ) {
        (Some(a), Some(b), Some(c)) => Duration::from_secs_f64((a + b + c) / 1000.0),
        _ => wall,
    };
    eprintln!("{what}: waited {waited:?}, wall {wall:?}");
    expect(
        waited <= deadline + MARGIN && wall <= deadline + MARGIN + Duration::from_secs(60),
        &format!("{what}: waited {waited:?} within {deadline:?} + {MARGIN:?}"),
        doc,
    )
}

/// The checks every fault run ends with: time, memory, leftovers.
fn bounded(run: &Run, what: &str, wall: Duration, deadline: Duration, doc: &Value) -> Outcome {
    in_time(what, wall, deadline, doc)?;
    if doc.get("client").is_some() {
        peak_rss_bounded(what, doc)?;
    }
    run.nothing_left(what)?;
    done()
}

fn flood() -> Outcome {
    let run = Run::new()?;
    let flood = r#"flood = { count = 800000, method = "item/agentMessage/delta", params = { threadId = "t", turnId = "u", itemId = "i", delta = "some streamed words" } }"#;
    let fake = support::FakeWs::start(&run.scenario("", flood)?, None)?;
    let (code, doc, wall) = run.request(&["--url", &fake.url, "--request-timeout-ms", "150000"])?;
    expect_fields(
        "the answer comes after the flood; the request lane keeps none of it and says so",
        Some(code),
        &doc,
        json!({
            "exit": 0,
            "ok": true,
            "failureCode": null,
            "results/0/summary/firstThreadId": "thread-a",
            "results/0/ignoredNotifications": 800_000,
        }),
    )?;
    drop(fake);
    bounded(
        &run,
        "flood of 800000",
        wall,
        Duration::from_secs(150),
        &doc,
    )
}

fn silent_url() -> Outcome {
    let run = Run::new()?;
    // A listener that never accepts: TCP connects, the websocket handshake never answers.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    let port = listener.local_addr().map_err(|e| e.to_string())?.port();
    let url = format!("ws://127.0.0.1:{port}");
    let (code, doc, wall) = run.request(&["--url", &url, "--connect-timeout-ms", "1000"])?;
    expect_fields(
        "the connect gives up at --connect-timeout-ms",
        Some(code),
        &doc,
        json!({"exit": 1, "ok": false, "failureCode": "connect_failed",
               "startFailures/0/failureCode": "connect_failed"}),
    )?;
    drop(listener);
    bounded(&run, "silent --url", wall, Duration::from_secs(1), &doc)
}

fn huge_line(real: &Path) -> Outcome {
    let run = Run::new()?;
    // At the default line cap (64 MiB): the line streams to a spill file and is skipped.
    let (code, doc, wall) = run.on_fake(
        real,
        "",
        "line_bytes = 104857600",
        &["--request-timeout-ms", "30000"],
    )?;
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
    bounded(&run, "100 MiB line", wall, Duration::from_secs(30), &doc)
}

fn endless_line(real: &Path) -> Outcome {
    let run = Run::new()?;
    let (code, doc, wall) = run.on_fake(
        real,
        "",
        "endless_line = true",
        &["--request-timeout-ms", "2000"],
    )?;
    expect_fields(
        "the answer is lost in the endless line: the request fails at its deadline",
        Some(code),
        &doc,
        json!({
            "exit": 1,
            "ok": false,
            "failureCode": "deadline_exceeded",
            "requestsFailed": 1,
            "results/0/failureCode": "deadline_exceeded",
            "results/0/error": "no response to thread/list within 2s",
        }),
    )?;
    bounded(&run, "endless line", wall, Duration::from_secs(2), &doc)
}

fn wrong_ids(real: &Path) -> Outcome {
    let run = Run::new()?;
    let fake = r#"faults = ["wrong_response_ids"]"#;
    let (code, doc, wall) = run.on_fake(real, fake, "", &["--request-timeout-ms", "2000"])?;
    expect_fields(
        "the answer under a wrong id: a deadline whose message says an unknown id came",
        Some(code),
        &doc,
        json!({
            "exit": 1,
            "failureCode": "deadline_exceeded",
            "results/0/error": "no response to thread/list within 2s; 1 response(s) with an unknown id arrived on this connection (ids 1000002)",
            "results/0/strayResponses/count": 1,
        }),
    )?;
    bounded(&run, "wrong ids", wall, Duration::from_secs(2), &doc)
}

fn duplicates(real: &Path) -> Outcome {
    let run = Run::new()?;
    let fake = r#"faults = ["duplicate_responses"]"#;
    let (code, doc, wall) = run.on_fake(real, fake, "", &["--request-timeout-ms", "5000"])?;
    expect_fields(
        "the first answer counts, the second is a stray",
        Some(code),
        &doc,
        json!({"exit": 0, "ok": true, "failureCode": null,
               "results/0/strayResponses": {"count": 1, "samples": ["2"]}}),
    )?;
    bounded(&run, "duplicates", wall, Duration::from_secs(5), &doc)
}

fn garbage(real: &Path) -> Outcome {
    let run = Run::new()?;
    let (code, doc, wall) = run.on_fake(
        real,
        "",
        r#"garbage = "this is not json {"
[[fake.after_initialize]]
garbage = "[1, 2, 3]""#,
        &["--request-timeout-ms", "5000"],
    )?;
    expect_fields(
        "garbage lines are counted and the answer still comes",
        Some(code),
        &doc,
        json!({"exit": 0, "ok": true, "results/0/malformedLines/count": 2}),
    )?;
    bounded(&run, "garbage", wall, Duration::from_secs(5), &doc)
}

/// The `[fake]` lines of a script whose only `thread/list` rule is `rule`; rules are tried
/// first to last, so this one wins over the scenario's own.
fn first_rule(rule: &str) -> String {
    format!("[[fake.rules]]\nmethod = \"thread/list\"\n{rule}\n")
}

fn crash(real: &Path) -> Outcome {
    let run = Run::new()?;
    let (code, doc, wall) = run.on_fake(
        real,
        &first_rule(r#"action = "crash""#),
        "",
        &["--request-timeout-ms", "10000"],
    )?;
    expect_fields(
        "a crash at thread/list: connection_closed, with the signal",
        Some(code),
        &doc,
        json!({"exit": 1, "failureCode": "connection_closed",
               "results/0/failureCode": "connection_closed"}),
    )?;
    let error = doc["results"][0]["error"].as_str().unwrap_or_default();
    expect(
        error.contains("killed by signal 9"),
        "the message names the signal",
        &doc,
    )?;
    // Far under the deadline: a crash is seen when it happens.
    bounded(&run, "crash", wall, Duration::from_secs(1), &doc)
}

fn slow_initialize(real: &Path) -> Outcome {
    let run = Run::new()?;
    let (code, doc, wall) = run.on_fake(
        real,
        r#"initialize_delay = "30s""#,
        "",
        &["--request-timeout-ms", "1500"],
    )?;
    expect_fields(
        "initialize outlasts the deadline: the instance did not start, deadline_exceeded",
        Some(code),
        &doc,
        json!({"exit": 1, "failureCode": "deadline_exceeded", "instancesStarted": 0,
               "startFailures/0/failureCode": "deadline_exceeded"}),
    )?;
    bounded(
        &run,
        "slow initialize",
        wall,
        Duration::from_millis(1500),
        &doc,
    )
}

fn server_error(real: &Path) -> Outcome {
    let run = Run::new()?;
    let (code, doc, wall) = run.on_fake(
        real,
        &first_rule(r#"error = { code = -32600, message = "no such cursor" }"#),
        "",
        &["--request-timeout-ms", "5000"],
    )?;
    expect_fields(
        "a JSON-RPC error answer: server_error with its code",
        Some(code),
        &doc,
        json!({"exit": 1, "failureCode": "server_error",
               "results/0/error": "server error -32600 \"no such cursor\""}),
    )?;
    bounded(&run, "server error", wall, Duration::from_secs(5), &doc)
}

fn overload(real: &Path) -> Outcome {
    let run = Run::new()?;
    let (code, doc, wall) = run.on_fake(
        real,
        &first_rule(r#"error = { code = -32001, message = "Server overloaded; retry later." }"#),
        "",
        &[
            "--request-timeout-ms",
            "5000",
            "--max-retries",
            "2",
            "--backoff-base-ms",
            "10",
            "--retry-seed",
            "1",
        ],
    )?;
    expect_fields(
        "overload past the retry budget: overload_retry_exhausted",
        Some(code),
        &doc,
        json!({"exit": 1, "failureCode": "overload_retry_exhausted", "results/0/attempts": 3}),
    )?;
    bounded(&run, "overload", wall, Duration::from_secs(5), &doc)
}

fn silent_ws(real: &Path) -> Outcome {
    let run = Run::new()?;
    let (code, doc, wall) = run.on_fake(
        real,
        r#"faults = ["never_announce"]"#,
        "",
        &["--transport", "ws", "--connect-timeout-ms", "1500"],
    )?;
    expect_fields(
        "no banner within --connect-timeout-ms: websocket_bootstrap_failed",
        Some(code),
        &doc,
        json!({"exit": 1, "failureCode": "websocket_bootstrap_failed",
               "startFailures/0/failureCode": "websocket_bootstrap_failed"}),
    )?;
    bounded(
        &run,
        "silent ws server",
        wall,
        Duration::from_millis(1500),
        &doc,
    )
}

fn lonely_connect_timeout(real: &Path) -> Outcome {
    let run = Run::new()?;
    let codex = real.to_string_lossy();
    let (code, doc, wall) =
        run.request(&["--codex-bin", &codex, "--connect-timeout-ms", "1000"])?;
    expect_fields(
        "--connect-timeout-ms without a websocket is refused, one JSON document",
        Some(code),
        &doc,
        json!({"exit": 2, "ok": false, "check": "request", "failureCode": "usage_error"}),
    )?;
    bounded(
        &run,
        "lonely --connect-timeout-ms",
        wall,
        Duration::ZERO,
        &doc,
    )
}
