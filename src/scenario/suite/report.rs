//! The report of a conformance suite: one entry per scenario, as JSON, text or JUnit XML.
//!
//! A scenario's `ok` means its verdict is what the scenario expects (a negative twin, run by
//! name, is ok when it fails with its expected failure). `status` is the verdict's own status.

use serde::Serialize;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

use super::compat::NotApplicable;
use super::preflight::{Preflight, PreflightStatus};
use super::select::Broken;
use super::status::{Conclusion, FailedStep};
use crate::outcome::FailureCode;
use crate::scenario::format::Mode;
use crate::scenario::{Scenario, TargetName};
use crate::verdict::{Status, Verdict};

/// One scenario's line in the report.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ScenarioResult {
    /// The name it is reported under (`part_of`, else the file's name).
    pub name: String,
    /// The scenario file's name.
    pub scenario: String,
    /// What kind of proof it gives (unknown for a file that does not load).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mode: Option<Mode>,
    /// The target it ran on.
    pub target: TargetName,
    /// Whether the verdict is what the scenario expects.
    pub ok: bool,
    /// The verdict's status.
    pub status: Status,
    /// The suite's conclusion: pass, xfail, fail, not_applicable or error.
    pub outcome: Conclusion,
    /// The first failure's code.
    pub failure_code: Option<FailureCode>,
    /// What it proved, or what went wrong.
    pub detail: String,
    /// Wall time of the run.
    pub duration_ms: u64,
    /// The kept workspace (failing runs, or `--keep-temp`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub temp_root: Option<PathBuf>,
    /// The run's transcript (`cas transcript show` prints it), when kept.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transcript: Option<PathBuf>,
    /// The first failing step with its expected and observed values, for a run that is not ok.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failed_step: Option<FailedStep>,
    /// The whole verdict, for a scenario that is not ok.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verdict: Option<Value>,
    /// The verdict's diagnostics, for a scenario that is not ok (not part of the report).
    #[serde(skip)]
    pub diagnostics: Option<String>,
    /// Why it was not run on this codex (status `not_applicable`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_applicable: Option<NotApplicable>,
}

impl ScenarioResult {
    /// An unnamed line on `target` with `status` and `outcome`: not ok, and no mode, failure,
    /// detail, time, kept files or verdict (each constructor adds what it knows).
    fn bare(target: TargetName, status: Status, outcome: Conclusion) -> ScenarioResult {
        ScenarioResult {
            name: String::new(),
            scenario: String::new(),
            mode: None,
            target,
            ok: false,
            status,
            outcome,
            failure_code: None,
            detail: String::new(),
            duration_ms: 0,
            temp_root: None,
            transcript: None,
            failed_step: None,
            verdict: None,
            diagnostics: None,
            not_applicable: None,
        }
    }

    /// The line for `scenario`'s run on `target`.
    pub fn of(
        scenario: &Scenario,
        target: TargetName,
        verdict: &Verdict,
        duration_ms: u64,
    ) -> ScenarioResult {
        let ok = scenario.accepts(verdict);
        let outcome = Conclusion::of(scenario, verdict, ok);
        ScenarioResult {
            name: scenario.report_name.clone(),
            scenario: scenario.name.clone(),
            mode: Some(scenario.mode),
            ok,
            failure_code: verdict.failure_code,
            detail: detail(scenario, verdict, ok),
            duration_ms,
            temp_root: verdict.workspace.clone(),
            transcript: verdict.transcript.clone(),
            failed_step: (!ok).then(|| FailedStep::of(scenario, verdict)).flatten(),
            verdict: (!ok).then(|| verdict.to_json()),
            diagnostics: verdict.diagnostics.clone().filter(|_| !ok),
            ..Self::bare(target, verdict.status, outcome)
        }
    }

