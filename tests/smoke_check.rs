//! `cas smoke_check` on the installed codex as a user runs it: the seven checks on both
//! transports, and the hook policies (`require-observed`, `off`) with and without hooks.
//!
//! Every case needs codex: ignored with a reason when it is missing, failing instead under
//! `CAS_REQUIRE_CODEX=1`.

mod support;

use libtest_mimic::Arguments;
use serde_json::{json, Value};
use std::path::Path;
use std::process::ExitCode;

use support::{cas_json, codex_trial, done, expect_fields, Outcome};

fn main() -> ExitCode {
    let args = Arguments::from_args();
    let trials = vec![
        codex_trial(
            "smoke_check_hermetic_passes_all_seven_checks",
            smoke_hermetic,
        ),
        codex_trial(
            "smoke_check_require_observed_fails_closed_without_hooks",
            smoke_hooks,
        ),
    ];
    libtest_mimic::run(&args, trials).exit_code()
}

fn smoke_hermetic(_codex: &Path) -> Outcome {
    for transport in ["stdio", "ws"] {
        let (code, doc) = cas_json(&[
            "smoke_check",
            "--hermetic",
            "--transport",
            transport,
            "--json",
        ])?;
        let names: Vec<&str> = doc["checks"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|c| c["name"].as_str())
            .collect();
        let want = [
            "handshake",
            "experimentalFeature/list",
            "thread/start",
            "turn/start",
            "turn/steer",
            "turn/interrupt",
            "thread/resume",
        ];
        expect_fields(
            "seven checks, all ok",
            Some(code),
            &doc,
            json!({"exit": 0, "ok": true}),
        )?;
        support::same("the seven checks", &names, &want.to_vec(), &doc)?;
        // Every check proved its method: no precondition refusals.
        let proved: Vec<(bool, bool)> = doc["checks"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|c| {
                let detail = c["detail"].as_str();
                (c["ok"] == true, detail.is_some_and(|d| d.starts_with("ok")))
            })
            .collect();
        support::same(
            "every check proved its method (ok, detail starts with ok)",
            &proved,
            &vec![(true, true); proved.len()],
            &doc,
        )?;
    }
    done()
}

fn smoke_hooks(_codex: &Path) -> Outcome {
    let base = [
        "smoke_check",
        "--hermetic",
        "--hooks",
        "require-observed",
        "--json",
    ];
    let (code, doc) = cas_json(&base)?;
    expect_fields(
        "no hooks: hook_not_observed, exit 1, nothing observed",
        Some(code),
        &doc,
        json!({"exit": 1, "failureCode": "hook_not_observed", "hookSummary/observed": false}),
    )?;
    let with = [
        &base[..],
        &["--hooks-config", "fixtures/hooks/complete.json"],
    ]
    .concat();
    let (code, doc) = cas_json(&with)?;
    expect_fields(
        "hooks observed, exit 0",
        Some(code),
        &doc,
        json!({"exit": 0, "hookSummary/observed": true, "failureCode": null}),
    )?;
    let log = doc["hookSummary"]["hookLogPath"]
        .as_str()
        .unwrap_or_default();
    let lines = std::fs::read_to_string(log).map_err(|e| format!("hook log {log}: {e}"))?;
    let first: Value =
        serde_json::from_str(lines.lines().next().unwrap_or("")).map_err(|e| e.to_string())?;
    expect_fields(
        "the log holds the raw notifications",
        None,
        &first,
        json!({"method": "hook/started"}),
    )?;
    let off = [
        "smoke_check",
        "--hermetic",
        "--hooks",
        "off",
        "--hooks-config",
        "fixtures/hooks/complete.json",
        "--json",
    ];
    let (code, doc) = cas_json(&off)?;
    expect_fields(
        "hooks off: none run",
        Some(code),
        &doc,
        json!({"exit": 0, "hookSummary/observed": false}),
    )?;
    done()
}
