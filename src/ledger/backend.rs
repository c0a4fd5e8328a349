//! What scenarios drive: the in-process ledger, or an external `st` binary with the same ops.
//!
//! [`External`] turns each [`Op`] into `st`'s command line, runs it with a deadline (killed when
//! late), and maps a failure to a [`LedgerError`] whose code is the `st` identifier found in
//! stderr (else `StCommandFailed`) and whose detail is `exit=<code> stderr=<…>; stdout=<…>`, as
//! the peer suite reports it. So one scenario can check cas's ledger or a user's installed `st`.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use serde_json::Value;

use super::child::{run_with_deadline, ChildFailure};
use super::claim_ledger::ClaimLedger;
use super::error::{ErrorCode, LedgerError};
use super::fields::Lease;
use super::ops::Op;
use super::show::Surface;

/// A claim ledger a scenario can drive.
pub trait ClaimBackend: Send + Sync {
    /// Runs one operation; returns its human line.
    fn apply(&self, op: &Op) -> Result<String, LedgerError>;
    /// `show --surface all --format json`.
    fn show(&self) -> Result<Value, LedgerError>;
    /// "in-process" or "st binary `<path>`".
    fn describe(&self) -> String;
}

/// cas's own ledger.
#[derive(Debug, Clone)]
pub struct InProcess(pub ClaimLedger);

impl ClaimBackend for InProcess {
    fn apply(&self, op: &Op) -> Result<String, LedgerError> {
        self.0.apply(op)
    }

    fn show(&self) -> Result<Value, LedgerError> {
        self.0.show(Surface::All)
    }

    fn describe(&self) -> String {
        "in-process".to_owned()
    }
}

/// An `st` binary driven through its command line.
#[derive(Debug, Clone)]
pub struct External {
    /// The `st` executable.
    pub binary: PathBuf,
    /// The plan file (`--file`).
    pub file: PathBuf,
    /// The deadline of each call.
    pub timeout: Duration,
}

impl External {
    /// `binary` over `file`, 30 s per call.
    pub fn new(binary: impl Into<PathBuf>, file: impl Into<PathBuf>) -> External {
        External {
            binary: binary.into(),
            file: file.into(),
            timeout: Duration::from_secs(30),
        }
    }

    /// The arguments `st` takes for `op` (after the binary).
    pub fn args(&self, op: &Op) -> Vec<String> {
        let (name, flags) = st_flags(op);
        let mut a = vec![
            name.to_owned(),
            "--file".to_owned(),
            self.file.display().to_string(),
        ];
        for (flag, arg) in flags {
            match arg {
                Arg::Value(Some(v)) => a.extend([format!("--{flag}"), v]),
                Arg::Switch(true) => a.push(format!("--{flag}")),
                Arg::Value(None) | Arg::Switch(false) => {}
            }
        }
        a
    }

    /// Runs `st` with `args`; stdout on success, the mapped error otherwise.
    fn run(&self, args: &[String]) -> Result<String, LedgerError> {
        let mut cmd = Command::new(&self.binary);
        cmd.args(args);
        let done = match run_with_deadline(cmd, self.timeout) {
            Ok(done) => done,
            Err(ChildFailure::Spawn(e)) => {
                return Err(LedgerError::new(
                    ErrorCode::StCommandFailed,
                    format!("could not start {}: {e}", self.binary.display()),
                ))
            }
            Err(ChildFailure::Timeout) => {
                return Err(LedgerError::new(
                    ErrorCode::StCommandTimeout,
                    format!(
                        "{} {} still running after {:?}; killed",
                        self.binary.display(),
                        args.join(" "),
                        self.timeout
                    ),
                ))
            }
        };
        if done.status.success() {
            return Ok(done.stdout);
        }
        let code = done
            .status
            .code()
            .map_or_else(|| "signal".to_owned(), |c| c.to_string());
        let (stderr, stdout) = (done.stderr.trim(), done.stdout.trim());
        let mut detail = format!("exit={code}");
        if !stderr.is_empty() {
            detail.push_str(&format!(" stderr={stderr}"));
        }
        if !stdout.is_empty() {
            detail.push_str(&format!("; stdout={stdout}"));
        }
        Err(LedgerError::foreign(identifier_in(stderr), detail))
    }
}

