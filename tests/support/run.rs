//! The one way tests run the `cas` binary: an `assert_cmd` command in the crate root with its
//! own state, cache and codex home folders under `CARGO_TARGET_TMPDIR`, and a deadline.
//!
//! Test runs never touch the user's own folders: `XDG_STATE_HOME`, `XDG_CACHE_HOME` and
//! `CODEX_HOME` always point into the build's scratch folder (a run may override one).

use std::path::PathBuf;
use std::time::Duration;

use assert_cmd::Command;
use libtest_mimic::Failed;
use serde_json::Value;

/// How long one run of `cas` may take before it is killed.
const RUN_DEADLINE: Duration = Duration::from_secs(180);

/// The built `cas` binary.
pub fn cas_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_cas"))
}

/// The environment every run of `cas` gets: isolated state, cache and codex home folders.
pub fn isolated_env() -> [(&'static str, PathBuf); 3] {
    let base = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    [
        ("XDG_STATE_HOME", base.join("xdg-state")),
        ("XDG_CACHE_HOME", base.join("xdg-cache")),
        ("CODEX_HOME", base.join("no-codex-home")),
    ]
}

/// `cas` as a plain process in the crate root with [`isolated_env`], for a server a test
/// spawns and keeps running (everything that runs to completion uses [`cas`]).
pub fn cas_process() -> std::process::Command {
    let mut cmd = std::process::Command::new(cas_bin());
    cmd.current_dir(super::root()).envs(isolated_env());
    cmd
}

/// `cas` to run to completion: [`cas_process`], empty stdin, killed after a deadline.
pub fn cas() -> Command {
    let mut cmd = Command::from_std(cas_process());
    cmd.write_stdin("").timeout(RUN_DEADLINE);
    cmd
}

/// What a run of `cas --json` gave: its exit code, stdout as one JSON document, and stderr.
pub struct JsonRun {
    /// The exit code (-1 when killed by a signal).
    pub code: i32,
    /// Stdout, parsed.
    pub doc: Value,
    /// Stderr, lossily decoded.
    pub stderr: String,
}

impl JsonRun {
    /// Runs `cmd`; fails when it cannot start or its stdout is not one JSON document.
    pub fn of(cmd: &mut Command) -> Result<JsonRun, Failed> {
        let args: Vec<_> = cmd
            .get_args()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        let out = cmd
            .output()
            .map_err(|e| format!("cannot run cas {args:?}: {e}"))?;
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        let doc = serde_json::from_slice(&out.stdout).map_err(|e| {
            format!(
                "cas {args:?}: stdout is not one JSON document ({e}); {}; stderr: {stderr}",
                out.status
            )
        })?;
        Ok(JsonRun {
            code: out.status.code().unwrap_or(-1),
            doc,
            stderr,
        })
    }

    /// The exit code and the document.
    pub fn pair(self) -> (i32, Value) {
        (self.code, self.doc)
    }
}

/// Runs `cas` with `args`; returns its exit code and stdout parsed as one JSON document.
pub fn cas_json(args: &[&str]) -> Result<(i32, Value), Failed> {
    JsonRun::of(cas().args(args)).map(JsonRun::pair)
}

/// Runs `cas` with `args`, checks the exit code, and returns stdout as one JSON document.
pub fn run_json(args: &[&str], code: i32) -> Result<Value, Failed> {
    let (got, json) = cas_json(args)?;
    if got == code {
        Ok(json)
    } else {
        Err(format!("{args:?}: exit {got}, want {code}: {json}").into())
    }
}
