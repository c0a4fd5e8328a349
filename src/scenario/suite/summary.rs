//! The closing summary of a conformance run: the codex, the preflight, which targets ran, the
//! count of each conclusion and the wall time.

use std::collections::BTreeMap;

use super::live::Painter;
use super::report::SuiteReport;
use super::status::Conclusion;
use super::PreparedSuite;
use crate::scenario::TargetName;

/// How many scenarios ended in each conclusion, and how many ran on each target.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counts {
    /// Per conclusion.
    pub by_conclusion: BTreeMap<Conclusion, usize>,
    /// Per target that actually ran.
    pub by_target: BTreeMap<TargetName, usize>,
}

impl Counts {
    /// The counts of `report`.
    pub fn of(report: &SuiteReport) -> Counts {
        let mut counts = Counts::default();
        for s in &report.scenarios {
            *counts.by_conclusion.entry(s.outcome).or_default() += 1;
            *counts.by_target.entry(s.target).or_default() += 1;
        }
        counts
    }

    /// How many ended in `conclusion`.
    pub fn get(&self, conclusion: Conclusion) -> usize {
        self.by_conclusion.get(&conclusion).copied().unwrap_or(0)
    }
}

/// The lines before the scenarios: the suite's target, the codex, and where they will run.
pub fn header_of(prepared: &PreparedSuite) -> String {
    let mut out = format!("cas conformance: target {}", prepared.target);
    if let Some((path, version)) = &prepared.codex {
        out.push_str(&format!("\ncodex: {version} ({})", path.display()));
    }
    let mut by_target: BTreeMap<TargetName, usize> = BTreeMap::new();
    for s in &prepared.selection.selected {
        *by_target.entry(s.target).or_default() += 1;
    }
    let runs: Vec<String> = by_target.iter().map(|(t, n)| format!("{t} {n}")).collect();
    if !runs.is_empty() {
        out.push_str(&format!("\nscenarios run on: {}", runs.join(", ")));
    }
    out
}

/// The summary: preflight, the targets that ran, counts, not-run scenarios and wall time.
pub fn render(report: &SuiteReport, paint: Painter) -> String {
    let counts = Counts::of(report);
    let mut out = String::from("------------\n");
    for warning in &report.warnings {
        out.push_str(&format!("warning: {warning}\n"));
    }
    out.push_str(&format!(
        "smoke preflight: {} ({})\n",
        report.preflight.status.as_str(),
        report.preflight.detail
    ));
    let ran: Vec<String> = counts
        .by_target
        .iter()
        .map(|(t, n)| format!("{t} {n}"))
        .collect();
    let tallies: Vec<String> = Conclusion::ALL
        .iter()
        .filter(|c| counts.get(**c) > 0 || matches!(c, Conclusion::Pass | Conclusion::Fail))
        .map(|c| {
            let text = format!("{} {}", counts.get(*c), c.counted());
            if counts.get(*c) > 0 {
                paint.conclusion(*c, &text)
            } else {
                text
            }
        })
        .collect();
    let verdict = if report.ok() { "ok" } else { "FAILED" };
    out.push_str(&format!(
        "{} [{:>8.3}s] {} scenarios on {} ({}, --jobs {}): {}",
        paint.conclusion(
            if report.ok() {
                Conclusion::Pass
            } else {
                Conclusion::Fail
            },
            &format!("{verdict:>7}")
        ),
        report.wall_ms as f64 / 1000.0,
        report.scenarios.len(),
        report.target,
        if ran.is_empty() {
            "none ran".to_owned()
        } else {
            format!("ran on {}", ran.join(", "))
        },
        report.jobs,
        tallies.join(", ")
    ));
    if report.not_run > 0 {
        out.push_str(&format!("; {} not run (--fail-fast)", report.not_run));
    }
    out
}
