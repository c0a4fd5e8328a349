//! `cas bench suite`: the shipped suite with `--jobs 1` and with `--jobs N`, side by side.
//!
//! Each run is the real CLI (`cas conformance --json`) as a child, timed from spawn to exit,
//! the two settings alternating so a busy machine weighs on both alike. The figure is the
//! median wall time of each and their ratio; every run's verdicts (scenario, target, outcome)
//! must be the same, or parallel runs changed what the suite says.

use serde::Serialize;
use serde_json::Value;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::errors::BenchError;
use crate::summary::millis;

/// The longest one suite run may take.
const SUITE_DEADLINE: Duration = Duration::from_secs(600);

/// The parallel run must take at most this share of the serial one.
pub const TARGET_RATIO: f64 = 0.6;

/// What `cas bench suite` measures.
#[derive(Debug, Clone)]
pub struct SuitePlan {
    /// The cas binary to run.
    pub cas: PathBuf,
    /// The codex binary, passed on when given.
    pub codex: Option<PathBuf>,
    /// The suite's target.
    pub target: String,
    /// The parallel setting.
    pub jobs: usize,
    /// Runs of each setting; the median is reported.
    pub runs: usize,
}

/// The figures.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SuiteBench {
    /// Always `bench_suite`.
    pub check: &'static str,
    /// Whether the parallel run took at most [`TARGET_RATIO`] of the serial one and every run
    /// gave the same verdicts.
    pub ok: bool,
    /// The suite's target.
    pub target: String,
    /// CPUs of this machine.
    pub cpus: usize,
    /// Runs of each setting.
    pub runs: usize,
    /// The parallel setting.
    pub jobs: usize,
    /// Median wall time with `--jobs 1`, ms.
    pub serial_ms: f64,
    /// Median wall time with `--jobs N`, ms.
    pub parallel_ms: f64,
    /// `parallel_ms / serial_ms`.
    pub ratio: f64,
    /// The ratio the parallel run must not exceed.
    pub target_ratio: f64,
    /// Whether every run gave the same verdicts.
    pub identical_verdicts: bool,
    /// The verdicts of the first serial run: `scenario::target outcome`.
    pub verdicts: Vec<String>,
    /// Every run's wall time, ms, in run order: `(jobs, ms)`.
    pub samples: Vec<(usize, f64)>,
}

/// The median of `times` (the upper one of an even count), or 0 when there are none.
fn median(times: impl Iterator<Item = f64>) -> f64 {
    let mut xs: Vec<f64> = times.collect();
    xs.sort_by(f64::total_cmp);
    xs.get(xs.len() / 2).copied().unwrap_or(0.0)
}

/// Runs the suite `runs` times with each setting, alternating; `progress` hears of each run
/// as it ends.
pub async fn run(plan: &SuitePlan, progress: &dyn Fn(&str)) -> Result<SuiteBench, BenchError> {
    let mut samples = Vec::new();
    let mut verdict_sets: Vec<Vec<String>> = Vec::new();
    for round in 0..plan.runs {
        for jobs in [1, plan.jobs] {
            let (ms, verdicts) = once(plan, jobs).await?;
            progress(&format!(
                "round {}/{}: --jobs {jobs} took {ms:.0} ms",
                round + 1,
                plan.runs
            ));
            samples.push((jobs, ms));
            verdict_sets.push(verdicts);
        }
    }
    // Runs alternate: even indexes are the `--jobs 1` runs, odd ones the `--jobs N` runs.
    let times = samples.iter().map(|(_, ms)| *ms);
    let serial_ms = median(times.clone().step_by(2));
    let parallel_ms = median(times.skip(1).step_by(2));
    let ratio = if serial_ms > 0.0 {
        parallel_ms / serial_ms
    } else {
        0.0
    };
    let identical_verdicts = verdict_sets.windows(2).all(|w| w[0] == w[1]);
    Ok(SuiteBench {
        check: "bench_suite",
        ok: identical_verdicts && ratio <= TARGET_RATIO,
        target: plan.target.clone(),
        cpus: std::thread::available_parallelism().map_or(1, usize::from),
        runs: plan.runs,
        jobs: plan.jobs,
        serial_ms,
        parallel_ms,
        ratio,
        target_ratio: TARGET_RATIO,
        identical_verdicts,
        verdicts: verdict_sets.into_iter().next().unwrap_or_default(),
        samples,
    })
}

/// One `cas conformance --json --jobs N` run: its wall time and its verdicts.
async fn once(plan: &SuitePlan, jobs: usize) -> Result<(f64, Vec<String>), BenchError> {
    let mut command = tokio::process::Command::new(&plan.cas);
    command
        .args(["conformance", "--json", "--color", "never"])
        .args(["--target", &plan.target, "--jobs", &jobs.to_string()])
        .kill_on_drop(true);
    if let Some(codex) = &plan.codex {
        command.arg("--codex-bin").arg(codex);
    }
    let t0 = Instant::now();
    let out = tokio::time::timeout(SUITE_DEADLINE, command.output())
        .await
        .map_err(|_| BenchError::RunTimeout(SUITE_DEADLINE))?
        .map_err(BenchError::RunCas)?;
    let wall = millis(t0.elapsed());
    let doc: Value = serde_json::from_slice(&out.stdout).map_err(BenchError::CasOutput)?;
    if out.status.code() == Some(2) {
        let why = doc["error"].as_str().unwrap_or("exit 2").to_owned();
        return Err(BenchError::SuiteNotRun(why));
    }
    Ok((wall, verdicts(&doc)))
}

/// `scenario::target outcome` for each scenario of a suite report, in report order.
pub fn verdicts(report: &Value) -> Vec<String> {
    report["scenarios"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| {
            format!(
                "{}::{} {}",
                s["scenario"].as_str().unwrap_or("?"),
                s["target"].as_str().unwrap_or("?"),
                s["outcome"].as_str().unwrap_or("?")
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn verdicts_name_scenario_target_and_outcome_in_report_order() {
        let report = json!({"scenarios": [
            {"scenario": "b", "target": "fake-ws", "outcome": "pass"},
            {"scenario": "a", "target": "local", "outcome": "xfail"},
        ]});
        assert_eq!(verdicts(&report), ["b::fake-ws pass", "a::local xfail"]);
    }
}
