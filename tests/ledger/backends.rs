//! The two claim backends side by side: in-process, and an external `st` that is a wrapper
//! script around `cas st`. The same ops must give the same lines, codes and `show` document.

use std::fs;
use std::path::{Path, PathBuf};

use cas::ledger::{ClaimBackend, Op};
use pretty_assertions::assert_eq;
use serde_json::Value;

use crate::support;

/// An executable `st` in `dir` that runs `cas st` as actor `tester`.
pub fn st_wrapper(dir: &Path) -> PathBuf {
    let wrapper = dir.join("st");
    fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\nST_ACTOR=tester exec '{}' st \"$@\"\n",
            support::cas_bin().display()
        ),
    )
    .expect("wrapper");
    let mut perms = fs::metadata(&wrapper).expect("meta").permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
    fs::set_permissions(&wrapper, perms).expect("chmod");
    wrapper
}

/// Attaches `spawn_agent` runtime metadata (thread `thread-<id>`) to `id`.
fn runtime(id: &str) -> Op {
    Op::SetRuntime {
        id: id.into(),
        substrate: "spawn_agent".into(),
        thread_id: Some(format!("thread-{id}")),
        agent_id: None,
        row_id: None,
        output_ref: None,
        last_event: None,
    }
}

/// Claims wave `w1` for executor `teams`, naming `ids` (which a wave claim refuses).
pub fn wave_claim(ids: &[&str]) -> Op {
    Op::Claim {
        ids: ids.iter().map(|s| s.to_string()).collect(),
        wave: Some("w1".into()),
        executor: "teams".into(),
        lease_seconds: None,
    }
}

/// The claim-safe wave: each op with the prefix of its line, or the code of its error.
pub fn claim_safe_wave_steps(fixture: &Path) -> Vec<(Op, Result<&'static str, &'static str>)> {
    vec![
        (
            Op::ImportOrchplan {
                input: fixture.to_path_buf(),
                replace: true,
                backlog_only: false,
            },
            Ok("replaced plan from orchplan"),
        ),
        (
            wave_claim(&["cfg", "ui"]),
            Err("OrchplanWaveClaimDoesNotAcceptIds"),
        ),
        (wave_claim(&[]), Ok("claimed 2 item(s) in wave w1")),
        (wave_claim(&[]), Err("ItemAlreadyClaimed")),
        (runtime("cfg"), Ok("attached runtime metadata to cfg")),
        (runtime("ui"), Ok("attached runtime metadata to ui")),
    ]
}

/// Applies `op` on `backend` and checks the line's prefix or the error's code against `want`.
pub fn apply_as_wanted(backend: &dyn ClaimBackend, op: &Op, want: &Result<&str, &str>) {
    match (backend.apply(op), want) {
        (Ok(line), Ok(prefix)) => assert!(
            line.starts_with(prefix),
            "{}: {op:?} -> {line}",
            backend.describe()
        ),
        (Err(e), Err(code)) => {
            assert_eq!(e.code(), *code, "{}: {op:?} -> {e}", backend.describe())
        }
        (got, _) => panic!(
            "{}: {op:?} -> {got:?}, expected {want:?}",
            backend.describe()
        ),
    }
}

/// Replaces every `YYYY-MM-DDTHH:MM:SSZ` string (claim and proof times differ between runs).
pub fn redact_times(v: &mut Value) {
    match v {
        Value::String(s) if s.len() == 20 && s.as_bytes()[10] == b'T' && s.ends_with('Z') => {
            *s = "<ts>".into()
        }
        Value::Array(a) => a.iter_mut().for_each(redact_times),
        Value::Object(m) => m.values_mut().for_each(redact_times),
        _ => {}
    }
}
