//! Writing a command's result to stdout, quietly tolerating a closed pipe; refusals and usage
//! errors on stderr.

use serde_json::json;
use std::io::Write;
use std::process::ExitCode;

use crate::errors::Chain;
use crate::outcome::CheckName;
use crate::runtime::Runtime;

/// Writes `text` and a newline to stdout; a closed pipe (e.g. `| head`) is not an error.
pub fn print_stdout(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{text}").and_then(|()| out.flush());
}

/// Pretty JSON of a value.
pub fn pretty(value: &serde_json::Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string())
}

/// Prints a result (pretty JSON with `--json`, else its human text); exit 0 when `ok`, else 1.
pub fn print_result<T: serde::Serialize>(
    result: &T,
    json: bool,
    human: impl FnOnce(&T) -> String,
    ok: bool,
) -> ExitCode {
    if json {
        let doc = serde_json::to_value(result).unwrap_or(serde_json::Value::Null);
        print_stdout(&pretty(&doc));
    } else {
        print_stdout(&human(result));
    }
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// Says on stderr why cas could not run (the error and its causes); exit 2.
pub fn usage(error: &dyn std::error::Error) -> ExitCode {
    eprintln!("cas: {}", Chain(error));
    ExitCode::from(2)
}

/// Reports an incompatible codex (JSON on stdout with `--json`, else a line on stderr); exit 2.
pub fn refuse(rt: &Runtime, check: CheckName, json_output: bool) -> ExitCode {
    let compatibility = &rt.compatibility;
    if json_output {
        let mut doc = json!({"schemaVersion": 1, "check": check, "ok": false, "codex": rt.codex});
        if let (Some(d), Ok(serde_json::Value::Object(c))) =
            (doc.as_object_mut(), serde_json::to_value(compatibility))
        {
            d.extend(c);
        }
        print_stdout(&pretty(&doc));
    }
    match compatibility.failure_code {
        Some(code) => {
            let hint = compatibility.failure_hint.as_deref().unwrap_or_default();
            eprintln!("cas: {hint} (failureCode: {code})");
        }
        None => {
            let missing: Vec<String> = compatibility
                .missing
                .iter()
                .map(|m| format!("{} {}", m.kind, m.method))
                .collect();
            eprintln!(
                "cas: codex {} lacks what {check} relies on: {} (compatibilityVerdict: incompatible)",
                rt.codex.as_ref().map_or("?", |c| c.version.as_str()),
                missing.join(", ")
            );
        }
    }
    ExitCode::from(2)
}
