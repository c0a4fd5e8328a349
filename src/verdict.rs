//! The verdict of one scenario on one target, and the redaction that makes it reproducible.
//!
//! Field order is fixed. A protocol violation is a [`Failure`] in the verdict, never a Rust
//! error; `status = "error"` means cas itself could not run the scenario. Redaction happens
//! here, before anything is printed or snapshotted, so CLI output and snapshots agree: UUIDs
//! become `<id:N>` in order of first appearance, temp paths `<tmp>`, loopback ports `<port>`.

use serde::Serialize;
use serde_json::Value;
use std::collections::HashMap;

use crate::outcome::FailureCode;

/// The overall outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Every check held.
    Pass,
    /// At least one check failed.
    Fail,
    /// cas could not run the scenario.
    Error,
    /// The scenario was not run (the reason is in the failures).
    Skipped,
    /// The codex lacks what the scenario relies on, so it was not run (the report names what).
    NotApplicable,
}

impl Status {
    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Fail => "fail",
            Status::Error => "error",
            Status::Skipped => "skipped",
            Status::NotApplicable => "not_applicable",
        }
    }
}

/// What happened to one step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StepStatus {
    /// Its checks held.
    Pass,
    /// A check failed.
    Fail,
    /// It did not run (an earlier step lost the connection, or the deadline passed).
    NotRun,
}

/// One step in the verdict.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StepRecord {
    /// The step's name.
    pub name: String,
    /// The step kind, e.g. `request`.
    pub kind: String,
    /// The method involved, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// What happened.
    pub status: StepStatus,
    /// The part of the answer the step checked (see `matcher::project`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub observed: Option<Value>,
}

/// One failed check.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Failure {
    /// The step it happened in (`None` for whole-run checks).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub step: Option<String>,
    /// A stable snake_case code, e.g. `unexpected_result`.
    pub code: FailureCode,
    /// What was expected and what came, in one line.
    pub message: String,
}

/// The result of running one scenario on one target.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Verdict {
    /// The version of this JSON shape (1).
    pub schema_version: u32,
    /// The scenario name.
    pub scenario: String,
    /// The target name.
    pub target: String,
    /// The overall outcome.
    pub status: Status,
    /// The first failure's code, when not passing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure_code: Option<FailureCode>,
    /// Every step, in order.
    pub steps: Vec<StepRecord>,
    /// Every failure, in order (all of them, not just the first).
    pub failures: Vec<Failure>,
    /// Server stderr tail and other context for a person; never serialized or snapshotted.
    #[serde(skip)]
    pub diagnostics: Option<String>,
    /// What the steps measured (counts, timings) for reports; never snapshotted.
    #[serde(skip)]
    pub notes: Vec<String>,
    /// The run's workspace, when it was kept (a failing run, or `--keep-temp`).
    #[serde(skip)]
    pub workspace: Option<std::path::PathBuf>,
    /// The run's transcript, when it was kept (in a kept workspace, or `--transcript-dir`).
    #[serde(skip)]
    pub transcript: Option<std::path::PathBuf>,
}

impl Verdict {
    /// Builds a verdict, deriving status and failure code from the failures.
    pub fn new(
        scenario: &str,
        target: &str,
        steps: Vec<StepRecord>,
        failures: Vec<Failure>,
    ) -> Verdict {
        let status = if failures.is_empty() {
            Status::Pass
        } else {
            Status::Fail
        };
        Verdict {
            schema_version: 1,
            scenario: scenario.to_owned(),
            target: target.to_owned(),
            status,
            failure_code: failures.first().map(|f| f.code),
            steps,
            failures,
            diagnostics: None,
            notes: Vec::new(),
            workspace: None,
            transcript: None,
        }
    }

    /// A verdict for a run cas could not carry out.
    pub fn error(scenario: &str, target: &str, code: FailureCode, message: String) -> Verdict {
        let mut v = Verdict::new(
            scenario,
            target,
            Vec::new(),
            vec![Failure {
                step: None,
                code,
                message,
            }],
        );
        v.status = Status::Error;
        v
    }

    /// The verdict as JSON.
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    /// Applies `redactor` to every observed value and failure message.
    pub fn redact(&mut self, redactor: &mut Redactor) {
        for step in &mut self.steps {
            if let Some(observed) = &mut step.observed {
                redactor.value(observed);
            }
        }
        for failure in &mut self.failures {
            failure.message = redactor.text(&failure.message);
        }
    }
}

/// Replaces run-specific text (ids, temp paths, ports) by stable placeholders.
#[derive(Debug, Default)]
pub struct Redactor {
    paths: Vec<String>,
    ids: HashMap<String, usize>,
}

impl Redactor {
    /// A redactor that also hides the given run-specific paths (longest first) as `<tmp>`.
    pub fn new(mut paths: Vec<String>) -> Redactor {
        paths.retain(|p| !p.is_empty());
        paths.sort_by_key(|p| std::cmp::Reverse(p.len()));
        Redactor {
            paths,
            ids: HashMap::new(),
        }
    }

    /// Redacts every string inside `value`, in document order.
    pub fn value(&mut self, value: &mut Value) {
        match value {
            Value::String(s) => *s = self.text(s),
            Value::Array(items) => items.iter_mut().for_each(|v| self.value(v)),
            Value::Object(map) => map.values_mut().for_each(|v| self.value(v)),
            _ => {}
        }
    }