    /// The line for a selected file that does not load: an error of that scenario alone.
    pub fn broken(broken: &Broken, target: TargetName) -> ScenarioResult {
        ScenarioResult {
            name: broken.name.clone(),
            scenario: broken.name.clone(),
            failure_code: Some(FailureCode::ScenarioUnloadable),
            detail: broken.error.clone(),
            ..Self::bare(target, Status::Error, Conclusion::Error)
        }
    }

    /// The mode's name, or `-` for a file that does not load.
    pub fn mode_name(&self) -> &'static str {
        self.mode.map_or("-", Mode::as_str)
    }

    /// The line for a scenario not run because the codex lacks what it relies on: ok unless
    /// the suite requires all ([`SuiteReport::ok`] decides), `detail` names what is missing.
    pub fn not_applicable(
        scenario: &Scenario,
        target: TargetName,
        why: NotApplicable,
    ) -> ScenarioResult {
        ScenarioResult {
            name: scenario.report_name.clone(),
            scenario: scenario.name.clone(),
            mode: Some(scenario.mode),
            ok: true,
            detail: why.reason(),
            not_applicable: Some(why),
            ..Self::bare(target, Status::NotApplicable, Conclusion::NotApplicable)
        }
    }

    /// Whether the line counts as passing in a suite (`require_all`: not_applicable fails).
    pub fn passes(&self, require_all: bool) -> bool {
        self.ok && !(require_all && self.status == Status::NotApplicable)
    }
}

fn detail(scenario: &Scenario, verdict: &Verdict, ok: bool) -> String {
    let mut parts = Vec::new();
    if verdict.status == Status::Pass || ok {
        parts.push(
            scenario
                .description
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" "),
        );
    }
    if !ok {
        parts.extend(verdict.failures.iter().map(|f| {
            format!(
                "[{}] {}: {}",
                f.code,
                f.step.as_deref().unwrap_or("run"),
                f.message
            )
        }));
    }
    parts.extend(verdict.notes.iter().cloned());
    parts.join("; ")
}

/// The whole suite.
#[derive(Debug, Clone)]
pub struct SuiteReport {
    /// The suite's target.
    pub target: TargetName,
    /// The codex used, when the target is a codex one and it was found.
    pub codex: Option<(PathBuf, String)>,
    /// The preflight.
    pub preflight: Preflight,
    /// Every scenario, in selection order (files that did not load last).
    pub scenarios: Vec<ScenarioResult>,
    /// Selected scenarios that did not start (`--fail-fast` after a failure).
    pub not_run: usize,
    /// How many scenarios ran at once.
    pub jobs: usize,
    /// Wall time of the whole run, preflight included.
    pub wall_ms: u64,
    /// What went wrong around the scenarios without failing one (e.g. no template home).
    pub warnings: Vec<String>,
    /// Whether a scenario not applicable to the codex fails the suite (`--require-all`).
    pub require_all: bool,
}

impl SuiteReport {
    /// Preflight passed or skipped, and every scenario ok (not_applicable ones only count
    /// with `require_all`).
    pub fn ok(&self) -> bool {
        self.preflight.ok && self.scenarios.iter().all(|s| s.passes(self.require_all))
    }

    /// At least one scenario ran and every one that ran ended in status error: cas could not
    /// run them.
    pub fn all_error(&self) -> bool {
        let ran: Vec<&ScenarioResult> = self
            .scenarios
            .iter()
            .filter(|s| s.status != Status::NotApplicable)
            .collect();
        !ran.is_empty() && ran.iter().all(|s| s.status == Status::Error)
    }

    /// The JSON document (`schemaVersion` 1).
    pub fn to_json(&self) -> Value {
        json!({
            "schemaVersion": 1,
            "check": "conformance",
            "ok": self.ok(),
            "target": self.target.as_str(),
            "codex": self.codex.as_ref().map(|(path, version)| json!({"path": path, "version": version})),
            "smokePreflight": self.preflight,
            "scenarios": self.scenarios,
            "notRun": self.not_run,
            "jobs": self.jobs,
            "wallMs": self.wall_ms,
            "warnings": self.warnings,
        })
    }

