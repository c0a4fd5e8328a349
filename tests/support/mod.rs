//! Shared test support: the run environment and a census of this process's children.

#![allow(dead_code)]

use std::path::PathBuf;

use cas::launch::CodexLocator;
use cas::target::TargetEnv;

/// The crate root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The target environment tests run with: the built cas binary, codex from the environment or
/// the project install, hermetic homes under `CARGO_TARGET_TMPDIR` (not the system temp dir).
pub fn target_env() -> TargetEnv {
    TargetEnv {
        cas_bin: PathBuf::from(env!("CARGO_BIN_EXE_cas")),
        codex: CodexLocator::from_env(None),
        scratch_root: PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("cas-homes"),
        workspace_root: PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("cas-workspaces"),
        keep_temp: false,
        st_binary: None,
    }
}

/// Live (non-zombie) child processes of this process, as `(pid, command line)`.
pub fn live_children() -> Vec<(u32, String)> {
    let me = std::process::id();
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return found;
    };
    for entry in entries.flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // pid (comm) state ppid …; comm may contain spaces, so split after the last ')'.
        let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else {
            continue;
        };
        let mut fields = rest.split_whitespace();
        let state = fields.next().unwrap_or("");
        let ppid: u32 = fields.next().and_then(|p| p.parse().ok()).unwrap_or(0);
        if ppid == me && state != "Z" {
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            found.push((pid, cmdline.trim().to_owned()));
        }
    }
    found
}

/// Where the cas binary keeps state and caches in tests (`XDG_STATE_HOME`, `XDG_CACHE_HOME`),
/// so test runs never touch the user's own folders.
pub fn xdg_dirs() -> [(&'static str, PathBuf); 2] {
    let base = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    [
        ("XDG_STATE_HOME", base.join("xdg-state")),
        ("XDG_CACHE_HOME", base.join("xdg-cache")),
    ]
}

/// Runs the cas binary with `args`; returns its exit code and stdout parsed as one JSON document.
pub fn cas_json(args: &[&str]) -> Result<(i32, serde_json::Value), String> {
    cas_json_in(&root(), &[], args)
}

/// [`cas_json`] in `cwd` with extra environment variables.
pub fn cas_json_in(
    cwd: &std::path::Path,
    envs: &[(&str, &std::path::Path)],
    args: &[&str],
) -> Result<(i32, serde_json::Value), String> {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_cas"))
        .args(args)
        .envs(xdg_dirs())
        .envs(envs.iter().copied())
        .current_dir(cwd)
        .output()
        .map_err(|e| e.to_string())?;
    let json = serde_json::from_slice(&out.stdout).map_err(|e| {
        format!(
            "stdout is not one JSON document ({e}); stderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    })?;
    Ok((out.status.code().unwrap_or(-1), json))
}

/// For a trial that needs codex: `Ok(None)` to go on, `Ok(Some(ignored))` when there is no codex,
/// `Err` when there is none but `CAS_REQUIRE_CODEX=1` demands it.
pub fn codex_gate() -> Result<Option<libtest_mimic::Completion>, libtest_mimic::Failed> {
    match target_env().codex.resolve() {
        Ok(_) => Ok(None),
        Err(e) if std::env::var("CAS_REQUIRE_CODEX").is_ok_and(|v| v == "1") => {
            Err(format!("CAS_REQUIRE_CODEX=1 but {e}").into())
        }
        Err(e) => Ok(Some(libtest_mimic::Completion::ignored_with(format!(
            "no codex: {}",
            e.to_string().lines().next().unwrap_or("")
        )))),
    }
}

/// A trial outcome.
pub type Outcome = Result<libtest_mimic::Completion, libtest_mimic::Failed>;

/// A trial that ran to completion.
pub fn done() -> Outcome {
    Ok(libtest_mimic::Completion::Completed)
}

/// Fails with `what` and the document, pretty-printed, unless `cond` holds.
pub fn expect(
    cond: bool,
    what: &str,
    doc: &serde_json::Value,
) -> Result<(), libtest_mimic::Failed> {
    if cond {
        Ok(())
    } else {
        Err(format!(
            "{what}\n{}",
            serde_json::to_string_pretty(doc).unwrap_or_default()
        )
        .into())
    }
}

/// Runs cas with `args`, checks the exit code, and returns stdout as one JSON document.
pub fn run_json(args: &[&str], code: i32) -> Result<serde_json::Value, libtest_mimic::Failed> {
    let (got, json) = cas_json(args)?;
    if got == code {
        Ok(json)
    } else {
        Err(format!("{args:?}: exit {got}, want {code}: {json}").into())
    }
}
