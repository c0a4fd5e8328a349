//! The suite as people use it: live lines and summary, failures with diffs, files that do not
//! load, selection by glob and exclusion, `--var`, `--fail-fast`, deterministic parallel runs,
//! `--junit` refusing a missing folder, and `cas list`.

use libtest_mimic::Failed;
use predicates::prelude::*;
use serde_json::{json, Value};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};

use super::{entries, scratch, suite};
use crate::support::{self, cas, done, expect_fields, Outcome};

/// A fake scenario whose one request must answer `name = ${WANT}` (the fake answers `alpha`).
fn asking(want: &str) -> String {
    format!(
        r#"description = "thread/list answers the name the var wants"
targets = ["fake-stdio"]
mode = "synthetic"

[vars]
WANT = "{want}"

[[fake.rules]]
method = "thread/list"
result = {{ name = "alpha", data = [] }}

[[steps]]
name = "initialize"
request = {{ method = "initialize", params = {{ clientInfo = {{ name = "t", version = "0" }} }} }}

[[steps]]
name = "ask"
request = {{ method = "thread/list", expect_result = {{ name = "${{WANT}}", data = [] }} }}
"#
    )
}

/// A scenarios folder with `a_wrong` (fails), `b_ok` (passes) and `c_broken` (not TOML).
fn mixed_folder(name: &str) -> Result<PathBuf, Failed> {
    let dir = scratch(name).join("scenarios");
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let write = |file: &str, text: &str| std::fs::write(dir.join(file), text);
    write("a_wrong.toml", &asking("beta")).map_err(|e| e.to_string())?;
    write("b_ok.toml", &asking("alpha")).map_err(|e| e.to_string())?;
    write("c_broken.toml", "this is = = not toml").map_err(|e| e.to_string())?;
    Ok(dir)
}

/// Text runs so far (each gets its own temp folder: trials run at once).
static RUNS: AtomicUsize = AtomicUsize::new(0);

/// Runs `cas conformance ARGS --color never` in the crate root; exit code and stdout.
fn text_run(args: &[&str]) -> Result<(i32, String), Failed> {
    let out = cas()
        .arg("conformance")
        .args(args)
        .args(["--color", "never"])
        .env(
            "TMPDIR",
            scratch(&format!("suite-live-text-{}", RUNS.fetch_add(1, SeqCst))),
        )
        .output()
        .map_err(|e| e.to_string())?;
    Ok((
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    ))
}

fn has(what: &str, text: &str, needle: &str) -> Result<(), Failed> {
    if text.contains(needle) {
        Ok(())
    } else {
        Err(format!("{what}: {needle:?} not in:\n{text}").into())
    }
}

fn lacks(what: &str, text: &str, needle: &str) -> Result<(), Failed> {
    if text.contains(needle) {
        Err(format!("{what}: {needle:?} should not be in:\n{text}").into())
    } else {
        Ok(())
    }
}

/// One line per scenario (PASS, XFAIL with its code), a summary; -q and -v; colour on demand.
pub fn live_lines() -> Outcome {
    let base = [
        "--scenario",
        "handshake",
        "--scenario",
        "hooks_blocking",
        "--target",
        "fake-stdio",
    ];
    let (code, text) = text_run(&base)?;
    support::same("exit", &code, &0, &json!(text))?;
    has("pass line", &text, "   PASS [")?;
    has("pass name::target", &text, "] handshake::fake-stdio\n")?;
    has("xfail with code", &text, "  XFAIL [")?;
    has(
        "xfail code",
        &text,
        "] hooks_blocking::fake-stdio (hook_blocked)",
    )?;
    has("summary", &text, "2 scenarios on fake-stdio")?;
    has("counts", &text, ": 1 passed, 1 xfailed, 0 failed")?;
    lacks("no description without -v", &text, "lifecycle gates")?;
    let (_, quiet) = text_run(&[&base[..], &["-q"]].concat())?;
    lacks("-q hides passing lines", &quiet, "handshake::fake-stdio")?;
    has("-q keeps the summary", &quiet, "1 passed, 1 xfailed")?;
    let (_, verbose) = text_run(&[&base[..], &["-v"]].concat())?;
    has(
        "-v shows what passed",
        &verbose,
        "The lifecycle gates of the handshake",
    )?;
    lacks("never colours", &text, "\u{1b}[")?;
    let out = cas()
        .args([
            "conformance",
            "--target",
            "fake-stdio",
            "--scenario",
            "handshake",
        ])
        .args(["--color", "always"])
        .output()
        .map_err(|e| e.to_string())?;
    has(
        "always colours",
        &String::from_utf8_lossy(&out.stdout),
        "\u{1b}[",
    )?;
    done()
}

