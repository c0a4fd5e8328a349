//! Running the selected scenarios: up to `jobs` at once, each in its own workspace and (on
//! codex) its own copy of the run's template home, the preflight beside them (with one job,
//! everything runs one after another: the preflight, the template, the scenarios). A template
//! that cannot be made is a warning in the report: codex scenarios then start from fresh homes.
//!
//! Codex scenarios start before the fake and local ones (they take seconds, those take
//! milliseconds). Results reach the caller as each scenario ends (in finish order, for live
//! lines); the report
//! keeps the selection order whatever the finish order, so two runs of one selection give the
//! same report. With `fail_fast`, no scenario starts after one that is not ok; those that were
//! already running finish, the rest are counted as not run.

use futures_util::stream::{self, StreamExt};
use std::cell::Cell;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use super::preflight::{self, Preflight};
use super::report::{ScenarioResult, SuiteReport};
use super::select::Selected;
use super::{PreparedSuite, SuiteConfig};
use crate::errors::Chain;
use crate::scenario;
use crate::target::{CodexTemplate, TargetEnv};

/// Runs the preflight and every scenario; `on_result` sees each line as its scenario ends.
pub async fn run(
    config: &SuiteConfig,
    prepared: PreparedSuite,
    mut on_result: impl FnMut(&ScenarioResult),
) -> SuiteReport {
    let started = Instant::now();
    let PreparedSuite {
        target,
        env,
        selection,
        codex,
    } = prepared;
    let jobs = config.jobs.max(1);
    let broken: Vec<ScenarioResult> = selection
        .broken
        .iter()
        .map(|b| ScenarioResult::broken(b, target))
        .collect();
    broken.iter().for_each(&mut on_result);
    let stop = Cell::new(config.fail_fast && broken.iter().any(|b| !b.ok));
    let mut warnings = Vec::new();
    let preflight = run_preflight(config, &env, target);
    // The run's template home is made by the codex when a selected scenario runs on it.
    let on_codex = selection.selected.iter().any(|s| s.target.is_codex());
    let template_for = codex.as_ref().filter(|_| on_codex);
    let scenarios = async {
        let env = with_template(&env, template_for, &mut warnings).await;
        run_all(
            &selection.selected,
            &env,
            jobs,
            &stop,
            config,
            &mut on_result,
        )
        .await
    };
    let (preflight, mut ran) = if jobs > 1 {
        tokio::join!(preflight, scenarios)
    } else {
        let preflight = preflight.await;
        (preflight, scenarios.await)
    };
    ran.sort_by_key(|(index, _)| *index);
    let not_run = selection.selected.len() - ran.len();
    let mut results: Vec<ScenarioResult> = ran.into_iter().map(|(_, r)| r).collect();
    results.extend(broken);
    SuiteReport {
        target,
        codex,
        preflight,
        scenarios: results,
        not_run,
        jobs,
        wall_ms: started.elapsed().as_millis() as u64,
        warnings,
        require_all: config.require_all,
    }
}

/// `env` with the run's template home made by `codex` (its binary and version, when given); a
/// template that cannot be made is a warning, and codex scenarios start from fresh homes.
async fn with_template(
    env: &TargetEnv,
    codex: Option<&(PathBuf, String)>,
    warnings: &mut Vec<String>,
) -> TargetEnv {
    let mut env = env.clone();
    if let Some((bin, version)) = codex {
        match CodexTemplate::create(bin, version, &env.scratch_root).await {
            Ok(template) => env.codex_template = Some(Arc::new(template)),
            Err(e) => warnings.push(format!(
                "the codex template home could not be initialised ({}); codex scenarios start \
                 from fresh homes",
                Chain(&e)
            )),
        }
    }
    env
}

/// Runs the scenarios `jobs` at a time; each result is passed on as it ends, with its index.
async fn run_all(
    selected: &[Selected],
    env: &TargetEnv,
    jobs: usize,
    stop: &Cell<bool>,
    config: &SuiteConfig,
    on_result: &mut impl FnMut(&ScenarioResult),
) -> Vec<(usize, ScenarioResult)> {
    // Codex scenarios (seconds each) start first and the fake and local ones (milliseconds)
    // fill in at the end, so no long scenario starts last and runs alone.
    let mut order: Vec<(usize, &Selected)> = selected.iter().enumerate().collect();
    order.sort_by_key(|(index, s)| (!s.target.is_codex(), *index));
    let mut pending = stream::iter(order)
        .take_while(|_| std::future::ready(!stop.get()))
        .map(|(index, s)| async move {
            let Selected {
                scenario,
                target,
                not_applicable,
            } = s;
            if let Some(why) = not_applicable.clone() {
                return (
                    index,
                    ScenarioResult::not_applicable(scenario, *target, why),
                );
            }
            let started = Instant::now();
            let verdict = scenario::run(scenario, *target, env).await;
            crate::scenario::workspace::write_evidence(&verdict);
            let ms = started.elapsed().as_millis() as u64;
            (index, ScenarioResult::of(scenario, *target, &verdict, ms))
        })
        .buffer_unordered(jobs);
    let mut ran = Vec::with_capacity(selected.len());
    while let Some((index, result)) = pending.next().await {
        if config.fail_fast && !result.ok {
            stop.set(true);
        }
        on_result(&result);
        ran.push((index, result));
    }
    ran
}

/// The smoke preflight, unless skipped by flag.
async fn run_preflight(
    config: &SuiteConfig,
    env: &TargetEnv,
    target: scenario::TargetName,
) -> Preflight {
    if config.skip_smoke_check {
        return Preflight::skipped("skipped by flag");
    }
    let cwd = config
        .cwd
        .clone()
        .or_else(|| std::env::current_dir().ok())
        .unwrap_or_else(|| PathBuf::from("."));
    preflight::run(&preflight::PreflightSpec {
        cas_bin: &env.cas_bin,
        target,
        cwd: &cwd,
        codex_bin: config.codex_bin.as_deref(),
        hooks: config.hooks,
        deadline: config.preflight_timeout,
        request_timeout_ms: config.request_timeout_ms,
    })
    .await
}
