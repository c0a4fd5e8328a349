//! `cas instance_runner --hermetic` on the installed codex as a user runs it: many instances at
//! once, and a `--state-dir` whose homes the next run reuses.
//!
//! Every case needs codex: ignored with a reason when it is missing, failing instead under
//! `CAS_REQUIRE_CODEX=1`.

mod support;

use libtest_mimic::Arguments;
use serde_json::json;
use std::path::Path;
use std::process::ExitCode;

use support::{cas_json, codex_trial, done, expect_fields, Outcome};

fn main() -> ExitCode {
    let args = Arguments::from_args();
    let trials = vec![
        codex_trial("instance_runner_hermetic_12_instances", twelve_instances),
        codex_trial("a_state_dir_is_reused_by_the_next_run", state_dir_reused),
    ];
    libtest_mimic::run(&args, trials).exit_code()
}

fn twelve_instances(_codex: &Path) -> Outcome {
    let (code, doc) = cas_json(&[
        "instance_runner",
        "--hermetic",
        "--instances",
        "12",
        "--method",
        "thread/list",
        "--json",
    ])?;
    let results = doc["results"].as_array().cloned().unwrap_or_default();
    let got = json!({
        "exit": code,
        "ok": results.iter().map(|r| r["ok"].clone()).collect::<Vec<_>>(),
        "instance": results.iter().map(|r| r["instance"].clone()).collect::<Vec<_>>(),
    });
    let want = json!({
        "exit": 0,
        "ok": vec![true; 12],
        "instance": (1..=12).collect::<Vec<u64>>(),
    });
    support::same(
        "12 ok results, every instance reported once",
        &got,
        &want,
        &doc,
    )?;
    done()
}

fn state_dir_reused(_codex: &Path) -> Outcome {
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).map_err(|e| e.to_string())?;
    let state = dir.path().to_str().ok_or("path")?;
    let args = [
        "instance_runner",
        "--hermetic",
        "--instances",
        "4",
        "--sample",
        "1",
        "--state-dir",
        state,
        "--json",
    ];
    for run in ["first", "second"] {
        let (code, doc) = cas_json(&args)?;
        expect_fields(
            &format!("{run} run"),
            Some(code),
            &doc,
            json!({"exit": 0, "instancesStarted": 4}),
        )?;
    }
    // Kept homes are real copies: they must not point into a template that is gone.
    let skills = dir.path().join("cas-instance-1/skills");
    let is_link = skills
        .symlink_metadata()
        .map(|m| m.file_type().is_symlink())
        .unwrap_or(true);
    support::same(
        &format!("{} is a real folder (symlink, folder)", skills.display()),
        &(is_link, skills.is_dir()),
        &(false, true),
        &serde_json::Value::Null,
    )?;
    done()
}