/// One flag of an `st` command line.
enum Arg {
    /// `--flag value`, left out when `None`.
    Value(Option<String>),
    /// `--flag`, left out when false.
    Switch(bool),
}

/// `--flag value` with a value that is always given.
fn value(s: &str) -> Arg {
    Arg::Value(Some(s.to_owned()))
}

/// `--flag value` with a value that may be left out.
fn optional(s: &Option<String>) -> Arg {
    Arg::Value(s.clone())
}

/// The `st` command for `op` and its flags, in `st`'s documented order.
fn st_flags(op: &Op) -> (&'static str, Vec<(&'static str, Arg)>) {
    match op {
        Op::ImportOrchplan {
            input,
            replace,
            backlog_only,
        } => (
            "import-orchplan",
            vec![
                ("input", Arg::Value(Some(input.display().to_string()))),
                ("replace", Arg::Switch(*replace)),
                ("backlog-only", Arg::Switch(*backlog_only)),
            ],
        ),
        Op::Claim {
            ids,
            wave,
            executor,
            lease_seconds,
        } => (
            "claim",
            claim_flags(ids, wave, executor, lease_seconds.as_ref()),
        ),
        Op::Heartbeat { id } => ("heartbeat", vec![("id", value(id))]),
        Op::SetRuntime { .. } => ("set-runtime", set_runtime_flags(op)),
        Op::SetProof {
            id,
            state,
            command,
            evidence_ref,
        } => (
            "set-proof",
            vec![
                ("id", value(id)),
                ("proof-state", value(state)),
                ("command", value(command)),
                ("evidence-ref", optional(evidence_ref)),
            ],
        ),
        Op::Release { id, reason } => (
            "release",
            vec![("id", value(id)), ("reason", optional(reason))],
        ),
        Op::ReclaimStale { now } => ("reclaim-stale", vec![("now", optional(now))]),
    }
}

/// The flags of `st claim`: ids joined by commas, left out when there are none.
fn claim_flags(
    ids: &[String],
    wave: &Option<String>,
    executor: &str,
    lease_seconds: Option<&Lease>,
) -> Vec<(&'static str, Arg)> {
    vec![
        (
            "ids",
            Arg::Value(Some(ids.join(",")).filter(|s| !s.is_empty())),
        ),
        ("executor", value(executor)),
        ("wave", optional(wave)),
        (
            "lease-seconds",
            Arg::Value(lease_seconds.map(Lease::to_string)),
        ),
    ]
}

/// The flags of `st set-runtime`; any other op has none.
fn set_runtime_flags(op: &Op) -> Vec<(&'static str, Arg)> {
    let Op::SetRuntime {
        id,
        substrate,
        thread_id,
        agent_id,
        row_id,
        output_ref,
        last_event,
    } = op
    else {
        return Vec::new();
    };
    vec![
        ("id", value(id)),
        ("substrate", value(substrate)),
        ("thread-id", optional(thread_id)),
        ("agent-id", optional(agent_id)),
        ("row-id", optional(row_id)),
        ("output-ref", optional(output_ref)),
        ("last-event", optional(last_event)),
    ]
}

/// The `st` error identifier in a failure's stderr: a known one anywhere, else the word after
/// `error: `, else `StCommandFailed`.
pub fn identifier_in(stderr: &str) -> String {
    let words: Vec<&str> = stderr
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    if let Some(known) = words
        .iter()
        .find_map(|w| ErrorCode::ALL.iter().find(|c| c.as_str() == *w))
    {
        return known.as_str().to_owned();
    }
    let after = stderr
        .split("error: ")
        .nth(1)
        .and_then(|rest| rest.split(|c: char| !c.is_ascii_alphanumeric()).next());
    match after {
        Some(w) if w.chars().next().is_some_and(|c| c.is_ascii_uppercase()) => w.to_owned(),
        _ => ErrorCode::StCommandFailed.as_str().to_owned(),
    }
}

