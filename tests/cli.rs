//! The `cas` command line as a user runs it: exit codes, JSON on stdout, reasons on stderr.
//!
//! Runs under libtest-mimic so the real-codex case is ignored with a reason when codex is
//! missing (and fails when `CAS_REQUIRE_CODEX=1`), never silently passed.

mod support;

use libtest_mimic::{Arguments, Trial};
use predicates::prelude::*;
use serde_json::json;
use std::process::ExitCode;

use support::{cas, done, expect_fields, run_json, Outcome};

fn main() -> ExitCode {
    let args = Arguments::from_args();
    let trials = vec![
        Trial::ignorable_test(
            "conformance_pass_prints_one_json_verdict_and_exits_0",
            pass_json,
        ),
        Trial::ignorable_test("conformance_fail_exits_1", fail_exits_1),
        Trial::ignorable_test("conformance_human_output_lists_steps", human_output),
        Trial::ignorable_test(
            "unknown_scenario_exits_2_naming_known_ones",
            unknown_scenario,
        ),
        Trial::ignorable_test("unknown_target_exits_2", unknown_target),
        Trial::ignorable_test(
            "unparsable_scenario_file_exits_2_with_the_parse_error",
            broken_file,
        ),
        Trial::ignorable_test("missing_codex_exits_2_with_a_hint", missing_codex),
        support::codex_trial("conformance_handshake_on_codex_ws_passes", codex_ws_passes),
        Trial::ignorable_test("fake_server_speaks_jsonl_on_stdio", fake_server_stdio),
        Trial::ignorable_test(
            "three_samples_say_samples_3_attempts_3_retries_0",
            samples_are_not_attempts,
        ),
        support::codex_trial(
            "schema_surface_text_lists_client_requests_and_notifications",
            surface_text,
        ),
        Trial::ignorable_test("conformance_help_says_it_runs_the_suite", conformance_help),
    ];
    libtest_mimic::run(&args, trials).exit_code()
}

fn pass_json() -> Outcome {
    let report = run_json(
        &[
            "conformance",
            "--scenario",
            "handshake",
            "--target",
            "fake-ws",
            "--json",
        ],
        0,
    )?;
    expect_fields(
        "one passing handshake on fake-ws",
        None,
        &report,
        json!({
            "ok": true,
            "schemaVersion": 1,
            "check": "conformance",
            "target": "fake-ws",
            "smokePreflight/status": "skipped",
            "scenarios/0/name": "handshake",
            "scenarios/0/mode": "protocol",
            "scenarios/0/status": "pass",
            "scenarios/0/ok": true,
        }),
    )?;
    let shape = (
        report["scenarios"].as_array().map(Vec::len),
        report["scenarios"][0]["durationMs"].is_u64(),
    );
    support::same(
        "one entry with a duration",
        &shape,
        &(Some(1), true),
        &report,
    )?;
    done()
}

/// A twin run by name fails its check as designed: status fail, the expected code, ok; a
/// scenario whose server breaks a rule it does not expect is not ok and exits 1.
fn fail_exits_1() -> Outcome {
    let report = run_json(
        &[
            "conformance",
            "--scenario",
            "handshake_twin_serves_before_initialize",
            "--target",
            "fake-stdio",
            "--json",
        ],
        0,
    )?;
    expect_fields(
        "the twin fails as designed",
        None,
        &report,
        json!({
            "scenarios/0/status": "fail",
            "scenarios/0/failureCode": "unexpected_result",
            "scenarios/0/ok": true,
        }),
    )?;
    let report = run_json(
        &[
            "conformance",
            "--scenario",
            "fixtures/failing-scenarios/handshake_wrong_user_agent.toml",
            "--target",
            "fake-stdio",
            "--json",
        ],
        1,
    )?;
    let entry = &report["scenarios"][0];
    expect_fields(
        "an unexpected failure is not ok",
        None,
        &report,
        json!({
            "ok": false,
            "scenarios/0/ok": false,
            "scenarios/0/failureCode": "result_mismatch",
        }),
    )?;
    support::expect(entry["tempRoot"].is_string(), "a kept tempRoot", &report)?;
    let kept = std::path::PathBuf::from(entry["tempRoot"].as_str().unwrap_or_default());
    if !kept.is_dir() {
        return Err(format!(
            "the failing run's workspace {} was not kept",
            kept.display()
        )
        .into());
    }
    let _ = std::fs::remove_dir_all(kept);
    done()
}

fn human_output() -> Outcome {
    cas()
        .args([
            "conformance",
            "--scenario",
            "handshake",
            "--target",
            "fake-stdio",
            "--color",
            "never",
        ])
        .assert()
        .code(0)
        .stdout(predicate::str::starts_with(
            "cas conformance: target fake-stdio\nscenarios run on: fake-stdio 1\n",
        ))
        .stdout(predicate::str::contains(
            "smoke preflight: skipped (the fake server is not a runtime to smoke-check)",
        ))
        .stdout(
            predicate::str::is_match(r"(?m)^   PASS \[ +[0-9.]+s\] handshake::fake-stdio$")
                .unwrap(),
        )
        .stdout(predicate::str::contains(
            "1 scenarios on fake-stdio (ran on fake-stdio 1, --jobs",
        ))
        .stdout(predicate::str::contains("): 1 passed, 0 failed"));
    done()
}

