//! `cas conformance`: the suite — a smoke preflight, then every selected scenario, one report.
//!
//! Each scenario runs in its own workspace on the target `select` gives it. Exit 0 when the
//! preflight passed or was skipped and every scenario is ok; 1 when one is not; 2 when cas could
//! not run (unknown scenario or target, bad flags, a codex lacking what a scenario relies on,
//! or every scenario ending in status error), with the reason on stderr.

mod preflight;
mod report;
mod select;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use super::output::{pretty, print_stdout};
use crate::hooks::HookPolicy;
use crate::launch::CodexLocator;
use crate::scenario::{self, TargetName};
use crate::schema::compat;
use crate::target::TargetEnv;
use crate::verdict::Status;
use preflight::{Preflight, PreflightSpec};
use report::{ScenarioResult, SuiteReport};
use select::Selected;

/// Flags of `cas conformance`.
#[derive(Debug, clap::Args)]
pub struct ConformanceArgs {
    /// A scenario name (snake or kebab case) or a scenario file; repeatable. Default: every
    /// scenario that is not a negative twin and has a way to run on the target.
    #[arg(long = "scenario")]
    pub scenarios: Vec<String>,
    /// fake-stdio, fake-ws, codex-stdio or codex-ws (codex targets are always hermetic).
    #[arg(long, default_value = "codex-ws")]
    pub target: String,
    /// The workspace the smoke preflight starts its thread in (default: the current folder).
    #[arg(long)]
    pub cwd: Option<PathBuf>,
    /// Print exactly one JSON document (the suite report) on stdout.
    #[arg(long)]
    pub json: bool,
    /// Also write the report as JUnit XML to this file.
    #[arg(long)]
    pub junit: Option<PathBuf>,
    /// The folder of scenario files (default: the scenarios shipped inside cas).
    #[arg(long)]
    pub scenarios_dir: Option<PathBuf>,
    /// Do not run the smoke preflight.
    #[arg(long)]
    pub skip_smoke_check: bool,
    /// Keep every scenario's workspace, passing ones too (failing ones are always kept).
    #[arg(long)]
    pub keep_temp: bool,
    /// Drive this `st` binary for the claim-ledger steps instead of cas's own ledger.
    #[arg(long)]
    pub st_binary: Option<PathBuf>,
    /// The codex binary (default: CAS_CODEX_BIN, the project install, then PATH).
    #[arg(long)]
    pub codex_bin: Option<PathBuf>,
    /// Override the scenarios' hook policy (also passed to the smoke preflight).
    #[arg(long, value_enum)]
    pub hooks: Option<HookPolicy>,
}

/// Runs the command.
pub async fn run(args: ConformanceArgs) -> ExitCode {
    match prepare(&args).await {
        Ok((env, selected, codex)) => suite(&args, &env, selected, codex).await,
        Err(code) => code,
    }
}

type Prepared = (TargetEnv, Vec<Selected>, Option<(PathBuf, String)>);

/// Parses the target, finds the scenarios, builds the run environment and checks codex.
async fn prepare(args: &ConformanceArgs) -> Result<Prepared, ExitCode> {
    let usage = |message: String| {
        eprintln!("cas: {message}");
        ExitCode::from(2)
    };
    let Some(target) = TargetName::parse(&args.target).filter(|t| *t != TargetName::Local) else {
        return Err(usage(format!(
            "unknown target {:?} (expected fake-stdio, fake-ws, codex-stdio or codex-ws)",
            args.target
        )));
    };
    let dir = match &args.scenarios_dir {
        Some(dir) => dir.clone(),
        None => scenario::shipped::unpack(&scenario::shipped::default_cache())
            .map_err(|e| usage(format!("cannot unpack the shipped scenarios: {e}")))?,
    };
    let mut selected =
        select::select(&dir, &args.scenarios, target).map_err(|e| usage(e.to_string()))?;
    if let Some(policy) = args.hooks {
        for s in &mut selected {
            s.scenario.hook_policy = policy;
        }
    }
    if let Some(st) = &args.st_binary {
        if !st.is_file() {
            return Err(usage(format!("--st-binary {}: no such file", st.display())));
        }
    }
    let cas_bin = std::env::current_exe().map_err(|e| {
        usage(format!(
            "cannot find the cas executable for the fake server: {e}"
        ))
    })?;
    let state = crate::launch::paths::homes_dir();
    let env = TargetEnv {
        cas_bin,
        codex: CodexLocator::from_env(args.codex_bin.clone()),
        scratch_root: state.clone(),
        workspace_root: std::env::temp_dir().join("cas-conformance"),
        keep_temp: args.keep_temp,
        st_binary: args.st_binary.clone(),
    };
    let on_codex: Vec<&scenario::Scenario> = selected
        .iter()
        .filter(|s| s.target.is_codex())
        .map(|s| &s.scenario)
        .collect();
    let needs_codex = target.is_codex() || !on_codex.is_empty();
    let codex = if needs_codex {
        check_compatibility(&on_codex, &env, args.json).await?
    } else {
        None
    };
    Ok((env, selected, codex))
}