impl ClaimBackend for External {
    fn apply(&self, op: &Op) -> Result<String, LedgerError> {
        let out = self.run(&self.args(op))?;
        Ok(out.lines().next().unwrap_or("").trim().to_owned())
    }

    fn show(&self) -> Result<Value, LedgerError> {
        let file = self.file.display().to_string();
        let args: Vec<String> = [
            "show",
            "--file",
            &file,
            "--surface",
            "all",
            "--format",
            "json",
        ]
        .map(String::from)
        .into();
        let out = self.run(&args)?;
        let parsed = serde_json::from_str::<Value>(out.trim()).ok().or_else(|| {
            out.lines().find_map(|l| {
                serde_json::from_str::<Value>(l.trim())
                    .ok()
                    .filter(Value::is_object)
            })
        });
        match parsed {
            Some(v) if v.get("items").is_some_and(Value::is_array) => Ok(v),
            _ => Err(LedgerError::new(
                ErrorCode::InvalidShowOutput,
                format!("not {{\"items\":[…]}}: {}", out.trim()),
            )),
        }
    }

    fn describe(&self) -> String {
        format!("st binary {}", self.binary.display())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stderr_identifiers() {
        let cases = [
            (
                "error: ItemAlreadyClaimed\n/src/st.zig:12: trace",
                "ItemAlreadyClaimed",
            ),
            (
                "error: ScopeClaimConflict: cfg overlaps ui",
                "ScopeClaimConflict",
            ),
            ("error: SomethingNew", "SomethingNew"),
            ("thread panicked", "StCommandFailed"),
            ("", "StCommandFailed"),
        ];
        for (stderr, want) in cases {
            assert_eq!(identifier_in(stderr), want, "{stderr:?}");
        }
    }

    #[test]
    fn ops_become_st_command_lines() {
        let st = External::new("st", "p.jsonl");
        let claim = Op::Claim {
            ids: vec![],
            wave: Some("w1".into()),
            executor: "teams".into(),
            lease_seconds: Some(60.into()),
        };
        assert_eq!(
            st.args(&claim).join(" "),
            "claim --file p.jsonl --executor teams --wave w1 --lease-seconds 60"
        );
        let claim = Op::Claim {
            ids: vec!["a".into(), "b".into()],
            wave: None,
            executor: "local".into(),
            lease_seconds: None,
        };
        assert_eq!(
            st.args(&claim).join(" "),
            "claim --file p.jsonl --ids a,b --executor local"
        );
        let import = Op::ImportOrchplan {
            input: "plan.yaml".into(),
            replace: true,
            backlog_only: false,
        };
        assert_eq!(
            st.args(&import).join(" "),
            "import-orchplan --file p.jsonl --input plan.yaml --replace"
        );
        let rt = Op::SetRuntime {
            id: "cfg".into(),
            substrate: "spawn_agent".into(),
            thread_id: Some("t".into()),
            agent_id: None,
            row_id: None,
            output_ref: None,
            last_event: None,
        };
        assert_eq!(
            st.args(&rt).join(" "),
            "set-runtime --file p.jsonl --id cfg --substrate spawn_agent --thread-id t"
        );
        let reclaim = Op::ReclaimStale {
            now: Some("2099-01-01T00:00:00Z".into()),
        };
        assert_eq!(
            st.args(&reclaim).join(" "),
            "reclaim-stale --file p.jsonl --now 2099-01-01T00:00:00Z"
        );
    }

    #[test]
    fn failures_carry_exit_stderr_and_stdout() {
        let st = External::new("sh", "unused");
        let err = st
            .run(&[
                "-c".into(),
                "echo partial; echo 'error: NoHeldClaim' >&2; exit 1".into(),
            ])
            .unwrap_err();
        assert_eq!(err.code(), "NoHeldClaim");
        assert_eq!(
            err.detail(),
            "exit=1 stderr=error: NoHeldClaim; stdout=partial"
        );
        let slow = External {
            timeout: Duration::from_millis(100),
            ..External::new("sleep", "unused")
        };
        assert_eq!(
            slow.run(&["20".into()]).unwrap_err().code(),
            "StCommandTimeout"
        );
    }
}
