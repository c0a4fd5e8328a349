//! How a scenario's run concludes in the suite's eyes, and the failing step's expected/observed
//! values for the diff a failure line shows.
//!
//! [`Conclusion`] is what the live lines, the summary and the report's `outcome` say: `pass`,
//! `xfail` (a negative twin failing as it must), `fail`, `not_applicable` (the scenario was not
//! run on this codex, with the reason) or `error` (cas could not run it).

use serde::Serialize;
use serde_json::Value;

use crate::scenario::format::ExpectStatus;
use crate::scenario::load::StepKind;
use crate::scenario::Scenario;
use crate::verdict::{Status, Verdict};

/// The suite's conclusion about one scenario run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Conclusion {
    /// It passed, as it must.
    Pass,
    /// It failed with the failure it must produce (a negative twin).
    Xfail,
    /// Its verdict is not the one it must produce.
    Fail,
    /// It was not run: it does not apply here (the reason is in the detail).
    NotApplicable,
    /// cas could not run it (a file that does not load, a target that does not start).
    Error,
}

impl Conclusion {
    /// Every conclusion, in summary order.
    pub const ALL: [Conclusion; 5] = [
        Conclusion::Pass,
        Conclusion::Xfail,
        Conclusion::Fail,
        Conclusion::NotApplicable,
        Conclusion::Error,
    ];

    /// What `scenario`'s `verdict` concludes, given whether the scenario accepts it.
    pub fn of(scenario: &Scenario, verdict: &Verdict, ok: bool) -> Conclusion {
        match (verdict.status, ok) {
            (Status::Error, _) => Conclusion::Error,
            (Status::Skipped | Status::NotApplicable, _) => Conclusion::NotApplicable,
            (_, true) if scenario.expect_status == ExpectStatus::Fail => Conclusion::Xfail,
            (_, true) => Conclusion::Pass,
            (_, false) => Conclusion::Fail,
        }
    }

    /// The live line's label: `PASS`, `XFAIL`, `FAIL`, `N/A` or `ERROR`.
    pub fn label(self) -> &'static str {
        match self {
            Conclusion::Pass => "PASS",
            Conclusion::Xfail => "XFAIL",
            Conclusion::Fail => "FAIL",
            Conclusion::NotApplicable => "N/A",
            Conclusion::Error => "ERROR",
        }
    }

    /// The summary's word: `passed`, `xfailed`, `failed`, `not applicable`, `errored`.
    pub fn counted(self) -> &'static str {
        match self {
            Conclusion::Pass => "passed",
            Conclusion::Xfail => "xfailed",
            Conclusion::Fail => "failed",
            Conclusion::NotApplicable => "not applicable",
            Conclusion::Error => "errored",
        }
    }

    /// Whether it counts against the run.
    pub fn is_bad(self) -> bool {
        matches!(self, Conclusion::Fail | Conclusion::Error)
    }
}

/// The failing step of a run, and what it expected and observed (for the failure's diff).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FailedStep {
    /// The step's name (`run` for a whole-run failure).
    pub step: String,
    /// What the step expected, with matcher magic shown as what it matched.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected: Option<Value>,
    /// What it observed (the part it checked).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub observed: Option<Value>,
}

impl FailedStep {
    /// The first failure of `verdict`, with the expected and observed values of its step.
    pub fn of(scenario: &Scenario, verdict: &Verdict) -> Option<FailedStep> {
        let failure = verdict.failures.first()?;
        let Some(name) = &failure.step else {
            return Some(FailedStep {
                step: "run".into(),
                expected: None,
                observed: None,
            });
        };
        let observed = verdict
            .steps
            .iter()
            .find(|r| &r.name == name)
            .and_then(|r| r.observed.clone());
        let wanted = scenario
            .steps
            .iter()
            .find(|s| &s.name == name)
            .and_then(|s| expected_of(&s.kind));
        let vars: crate::matcher::Captures = scenario
            .vars
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect();
        let expected = wanted.map(|(key, want)| {
            let want = crate::matcher::substitute(&want, &vars);
            let seen = observed.as_ref().and_then(|o| o.get(key));
            serde_json::json!({ key: crate::matcher::shown_as_matched(&want, seen) })
        });
        Some(FailedStep {
            step: name.clone(),
            expected,
            observed,
        })
    }
}

/// What a step expects, under the key its observed value uses.
fn expected_of(kind: &StepKind) -> Option<(&'static str, Value)> {
    match kind {
        StepKind::Request(r) => match (&r.expect_result, &r.expect_error) {
            (Some(want), _) => Some(("result", want.clone())),
            (None, Some(want)) => Some(("error", want.clone())),
            (None, None) => None,
        },
        StepKind::AwaitNotification(n) => n.params.clone().map(|p| ("params", p)),
        _ => None,
    }
}

/// A unified diff of the expected and observed values as pretty JSON (`-` expected, `+`
/// observed); empty when either is missing or they print the same.
pub fn diff_lines(expected: Option<&Value>, observed: Option<&Value>) -> Vec<(char, String)> {
    let (Some(expected), Some(observed)) = (expected, observed) else {
        return Vec::new();
    };
    let pretty = |v: &Value| serde_json::to_string_pretty(v).unwrap_or_default() + "\n";
    let (left, right) = (pretty(expected), pretty(observed));
    if left == right {
        return Vec::new();
    }
    let diff = similar::TextDiff::from_lines(&left, &right);
    diff.iter_all_changes()
        .map(|change| {
            let sign = match change.tag() {
                similar::ChangeTag::Delete => '-',
                similar::ChangeTag::Insert => '+',
                similar::ChangeTag::Equal => ' ',
            };
            (sign, change.value().trim_end_matches('\n').to_owned())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_diff_marks_only_the_changed_lines() {
        let lines = diff_lines(
            Some(&json!({"a": 1, "b": 2})),
            Some(&json!({"a": 1, "b": 3})),
        );
        let changed: Vec<&(char, String)> = lines.iter().filter(|(s, _)| *s != ' ').collect();
        assert_eq!(
            changed,
            [
                &('-', "  \"b\": 2".to_owned()),
                &('+', "  \"b\": 3".to_owned())
            ]
        );
        assert!(diff_lines(Some(&json!(1)), Some(&json!(1))).is_empty());
        assert!(diff_lines(None, Some(&json!(1))).is_empty());
    }
}