/// A failure shows its step, a diff of expected and observed, the workspace and the transcript
/// slot; a file that does not load is that scenario's ERROR and the rest still run.
pub fn failures_and_broken_files() -> Outcome {
    let dir = mixed_folder("suite-live-mixed")?;
    let dir_arg = dir.to_str().unwrap_or_default();
    let (code, text) = text_run(&["--scenarios-dir", dir_arg, "--target", "fake-stdio"])?;
    support::same("exit 1: one failed", &code, &1, &json!(text))?;
    has("fail line", &text, "   FAIL [")?;
    has("fail name", &text, "] a_wrong::fake-stdio\n")?;
    has("failing step", &text, "failing step: ask")?;
    has("diff header", &text, "- expected + observed")?;
    has("expected side", &text, "-     \"name\": \"beta\"")?;
    has("observed side", &text, "+     \"name\": \"alpha\"")?;
    has("workspace", &text, "workspace: ")?;
    has("transcript slot", &text, "transcript: ")?;
    has("the rest ran", &text, "] b_ok::fake-stdio\n")?;
    has("error line", &text, "  ERROR [")?;
    has("broken named", &text, "] c_broken::fake-stdio")?;
    has("why", &text, "does not parse")?;
    has("counts", &text, "1 passed, 1 failed, 1 errored")?;
    let tmp = scratch("suite-live-mixed-tmp");
    let (_, report) = suite(
        &support::root(),
        &tmp,
        &[
            "--scenarios-dir",
            dir_arg,
            "--target",
            "fake-stdio",
            "--json",
        ],
    )?;
    let outcomes: Vec<(&str, &str)> = entries(&report)
        .filter_map(|s| Some((s["scenario"].as_str()?, s["outcome"].as_str()?)))
        .collect();
    support::same(
        "outcomes in order, the broken file last",
        &outcomes,
        &vec![("a_wrong", "fail"), ("b_ok", "pass"), ("c_broken", "error")],
        &report,
    )?;
    expect_fields(
        "the failed step's values are in the report",
        None,
        &report,
        json!({"scenarios/0/failedStep/step": "ask",
            "scenarios/0/failedStep/expected/result/name": "beta",
            "scenarios/0/failedStep/observed/result/name": "alpha",
            "scenarios/2/failureCode": "scenario_unloadable"}),
    )?;
    done()
}

fn names(report: &Value) -> Vec<String> {
    entries(report)
        .filter_map(|s| {
            Some(format!(
                "{}::{}",
                s["scenario"].as_str()?,
                s["target"].as_str()?
            ))
        })
        .collect()
}

/// Globs select, `--exclude` removes, twins stay out of globs, `--var` overrides (and an unknown
/// var is refused), `--fail-fast` starts nothing after a failure.
pub fn selection() -> Outcome {
    let tmp = scratch("suite-live-select-tmp");
    let root = support::root();
    let args = [
        "--scenario",
        "hooks*",
        "--exclude",
        "hooks-off",
        // `*` crosses `/`: the hooks/ area folder matches too, and is not what this checks.
        "--exclude",
        "hooks/*",
        "--target",
        "fake-stdio",
    ];
    let (code, report) = suite(&root, &tmp, &[&args[..], &["--json"]].concat())?;
    support::same(
        "a glob selects the non-twin matches; exclude drops one (exit, names)",
        &(code, names(&report)),
        &(
            0,
            vec![
                "hooks::fake-stdio".to_owned(),
                "hooks_blocking::fake-stdio".to_owned(),
                "hooks_failing::fake-stdio".to_owned(),
                "hooks_precedence::fake-stdio".to_owned(),
                "hooks_stopping::fake-stdio".to_owned(),
            ],
        ),
        &report,
    )?;
    let dir = mixed_folder("suite-live-var")?;
    let dir_arg = dir.to_str().unwrap_or_default();
    let base = [
        "--scenarios-dir",
        dir_arg,
        "--target",
        "fake-stdio",
        "--json",
    ];
    let (code, report) = suite(
        &root,
        &tmp,
        &[&base[..], &["--scenario", "b_ok", "--var", "WANT=beta"]].concat(),
    )?;
    expect_fields(
        "--var makes the passing scenario fail",
        Some(code),
        &report,
        json!({"exit": 1, "scenarios/0/outcome": "fail"}),
    )?;
    let (code, report) = suite(&root, &tmp, &[&base[..], &["--var", "NOPE=1"]].concat())?;
    expect_fields(
        "an unknown var is refused",
        Some(code),
        &report,
        json!({"exit": 2, "failureCode": "usage_error"}),
    )?;
    let fast = ["--exclude", "c_broken", "--jobs", "1", "--fail-fast"];
    let (code, report) = suite(&root, &tmp, &[&base[..], &fast[..]].concat())?;
    expect_fields(
        "--fail-fast stops after the first failure",
        Some(code),
        &report,
        json!({"exit": 1, "notRun": 1, "scenarios/0/scenario": "a_wrong"}),
    )?;
    support::same("one ran", &names(&report).len(), &1, &report)?;
    done()
}

