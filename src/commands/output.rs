//! Writing a command's result to stdout, quietly tolerating a closed pipe; refusals and usage
//! errors on stderr.

use serde_json::{json, Value};
use std::io::Write;
use std::process::ExitCode;

use crate::errors::{Chain, FailureCoded};
use crate::outcome::{CheckName, FailureCode};
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

/// Says why cas could not run: on stderr, and with `--json` also as one document on stdout
/// (`{schemaVersion, check, ok: false, failureCode, error}`); exit 2.
pub fn fail<E: FailureCoded>(check: &str, json: bool, error: &E) -> ExitCode {
    eprintln!("cas: {}", Chain(error));
    if json {
        print_stdout(&pretty(&failure_doc(check, error.failure_code(), error)));
    }
    ExitCode::from(2)
}

/// The document of a command cas could not run: what was run, the code, and the error with its
/// causes.
pub fn failure_doc(check: &str, code: FailureCode, error: &dyn std::error::Error) -> Value {
    json!({"schemaVersion": 1, "check": check, "ok": false, "failureCode": code,
        "error": error_text(&Chain(error).to_string())})
}

/// An error message as the `error` field holds it: trimmed, never ending in a dangling `:`.
fn error_text(text: &str) -> String {
    let mut text = text.trim_end();
    while let Some(rest) = text.strip_suffix(':') {
        text = rest.trim_end();
    }
    text.to_owned()
}

/// Reports an incompatible codex (JSON on stdout with `--json`, and a line on stderr); exit 2.
pub fn refuse(rt: &Runtime, check: CheckName, json_output: bool) -> ExitCode {
    let compatibility = &rt.compatibility;
    let message = match compatibility.failure_code {
        Some(code) => {
            let hint = compatibility.failure_hint.as_deref().unwrap_or_default();
            format!("{hint} (failureCode: {code})")
        }
        None => {
            let missing: Vec<String> = compatibility
                .missing
                .iter()
                .map(|m| format!("{} {}", m.kind, m.method))
                .collect();
            format!(
                "codex {} lacks what {check} relies on: {} (compatibilityVerdict: incompatible)",
                rt.codex.as_ref().map_or("?", |c| c.version.as_str()),
                missing.join(", ")
            )
        }
    };
    if json_output {
        let mut doc = json!({"schemaVersion": 1, "check": check, "ok": false, "codex": rt.codex});
        if let (Some(d), Ok(Value::Object(c))) =
            (doc.as_object_mut(), serde_json::to_value(compatibility))
        {
            d.extend(c);
        }
        mark_refusal(&mut doc, &message);
        print_stdout(&pretty(&doc));
    }
    eprintln!("cas: {message}");
    ExitCode::from(2)
}

/// Gives a refusal document the fields every exit-2 document has: `failureCode`
/// (`incompatible_codex` unless it names another) and `error` (unless it has one).
pub fn mark_refusal(doc: &mut Value, message: &str) {
    let Some(d) = doc.as_object_mut() else {
        return;
    };
    if d.get("failureCode").is_none_or(Value::is_null) {
        d.insert("failureCode".into(), json!(FailureCode::IncompatibleCodex));
    }
    if d.get("error").is_none_or(Value::is_null) {
        d.insert("error".into(), Value::String(error_text(message)));
    }
}