    /// Writes [`SuiteReport::junit`] to `path` (its folder must exist: cas does not make it).
    pub fn write_junit(&self, path: &Path) -> std::io::Result<()> {
        std::fs::write(path, self.junit())
    }

    /// The report as JUnit XML: one test case per scenario, the preflight first.
    pub fn junit(&self) -> String {
        let failures = self
            .scenarios
            .iter()
            .filter(|s| !s.passes(self.require_all))
            .count()
            + usize::from(!self.preflight.ok);
        let seconds: f64 = self
            .scenarios
            .iter()
            .map(|s| s.duration_ms as f64 / 1000.0)
            .sum();
        let mut xml = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        xml.push_str(&format!(
            "<testsuites name=\"cas conformance\" tests=\"{}\" failures=\"{failures}\" time=\"{seconds:.3}\">\n",
            self.scenarios.len() + 1
        ));
        xml.push_str(&format!(
            "  <testsuite name=\"cas conformance {}\" tests=\"{}\" failures=\"{failures}\" time=\"{seconds:.3}\">\n",
            self.target,
            self.scenarios.len() + 1
        ));
        junit_preflight(&self.preflight, &mut xml);
        for s in &self.scenarios {
            junit_scenario(s, self.require_all, &mut xml);
        }
        xml.push_str("  </testsuite>\n</testsuites>\n");
        xml
    }
}

/// Appends the preflight's JUnit test case: skipped, failed or passed.
fn junit_preflight(preflight: &Preflight, xml: &mut String) {
    xml.push_str(
        "    <testcase classname=\"cas.conformance\" name=\"smoke_preflight\" time=\"0\">\n",
    );
    match preflight.status {
        PreflightStatus::Skipped => xml.push_str(&format!(
            "      <skipped message=\"{}\"/>\n",
            escape(&preflight.detail)
        )),
        _ if !preflight.ok => xml.push_str(&format!(
            "      <failure message=\"{}\"/>\n",
            escape(&preflight.detail)
        )),
        _ => {}
    }
    xml.push_str("    </testcase>\n");
}

/// Appends one scenario's JUnit test case: its failure, or its detail as output.
fn junit_scenario(s: &ScenarioResult, require_all: bool, xml: &mut String) {
    xml.push_str(&format!(
        "    <testcase classname=\"cas.conformance.{}\" name=\"{} [{}]\" time=\"{:.3}\">\n",
        escape(s.target.as_str()),
        escape(&s.scenario),
        s.mode_name(),
        s.duration_ms as f64 / 1000.0
    ));
    if s.status == Status::NotApplicable && !require_all {
        xml.push_str(&format!(
            "      <skipped message=\"not_applicable: {}\"/>\n",
            escape(&s.detail)
        ));
    } else if !s.passes(require_all) {
        xml.push_str(&format!(
            "      <failure message=\"{}\" type=\"{}\">{}</failure>\n",
            escape(
                s.failure_code
                    .map_or(s.status.as_str(), FailureCode::as_str)
            ),
            s.status.as_str(),
            escape(&s.detail)
        ));
        if let Some(path) = &s.transcript {
            xml.push_str(&format!(
                "      <system-out>transcript: {}</system-out>\n",
                escape(&path.display().to_string())
            ));
        }
    } else {
        let transcript = s
            .transcript
            .as_ref()
            .map(|p| format!("\ntranscript: {}", p.display()));
        xml.push_str(&format!(
            "      <system-out>{}{}</system-out>\n",
            escape(&s.detail),
            escape(&transcript.unwrap_or_default())
        ));
    }
    xml.push_str("    </testcase>\n");
}

/// Escapes text for XML attributes and content; drops characters XML 1.0 cannot hold.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_drops_control_characters() {
        assert_eq!(escape("a<b & \"c\"\u{1}"), "a&lt;b &amp; &quot;c&quot;");
    }
}