async fn suite(
    args: &ConformanceArgs,
    env: &TargetEnv,
    selected: Vec<Selected>,
    codex: Option<(PathBuf, String)>,
) -> ExitCode {
    let target = TargetName::parse(&args.target).unwrap_or(TargetName::CodexWs);
    let preflight = if args.skip_smoke_check {
        Preflight::skipped("skipped by flag")
    } else {
        let cwd = args
            .cwd
            .clone()
            .or_else(|| std::env::current_dir().ok())
            .unwrap_or_else(|| PathBuf::from("."));
        preflight::run(&PreflightSpec {
            cas_bin: &env.cas_bin,
            target,
            cwd: &cwd,
            codex_bin: args.codex_bin.as_deref(),
            hooks: args.hooks,
        })
        .await
    };
    let mut scenarios = Vec::new();
    let mut all_error = !selected.is_empty();
    for Selected { scenario, target } in &selected {
        let started = Instant::now();
        let verdict = scenario::run(scenario, *target, env).await;
        let ms = started.elapsed().as_millis() as u64;
        all_error &= verdict.status == Status::Error;
        let result = ScenarioResult::of(scenario, *target, &verdict, ms);
        if !result.ok {
            if let Some(d) = &verdict.diagnostics {
                eprintln!("{}: {d}", scenario.name);
            }
        }
        scenarios.push(result);
    }
    let report = SuiteReport {
        target,
        codex,
        preflight,
        scenarios,
    };
    if let Some(path) = &args.junit {
        if let Err(e) = write_junit(path, &report.junit()) {
            eprintln!("cas: --junit {}: {e}", path.display());
            return ExitCode::from(2);
        }
    }
    if args.json {
        print_stdout(&pretty(&report.to_json()));
    } else {
        print_stdout(&report.human());
    }
    match (report.ok(), all_error) {
        (true, _) => ExitCode::SUCCESS,
        (false, true) => ExitCode::from(2),
        (false, false) => ExitCode::from(1),
    }
}

fn write_junit(path: &Path, xml: &str) -> std::io::Result<()> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(path, xml)
}

/// Refuses a codex that lacks a method a selected scenario expects a result from (exit 2) and
/// returns the codex used. A codex that cannot be found is left to the runs, which report it as
/// verdicts with status error.
async fn check_compatibility(
    scenarios: &[&scenario::Scenario],
    env: &TargetEnv,
    json: bool,
) -> Result<Option<(PathBuf, String)>, ExitCode> {
    let Ok(bin) = env.codex.resolve() else {
        return Ok(None);
    };
    let scratch = crate::launch::paths::homes_dir().join("schema");
    let _ = std::fs::create_dir_all(&scratch);
    let surface = async {
        let version = crate::launch::codex_version(&bin, &scratch).await?;
        compat::surface_for(&bin, &version, &compat::default_cache_dir(), &scratch).await
    };
    let surface = match surface.await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("cas: the protocol surface of {}: {e}", bin.display());
            return Err(ExitCode::from(2));
        }
    };
    let mut needs = compat::Requirements::of("conformance", None);
    for scenario in scenarios {
        if scenario.hooks_config.is_some() {
            needs = needs.with_hook_setup();
        }
        if scenario.hook_policy != crate::hooks::HookPolicy::Inherit {
            needs = needs.with_hook_notifications();
        }
        needs.client_requests.extend(
            scenario
                .methods_expecting_results()
                .into_iter()
                .map(str::to_owned),
        );
    }
    needs.client_requests.sort();
    needs.client_requests.dedup();
    let verdict = compat::check(&surface, &needs);
    if verdict.is_compatible() {
        return Ok(Some((bin, surface.codex_version.clone())));
    }
    let missing: Vec<String> = verdict
        .missing
        .iter()
        .map(|m| format!("{} {}", m.kind, m.method))
        .collect();
    if json {
        let mut doc = serde_json::json!({"schemaVersion": 1, "check": "conformance", "ok": false,
            "codex": {"path": bin, "version": surface.codex_version}});
        if let (Some(d), Ok(serde_json::Value::Object(v))) =
            (doc.as_object_mut(), serde_json::to_value(&verdict))
        {
            d.extend(v);
        }
        print_stdout(&pretty(&doc));
    }
    eprintln!(
        "cas: codex {} lacks what the selected scenarios rely on: {} (compatibilityVerdict: incompatible)",
        surface.codex_version,
        missing.join(", ")
    );
    Err(ExitCode::from(2))
}

/// The scenarios shipped inside cas (unpacked into the cache), else the source tree's folder.
pub fn default_scenarios_dir() -> PathBuf {
    scenario::shipped::unpack(&scenario::shipped::default_cache())
        .unwrap_or_else(|_| Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios"))
}