fn unknown_scenario() -> Outcome {
    cas()
        .args(["conformance", "--scenario", "nope"])
        .assert()
        .code(2)
        .stdout("")
        .stderr(
            predicate::str::contains("no scenario named \"nope\"")
                .and(predicate::str::contains("handshake")),
        );
    done()
}

fn unknown_target() -> Outcome {
    cas()
        .args([
            "conformance",
            "--scenario",
            "handshake",
            "--target",
            "codex",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("unknown target \"codex\""));
    done()
}

fn broken_file() -> Outcome {
    cas()
        .args([
            "conformance",
            "--scenario",
            "fixtures/broken-scenarios/two_kinds.toml",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("exactly one of request, notify"));
    cas()
        .args([
            "conformance",
            "--scenario",
            "fixtures/broken-scenarios/not_toml.toml",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("does not parse"));
    done()
}

fn missing_codex() -> Outcome {
    let report = run_json(
        &[
            "conformance",
            "--scenario",
            "handshake",
            "--target",
            "codex-stdio",
            "--json",
            "--codex-bin",
            "/nonexistent/codex",
        ],
        2,
    )?;
    let message = report["scenarios"][0]["detail"]
        .as_str()
        .unwrap_or_default();
    expect_fields(
        "codex_not_found, preflight not ok",
        None,
        &report,
        json!({
            "scenarios/0/status": "error",
            "scenarios/0/failureCode": "codex_not_found",
            "smokePreflight/ok": false,
        }),
    )?;
    support::expect(
        message.contains("/nonexistent/codex"),
        "the detail names the path",
        &report,
    )?;
    done()
}

fn codex_ws_passes(_codex: &std::path::Path) -> Outcome {
    let report = run_json(
        &[
            "conformance",
            "--scenario",
            "handshake",
            "--target",
            "codex-ws",
            "--json",
        ],
        0,
    )?;
    expect_fields(
        "handshake passes on codex-ws",
        None,
        &report,
        json!({"ok": true, "smokePreflight/status": "pass", "scenarios/0/status": "pass"}),
    )?;
    support::expect(
        report["codex"]["version"].is_string(),
        "the codex version is reported",
        &report,
    )?;
    done()
}

fn fake_server_stdio() -> Outcome {
    let input = concat!(
        "{\"id\":1,\"method\":\"thread/list\",\"params\":{}}\n",
        "{not json\n",
        "{\"id\":\"s\",\"method\":\"initialize\",\"params\":{\"clientInfo\":{\"name\":\"t\",\"version\":\"1\"}}}\n",
    );
    cas()
        .args(["fake_server", "--scenario", "scenarios/handshake.toml"])
        .write_stdin(input)
        .assert()
        .code(0)
        .stdout(predicate::str::starts_with(
            "{\"id\":1,\"error\":{\"code\":-32600,\"message\":\"Not initialized\"}}\n{\"id\":\"s\",\"result\":{\"userAgent\"",
        ))
        .stdout(predicate::str::contains("\"jsonrpc\"").not());
    done()
}

/// `--sample 3` on one instance: three samples, three requests, no retries — each named.
fn samples_are_not_attempts() -> Outcome {
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("cli-samples");
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let script = dir.join("fake.toml");
    let text = "description = \"samples\"\ntargets = [\"fake-ws\"]\n[[fake.rules]]\n\
        method = \"thread/list\"\nresult = { data = [] }\n\
        [[steps]]\nnotify = { method = \"initialized\" }\n";
    std::fs::write(&script, text).map_err(|e| e.to_string())?;
    let fake = support::FakeWs::start(&script, None)?;
    let (code, doc) = support::cas_json(&[
        "instance_runner",
        "--url",
        &fake.url,
        "--instances",
        "1",
        "--method",
        "thread/list",
        "--sample",
        "3",
        "--json",
    ])?;
    expect_fields(
        "samples, attempts and retries are told apart",
        Some(code),
        &doc,
        json!({"exit": 0, "results/0/samples": 3, "results/0/attempts": 3, "results/0/retries": 0}),
    )?;
    done()
}

/// `cas schema surface` as text names every client request and notification, not only the
/// server requests.
fn surface_text(codex: &std::path::Path) -> Outcome {
    cas()
        .args(["schema", "surface", "--codex-bin"])
        .arg(codex)
        .assert()
        .code(0)
        .stdout(predicate::str::contains("  client request thread/list -> "))
        .stdout(predicate::str::contains(
            "  client notification initialized",
        ))
        .stdout(predicate::str::contains(
            "  server notification turn/completed",
        ))
        .stdout(predicate::str::contains("  server request "));
    done()
}

/// `cas conformance --help` describes the suite, not one scenario.
fn conformance_help() -> Outcome {
    cas()
        .args(["--help"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("Run the conformance suite"))
        .stdout(predicate::str::contains("Run one scenario").not());
    done()
}