    /// Redacts one string.
    pub fn text(&mut self, text: &str) -> String {
        let mut out = text.to_owned();
        for path in &self.paths {
            out = out.replace(path.as_str(), "<tmp>");
        }
        let out = self.uuids(&out);
        utc_seconds(&loopback_ports(&out))
    }

    fn uuids(&mut self, text: &str) -> String {
        let bytes = text.as_bytes();
        let mut out = String::with_capacity(text.len());
        let mut i = 0;
        while i < bytes.len() {
            let boundary = i == 0 || !bytes[i - 1].is_ascii_alphanumeric();
            if boundary && is_uuid_at(bytes, i) {
                let id = &text[i..i + 36];
                let next = self.ids.len() + 1;
                let n = *self.ids.entry(id.to_ascii_lowercase()).or_insert(next);
                out.push_str(&format!("<id:{n}>"));
                i += 36;
            } else {
                let ch = text[i..].chars().next().unwrap_or(' ');
                out.push(ch);
                i += ch.len_utf8();
            }
        }
        out
    }
}

fn is_uuid_at(bytes: &[u8], at: usize) -> bool {
    const GROUPS: [usize; 5] = [8, 4, 4, 4, 12];
    let mut i = at;
    for (g, len) in GROUPS.iter().enumerate() {
        for _ in 0..*len {
            if i >= bytes.len() || !bytes[i].is_ascii_hexdigit() {
                return false;
            }
            i += 1;
        }
        if g < 4 {
            if bytes.get(i) != Some(&b'-') {
                return false;
            }
            i += 1;
        }
    }
    bytes.get(i).is_none_or(|b| !b.is_ascii_alphanumeric())
}

/// Replaces UTC timestamps `YYYY-MM-DDTHH:MM:SSZ` (leases, claims) by `<time>`.
fn utc_seconds(text: &str) -> String {
    const SHAPE: &[u8; 20] = b"dddd-dd-ddTdd:dd:ddZ";
    let fits = |window: &[u8]| {
        window.iter().zip(SHAPE).all(|(b, s)| {
            if *s == b'd' {
                b.is_ascii_digit()
            } else {
                b == s
            }
        })
    };
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < bytes.len() {
        if i + SHAPE.len() <= bytes.len() && fits(&bytes[i..i + SHAPE.len()]) {
            out.push_str("<time>");
            i += SHAPE.len();
        } else {
            let ch = text[i..].chars().next().unwrap_or(' ');
            out.push(ch);
            i += ch.len_utf8();
        }
    }
    out
}

/// Replaces the port in `127.0.0.1:PORT` and `localhost:PORT` by `<port>`.
fn loopback_ports(text: &str) -> String {
    let mut out = text.to_owned();
    for host in ["127.0.0.1:", "localhost:"] {
        let mut result = String::with_capacity(out.len());
        let mut rest = out.as_str();
        while let Some(pos) = rest.find(host) {
            let after = pos + host.len();
            result.push_str(&rest[..after]);
            let digits = rest[after..].bytes().take_while(u8::is_ascii_digit).count();
            if digits > 0 {
                result.push_str("<port>");
            }
            rest = &rest[after + digits..];
        }
        result.push_str(rest);
        out = result;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn redacts_ids_in_order_paths_and_ports() {
        let mut r = Redactor::new(vec!["/work/t/home-1".into()]);
        let mut v = json!({
            "a": "01a1feea-4ed9-70c3-8a7e-0123456789ab",
            "b": ["x 01A1FEEA-4ED9-70C3-8A7E-0123456789AB y", "ffffffff-ffff-ffff-ffff-ffffffffffff"],
            "c": "/work/t/home-1/sessions at ws://127.0.0.1:37715 and localhost:9",
            "d": "not-a-uuid-01a1feea-4ed9-70c3-8a7e-0123456789abc",
            "e": "held until 2026-11-21T19:06:05Z, not 2026-11-21 19:06",
        });
        r.value(&mut v);
        assert_eq!(
            v,
            json!({
                "a": "<id:1>",
                "b": ["x <id:1> y", "<id:2>"],
                "c": "<tmp>/sessions at ws://127.0.0.1:<port> and localhost:<port>",
                "d": "not-a-uuid-01a1feea-4ed9-70c3-8a7e-0123456789abc",
                "e": "held until <time>, not 2026-11-21 19:06",
            })
        );
    }

    #[test]
    fn status_and_code_follow_the_failures() {
        let pass = Verdict::new("s", "t", vec![], vec![]);
        assert_eq!((pass.status, pass.failure_code), (Status::Pass, None));
        let f = |code: FailureCode| Failure {
            step: None,
            code,
            message: String::new(),
        };
        let fail = Verdict::new(
            "s",
            "t",
            vec![],
            vec![f(FailureCode::NoResponse), f(FailureCode::ResultMismatch)],
        );
        assert_eq!(
            (fail.status, fail.failure_code),
            (Status::Fail, Some(FailureCode::NoResponse))
        );
        let keys: Vec<String> = fail
            .to_json()
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        assert_eq!(
            keys,
            [
                "schemaVersion",
                "scenario",
                "target",
                "status",
                "failureCode",
                "steps",
                "failures"
            ]
        );
    }
}
