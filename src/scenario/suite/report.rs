//! The report of a conformance suite: one entry per scenario, as JSON, text or JUnit XML.
//!
//! A scenario's `ok` means its verdict is what the scenario expects (a negative twin, run by
//! name, is ok when it fails with its expected failure). `status` is the verdict's own status.

use serde::Serialize;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

use super::compat::NotApplicable;
use super::preflight::{Preflight, PreflightStatus};
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
    /// What kind of proof it gives.
    pub mode: Mode,
    /// The target it ran on.
    pub target: TargetName,
    /// Whether the verdict is what the scenario expects.
    pub ok: bool,
    /// The verdict's status.
    pub status: Status,
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
    /// The line for `scenario`'s run on `target`.
    pub fn of(
        scenario: &Scenario,
        target: TargetName,
        verdict: &Verdict,
        duration_ms: u64,
    ) -> ScenarioResult {
        let ok = scenario.accepts(verdict);
        ScenarioResult {
            name: scenario.report_name.clone(),
            scenario: scenario.name.clone(),
            mode: scenario.mode,
            target,
            ok,
            status: verdict.status,
            failure_code: verdict.failure_code,
            detail: detail(scenario, verdict, ok),
            duration_ms,
            temp_root: verdict.workspace.clone(),
            transcript: verdict.transcript.clone(),
            verdict: (!ok).then(|| verdict.to_json()),
            diagnostics: verdict.diagnostics.clone().filter(|_| !ok),
            not_applicable: None,
        }
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
            mode: scenario.mode,
            target,
            ok: true,
            status: Status::NotApplicable,
            failure_code: None,
            detail: why.reason(),
            duration_ms: 0,
            temp_root: None,
            verdict: None,
            diagnostics: None,
            transcript: None,
            not_applicable: Some(why),
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
    /// Every scenario, in run order.
    pub scenarios: Vec<ScenarioResult>,
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
        })
    }

    /// The text report.
    pub fn human(&self) -> String {
        let mut out = format!(
            "cas conformance on {}: {}\n",
            self.target,
            if self.ok() { "pass" } else { "fail" }
        );
        if let Some((path, version)) = &self.codex {
            out.push_str(&format!("codex: {version} ({})\n", path.display()));
        }
        out.push_str(&format!(
            "smoke preflight: {} ({})\n",
            self.preflight.status.as_str(),
            self.preflight.detail
        ));
        for s in &self.scenarios {
            out.push_str(&format!(
                "- {} [{}] on {}: {} ({} ms)\n",
                s.name,
                s.mode.as_str(),
                s.target,
                match (s.status, s.passes(self.require_all)) {
                    (Status::NotApplicable, _) => "N/A",
                    (_, true) => "ok",
                    _ => "NOT OK",
                },
                s.duration_ms
            ));
            if !s.ok || !s.detail.is_empty() {
                out.push_str(&format!("    {}\n", s.detail));
            }
            if let Some(root) = &s.temp_root {
                out.push_str(&format!("    workspace kept: {}\n", root.display()));
            }
            if let Some(path) = &s.transcript {
                out.push_str(&format!(
                    "    transcript: cas transcript show {}\n",
                    path.display()
                ));
            }
        }
        out.trim_end().to_owned()
    }

    /// Writes [`SuiteReport::junit`] to `path`, making its folder when needed.
    pub fn write_junit(&self, path: &Path) -> std::io::Result<()> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)?;
        }
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
        s.mode.as_str(),
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
