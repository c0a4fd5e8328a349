//! Running `cas st` on a plan file in a scratch folder under `CARGO_TARGET_TMPDIR`: to
//! completion, or as a process to spawn (and maybe kill) while others run.

use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{SystemTime, UNIX_EPOCH};

use cas::ledger::{parse_stream, Ledger};
use serde_json::{json, Value};

use crate::support;

/// A fresh scratch folder for one test, named after it.
pub fn scratch(name: &str) -> PathBuf {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("ledger-{name}-{}-{nanos}", std::process::id()));
    fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

/// `st OP --file PLAN ARGS…`: the op first, then the plan, then the op's flags.
fn st_args(plan: &Path, args: &[&str]) -> Vec<OsString> {
    let mut all: Vec<OsString> = vec!["st".into(), args[0].into(), "--file".into(), plan.into()];
    all.extend(args[1..].iter().map(OsString::from));
    all
}

/// `cas st` as a process to spawn (and maybe kill) while others run.
pub fn st(plan: &Path, args: &[&str]) -> Command {
    let mut cmd = support::cas_process();
    cmd.args(st_args(plan, args))
        .env("ST_ACTOR", "tester")
        .stdin(Stdio::null());
    cmd
}

/// `cas st` run to completion.
pub fn run(plan: &Path, args: &[&str]) -> Output {
    support::cas()
        .args(st_args(plan, args))
        .env("ST_ACTOR", "tester")
        .output()
        .expect("run cas st")
}

/// `cas st` run to completion, which must succeed; returns its trimmed stdout.
pub fn ok(plan: &Path, args: &[&str]) -> String {
    let out = run(plan, args);
    assert!(
        out.status.success(),
        "cas st {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// An OrchPlan (JSON) with one task per `(id, scope)`, and a fixed-length title.
fn write_plan(dir: &Path, tasks: &[(String, String)]) -> PathBuf {
    let tasks: Vec<Value> = tasks
        .iter()
        .map(|(id, scope)| json!({"id": id, "title": format!("{id} {}", "x".repeat(200)), "scope": [scope], "validation": ["cargo test"]}))
        .collect();
    let path = dir.join("orchplan.json");
    fs::write(&path, json!({ "tasks": tasks }).to_string()).expect("write orchplan");
    path
}

/// Writes an OrchPlan of `tasks` in `dir` and imports it into `plan`, replacing what was there.
pub fn import(dir: &Path, plan: &Path, tasks: &[(String, String)]) {
    let input = write_plan(dir, tasks);
    ok(
        plan,
        &[
            "import-orchplan",
            "--input",
            input.to_str().unwrap(),
            "--replace",
        ],
    );
}

/// The plan file, parsed.
pub fn load(plan: &Path) -> Ledger {
    parse_stream(&fs::read_to_string(plan).expect("read plan")).expect("valid stream")
}
