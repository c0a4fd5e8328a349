//! What an interrupted command prints: its partial report, after its servers were stopped.
//!
//! A command runs under [`guarded`]; what it finishes on the way (a scenario's line, say) it
//! records in a [`Finished`] log, so an interrupt reports what was done before the signal
//! came, with `interrupted: true`, instead of only that it was stopped.

use serde_json::{json, Value};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use super::output::{pretty, print_stdout};
use crate::outcome::FailureCode;

/// The results a command finished so far, in finish order (shared with its work).
#[derive(Debug, Clone, Default)]
pub struct Finished(Arc<Mutex<Vec<Value>>>);

impl Finished {
    /// Records one finished result (a JSON value in the command's own report shape).
    pub fn push(&self, value: Value) {
        self.entries().push(value);
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, Vec<Value>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn take(&self) -> Vec<Value> {
        std::mem::take(&mut *self.entries())
    }
}

/// Runs a command's `work` under [`crate::interrupt::guard`]: on SIGINT or SIGTERM its servers
/// are stopped and what it owns removed, then a partial report says so (one JSON document with
/// `--json`: `{schemaVersion, check, ok: false, interrupted: true, signal, failureCode:
/// "interrupted", error, finished: [...]}`, `finished` holding what `finished` recorded), and
/// cas exits 130.
pub async fn guarded(
    check: &str,
    json: bool,
    finished: &Finished,
    work: impl std::future::Future<Output = ExitCode>,
) -> ExitCode {
    match crate::interrupt::guard(work).await {
        Ok(code) => code,
        Err(signal) => report(check, json, finished, signal),
    }
}

/// Prints the partial report of a command that `signal` interrupted (after its servers were
/// stopped) and answers exit 130; [`guarded`] and the stdio review lane use it.
pub fn report(
    check: &str,
    json: bool,
    finished: &Finished,
    signal: crate::interrupt::Interrupted,
) -> ExitCode {
    let done = finished.take();
    let error = format!(
        "interrupted by {}: its servers were stopped and its temporary folders removed",
        signal.name()
    );
    eprintln!("cas: {error}");
    if json {
        let doc = json!({"schemaVersion": 1, "check": check, "ok": false, "interrupted": true,
            "signal": signal.name(), "failureCode": FailureCode::Interrupted, "error": error,
            "finished": done});
        print_stdout(&pretty(&doc));
    } else {
        print_stdout(&human(check, &done));
    }
    ExitCode::from(crate::interrupt::EXIT_CODE)
}

/// The human partial report: how many results finished before the interrupt, one line each.
fn human(check: &str, done: &[Value]) -> String {
    let mut out = format!(
        "cas {check}: interrupted; {} finished before the interrupt",
        done.len()
    );
    for entry in done {
        let name = entry["scenario"].as_str().or(entry["name"].as_str());
        let target = entry["target"].as_str().unwrap_or("");
        let verdict = if entry["ok"] == true { "ok" } else { "not ok" };
        out.push_str(&format!("\n  {}::{target}: {verdict}", name.unwrap_or("?")));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_partial_report_lists_what_finished() {
        let finished = Finished::default();
        finished.push(json!({"scenario": "handshake", "target": "fake-ws", "ok": true}));
        finished.push(json!({"scenario": "flow/drain", "target": "fake-ws", "ok": false}));
        let text = human("conformance", &finished.take());
        assert!(text.contains("2 finished before the interrupt"), "{text}");
        assert!(text.contains("handshake::fake-ws: ok"), "{text}");
        assert!(text.contains("flow/drain::fake-ws: not ok"), "{text}");
        assert!(finished.take().is_empty());
    }
}
