//! Interrupts clean up: SIGINT to `cas instance_runner --instances 8 --hermetic` and to
//! `cas conformance` (real codex) stops every server, removes the run's temporary homes and
//! workspaces, prints one partial JSON report marked `interrupted: true`, and exits 130.
//!
//! Each run is scoped to its own folder (TMPDIR and XDG_STATE_HOME inside it), so "nothing
//! left" is checked exactly: no process mentions the folder (codex's CODEX_HOME and TMPDIR are
//! in it), every child pid seen before the signal is gone, and the folder holds no home and no
//! workspace.

mod support;

use libtest_mimic::{Arguments, Failed};
use serde_json::{json, Value};
use std::io::Read;
use std::path::Path;
use std::process::{Child, ExitCode, Stdio};
use std::time::{Duration, Instant};

use support::{codex_trial, done, expect, expect_fields, Outcome};

/// How long a run may take to get its servers up before the signal.
const START_WAIT: Duration = Duration::from_secs(120);

/// How long cas may take to clean up and exit after the signal.
const EXIT_WAIT: Duration = Duration::from_secs(20);

fn main() -> ExitCode {
    let args = Arguments::from_args();
    let trials = vec![
        codex_trial("sigint_to_instance_runner_leaves_nothing", instance_runner),
        codex_trial("sigint_to_conformance_leaves_nothing", conformance),
    ];
    libtest_mimic::run(&args, trials).exit_code()
}

fn instance_runner(_codex: &Path) -> Outcome {
    let run = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).map_err(|e| e.to_string())?;
    let args = [
        "instance_runner",
        "--instances",
        "8",
        "--hermetic",
        "--sample",
        "1000000",
        "--method",
        "thread/list",
        "--json",
    ];
    interrupted_run(run.path(), &args, "instance_runner", ("app-server", 8))
}

fn conformance(_codex: &Path) -> Outcome {
    let run = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).map_err(|e| e.to_string())?;
    let args = ["conformance", "--target", "codex-stdio", "--json"];
    // A scenario's own server (the only ones started with --strict-config).
    interrupted_run(run.path(), &args, "conformance", ("--strict-config", 1))
}

/// Starts `cas args` scoped to `dir`, waits until it runs `servers.1` codex servers whose
/// command line holds `servers.0`, sends SIGINT, and checks the partial report and that
/// nothing is left.
fn interrupted_run(dir: &Path, args: &[&str], check: &str, servers: (&str, usize)) -> Outcome {
    let tmp = dir.join("tmp");
    std::fs::create_dir_all(&tmp).map_err(|e| e.to_string())?;
    let mut child = support::cas_process()
        .args(args)
        .env("TMPDIR", &tmp)
        .env("XDG_STATE_HOME", dir.join("state"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| e.to_string())?;
    let seen = match wait_for_servers(&child, servers) {
        Ok(seen) => seen,
        Err(e) => {
            let _ = child.kill();
            let _ = child.wait();
            return Err(e);
        }
    };
    // SAFETY: kill(2) on our own unreaped child with a valid signal.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGINT);
    }
    let t0 = Instant::now();
    let (code, stdout, stderr) = wait_exit(&mut child)?;
    eprintln!("{check}: exited {code:?} {:?} after SIGINT", t0.elapsed());
    let doc: Value = serde_json::from_str(&stdout).map_err(|e| {
        format!("stdout is not one JSON document ({e}): {stdout}; stderr: {stderr}")
    })?;
    expect_fields(
        "a partial report marked interrupted, exit 130",
        code,
        &doc,
        json!({"exit": 130, "check": check, "ok": false, "interrupted": true,
               "signal": "SIGINT", "failureCode": "interrupted"}),
    )?;
    if !doc["finished"].is_array() {
        return Err(format!("the partial report lists no `finished` results: {doc}").into());
    }
    nothing_left(dir, &seen)?;
    done()
}

/// Waits until `child` has `servers.1` codex servers among its descendants whose command line
/// holds `servers.0` (schema generation is not a server); the pids of all its descendants.
fn wait_for_servers(child: &Child, servers: (&str, usize)) -> Result<Vec<u32>, Failed> {
    let (pattern, servers) = servers;
    let deadline = Instant::now() + START_WAIT;
    loop {
        let all = descendants(child.id());
        let codex: Vec<u32> = all
            .iter()
            .filter(|(_, cmd)| {
                cmd.contains("app-server") && cmd.contains(pattern) && !cmd.contains("schema")
            })
            .map(|(pid, _)| *pid)
            .collect();
        if codex.len() >= servers {
            return Ok(all.into_iter().map(|(pid, _)| pid).collect());
        }
        if Instant::now() >= deadline {
            return Err(format!("only {} of {servers} servers came up", codex.len()).into());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Every live descendant of `root`, as `(pid, command line)`.
fn descendants(root: u32) -> Vec<(u32, String)> {
    let mut parents = vec![root];
    let mut found = Vec::new();
    let all = support::live_processes();
    while let Some(parent) = parents.pop() {
        for (pid, ppid, cmd) in &all {
            if *ppid == parent {
                parents.push(*pid);
                found.push((*pid, cmd.clone()));
            }
        }
    }
    found
}

/// Waits (bounded) for `child` to exit; its exit code, stdout and stderr.
fn wait_exit(child: &mut Child) -> Result<(Option<i32>, String, String), Failed> {
    let deadline = Instant::now() + EXIT_WAIT;
    let status = loop {
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("cas did not exit within {EXIT_WAIT:?} of SIGINT").into());
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut stdout = String::new();
    let mut stderr = String::new();
    if let Some(out) = child.stdout.as_mut() {
        let _ = out.read_to_string(&mut stdout);
    }
    if let Some(err) = child.stderr.as_mut() {
        let _ = err.read_to_string(&mut stderr);
    }
    Ok((status.code(), stdout, stderr))
}

/// No server seen before the signal lives, no process mentions `dir`, and `dir` holds no
/// home, workspace or temporary folder: only cas's (empty) root folders and the probe homes
/// that every run shares.
fn nothing_left(dir: &Path, seen: &[u32]) -> Result<(), Failed> {
    let live = support::live_processes();
    let alive: Vec<u32> = seen
        .iter()
        .copied()
        .filter(|pid| live.iter().any(|(p, _, _)| p == pid))
        .collect();
    let procs = support::processes_mentioning(dir);
    let roots = [
        "tmp",
        "tmp/cas-conformance",
        "state",
        "state/cas",
        "state/cas/homes",
    ];
    let left: Vec<String> = support::entries_under(dir)
        .into_iter()
        .filter(|e| !roots.contains(&e.as_str()))
        // The probe homes every run shares (codex's version and protocol surface) stay.
        .filter(|e| {
            !e.starts_with("state/cas/homes/schema")
                && !e.starts_with("state/cas/homes/version-probe")
        })
        .collect();
    let report = json!({"alive": alive, "processes": format!("{procs:?}"), "left": left});
    expect(
        alive.is_empty() && procs.is_empty() && left.is_empty(),
        "nothing of the run is left",
        &report,
    )
}
