//! `--json` on every exit-2 path: a setup failure after the flags parse prints exactly one
//! JSON document (`{schemaVersion, check, ok: false, failureCode, error}`) on stdout, and
//! values that make no sense are refused while the flags parse.

mod support;

use libtest_mimic::{Arguments, Trial};
use predicates::prelude::*;
use std::path::PathBuf;
use std::process::ExitCode;

use support::{cas, done, expect, JsonRun, Outcome};

/// A command line (`BAD` stands for a codex whose `--version` fails), the `check` and the
/// `failureCode` its document must carry.
const CASES: &[(&str, &str, &str)] = &[
    (
        "request --params-file /nonexistent/params.json",
        "request",
        "usage_error",
    ),
    (
        "request --codex-bin /nonexistent/codex",
        "request",
        "codex_not_found",
    ),
    ("request --codex-bin BAD", "request", "codex_version_failed"),
    (
        "instance_runner --codex-bin /nonexistent/codex",
        "instance_runner",
        "codex_not_found",
    ),
    (
        "instance_runner --codex-bin BAD",
        "instance_runner",
        "codex_version_failed",
    ),
    (
        "smoke_check --codex-bin /nonexistent/codex",
        "smoke_check",
        "codex_not_found",
    ),
    (
        "smoke_check --codex-bin BAD",
        "smoke_check",
        "codex_version_failed",
    ),
    ("conformance --scenario nope", "conformance", "usage_error"),
    (
        "conformance --scenario handshake --target nope",
        "conformance",
        "usage_error",
    ),
    (
        "capabilities --codex-bin /nonexistent/codex",
        "capabilities",
        "codex_not_found",
    ),
    (
        "capabilities --codex-bin BAD",
        "capabilities",
        "codex_version_failed",
    ),
    (
        "schema surface --codex-bin /nonexistent/codex",
        "schema_surface",
        "codex_not_found",
    ),
    (
        "schema surface --codex-bin BAD",
        "schema_surface",
        "codex_version_failed",
    ),
    (
        "schema diff /nonexistent/a /nonexistent/b",
        "schema_diff",
        "usage_error",
    ),
    (
        "review_session start --uncommitted --codex-bin /nonexistent/codex",
        "review_session",
        "codex_not_found",
    ),
    (
        "review_session start --uncommitted --codex-bin BAD",
        "review_session",
        "codex_version_failed",
    ),
    (
        "review_session status --review-thread-id nope",
        "review_session",
        "usage_error",
    ),
    (
        "review_session wait --review-thread-id nope --timeout-ms 10",
        "review_session",
        "usage_error",
    ),
    (
        "review_session interrupt --review-thread-id nope --timeout-ms 10",
        "review_session",
        "usage_error",
    ),
    (
        "bench --codex-bin /nonexistent/codex",
        "bench",
        "codex_not_found",
    ),
    ("bench --requests 10 --window 3", "bench", "usage_error"),
];

/// Flag values refused while the flags parse: the command line and the flag named.
const ZEROES: &[(&str, &str)] = &[
    ("request --request-timeout-ms 0", "--request-timeout-ms"),
    ("instance_runner --sample 0", "--sample"),
    ("request --max-in-flight 0", "--max-in-flight"),
    (
        "review_session start --uncommitted --request-timeout-ms 0",
        "--request-timeout-ms",
    ),
    ("bench --window 0", "--window"),
];

fn main() -> ExitCode {
    let args = Arguments::from_args();
    let bad = bad_codex();
    let mut trials: Vec<Trial> = CASES
        .iter()
        .map(|&(line, check, code)| {
            let bad = bad.clone();
            Trial::ignorable_test(format!("json_document_on_exit_2: {line}"), move || {
                one_document(line, check, code, bad?)
            })
        })
        .collect();
    trials.extend(ZEROES.iter().map(|&(line, flag)| {
        Trial::ignorable_test(format!("refused_at_parse_time: {line}"), move || {
            refused(line, flag)
        })
    }));
    libtest_mimic::run(&args, trials).exit_code()
}

/// A codex whose `--version` prints on stderr and fails (written once, before any trial runs).
fn bad_codex() -> Result<PathBuf, String> {
    use std::os::unix::fs::PermissionsExt;
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("json-exit");
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let path = dir.join(format!("bad-codex-{}", std::process::id()));
    std::fs::write(&path, "#!/bin/sh\necho boom >&2\nexit 3\n")
        .and_then(|()| std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)))
        .map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(path)
}

fn one_document(line: &str, check: &str, code: &str, bad: PathBuf) -> Outcome {
    let mut args: Vec<String> = line
        .split_whitespace()
        .map(|a| match a {
            "BAD" => bad.to_string_lossy().into_owned(),
            other => other.to_owned(),
        })
        .collect();
    args.push("--json".into());
    let run = JsonRun::of(cas().args(&args))?;
    let doc = &run.doc;
    expect(run.code == 2, "exit 2", doc)?;
    expect(doc["schemaVersion"] == 1, "schemaVersion 1", doc)?;
    expect(doc["check"] == check, &format!("check {check}"), doc)?;
    expect(doc["ok"] == false, "ok false", doc)?;
    expect(
        doc["failureCode"] == code,
        &format!("failureCode {code}"),
        doc,
    )?;
    let error = doc["error"].as_str().unwrap_or_default();
    expect(!error.trim().is_empty(), "a non-empty error", doc)?;
    expect(!error.trim_end().ends_with(':'), "no dangling `:`", doc)?;
    expect(
        run.stderr
            .contains(error.lines().next().unwrap_or_default()),
        "stderr says it too",
        doc,
    )?;
    if line.contains("BAD") {
        expect(
            error.contains("boom"),
            "the error holds what codex printed",
            doc,
        )?;
    }
    done()
}

fn refused(line: &str, flag: &str) -> Outcome {
    cas()
        .args(line.split_whitespace())
        .assert()
        .code(2)
        .stdout("")
        .stderr(predicate::str::contains(format!(
            "invalid value '0' for '{flag}"
        )));
    done()
}