/// The default fake suite gives the same report order and outcomes with 1 job and with 4.
pub fn parallel_is_deterministic() -> Outcome {
    let tmp = scratch("suite-live-jobs-tmp");
    let outcomes = |jobs: &str| -> Result<(Vec<String>, usize), Failed> {
        let args = ["--target", "fake-stdio", "--json", "--jobs", jobs];
        let (_, report) = suite(&support::root(), &tmp, &args)?;
        let list = entries(&report)
            .map(|s| format!("{}::{} {}", s["scenario"], s["target"], s["outcome"]))
            .collect();
        Ok((list, report["jobs"].as_u64().unwrap_or(0) as usize))
    };
    let (serial, one) = outcomes("1")?;
    let (parallel, four) = outcomes("4")?;
    support::same(
        "same verdicts in the same order (jobs 1, jobs 4)",
        &(&parallel, four),
        &(&serial, 4),
        &json!({"serial": serial, "jobs": one}),
    )?;
    done()
}

/// `--junit` into a folder that does not exist is refused before anything runs.
pub fn junit_missing_folder() -> Outcome {
    let tmp = scratch("suite-live-junit");
    let target = tmp.join("missing/report.xml");
    cas()
        .args([
            "conformance",
            "--target",
            "fake-stdio",
            "--scenario",
            "handshake",
            "--junit",
        ])
        .arg(&target)
        .assert()
        .code(2)
        .stdout("")
        .stderr(predicate::str::contains(
            "does not exist (cas does not create it",
        ));
    support::same(
        "no folder was made",
        &tmp.join("missing").exists(),
        &false,
        &json!(target),
    )?;
    done()
}

/// `cas list --json`: area, mode, twins, group, summary, methods and applicability.
pub fn list() -> Outcome {
    let dir = support::root().join("scenarios");
    let (code, doc) = support::cas_json(&[
        "list",
        "--json",
        "--scenarios-dir",
        dir.to_str().unwrap_or_default(),
        "--codex-bin",
        "/nonexistent/codex",
    ])?;
    let find = |name: &str| {
        entries(&doc)
            .find(|e| e["name"] == name)
            .cloned()
            .unwrap_or(Value::Null)
    };
    let handshake = find("handshake");
    let twins_listed = handshake["twins"]
        .as_array()
        .is_some_and(|t| t.contains(&json!("handshake_twin_never_answers")));
    support::same(
        "handshake is listed with its twins (exit, twins listed)",
        &(code, twins_listed),
        &(0, true),
        &doc,
    )?;
    expect_fields(
        "entries carry what people pick by",
        None,
        &json!({"h": handshake, "o": find("overload_retry_recovers"), "s": find("stale_claim_reclaim")}),
        json!({"h/area": ".", "h/mode": "protocol", "h/applicability": "unknown",
            "h/methods/0": "initialize",
            "o/partOf": "overload_backoff", "o/mode": "synthetic",
            "s/applicability": "no_codex_target"}),
    )?;
    let mixed = mixed_folder("suite-live-list")?;
    let (code, doc) = support::cas_json(&[
        "list",
        "--json",
        "--scenarios-dir",
        mixed.to_str().unwrap_or_default(),
    ])?;
    expect_fields(
        "a broken file is listed as broken",
        Some(code),
        &doc,
        json!({"exit": 0, "scenarios/2/name": "c_broken", "scenarios/2/applicability": "broken"}),
    )?;
    done()
}

/// `cas capabilities --scenarios-dir` naming no folder is refused (exit 2), before codex.
pub fn capabilities_missing_folder() -> Outcome {
    cas()
        .args(["capabilities", "--scenarios-dir", "/nonexistent/scenarios"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "--scenarios-dir /nonexistent/scenarios: no such folder",
        ));
    done()
}
