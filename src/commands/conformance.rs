//! `cas conformance`: run one scenario on one target and print the verdict.
//!
//! Exit 0 when the verdict is `pass`, 1 when it is `fail`, 2 when cas could not run it
//! (unknown scenario or target, codex missing, spawn failure), with the reason on stderr.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use super::output::{pretty, print_stdout};
use crate::cli::ConformanceArgs;
use crate::launch::CodexLocator;
use crate::scenario::{self, TargetName};
use crate::schema::compat;
use crate::target::TargetEnv;
use crate::verdict::{Status, Verdict};

/// Runs the command.
pub async fn run(args: ConformanceArgs) -> ExitCode {
    let Some(target) = TargetName::parse(&args.target) else {
        eprintln!(
            "cas: unknown target {:?} (expected fake-stdio, fake-ws, codex-stdio or codex-ws)",
            args.target
        );
        return ExitCode::from(2);
    };
    let dir = args
        .scenarios_dir
        .clone()
        .unwrap_or_else(default_scenarios_dir);
    let loaded = resolve_path(&dir, &args.scenario).and_then(|path| scenario::load(&dir, &path));
    let mut scenario = match loaded {
        Ok(s) => s,
        Err(e) => {
            eprintln!("cas: {e}");
            return ExitCode::from(2);
        }
    };
    if let Some(policy) = args.hooks {
        scenario.hook_policy = policy;
    }
    if !scenario.targets.contains(&target) {
        let targets: Vec<&str> = scenario.targets.iter().map(|t| t.as_str()).collect();
        eprintln!(
            "cas: scenario {} does not run on {target} (its targets: {})",
            scenario.name,
            targets.join(", ")
        );
        return ExitCode::from(2);
    }
    let cas_bin = match std::env::current_exe() {
        Ok(p) => p,
        Err(e) => {
            eprintln!("cas: cannot find the cas executable for the fake server: {e}");
            return ExitCode::from(2);
        }
    };
    let env = TargetEnv {
        cas_bin,
        codex: CodexLocator::from_env(args.codex_bin.clone()),
        scratch_root: crate::hermetic::default_root(),
    };
    if target.is_codex() {
        if let Err(code) = check_compatibility(&scenario, &env, args.json).await {
            return code;
        }
    }
    let verdict = scenario::run(&scenario, target, &env).await;
    report(&verdict, args.json);
    match verdict.status {
        Status::Pass => ExitCode::SUCCESS,
        Status::Fail => ExitCode::from(1),
        Status::Error | Status::Skipped => ExitCode::from(2),
    }
}

/// Refuses a codex that lacks a method the scenario expects a result from (exit 2). A codex
/// that cannot be found is left to the run, which reports it as a verdict with status error.
async fn check_compatibility(
    scenario: &scenario::Scenario,
    env: &TargetEnv,
    json: bool,
) -> Result<(), ExitCode> {
    let Ok(bin) = env.codex.resolve() else {
        return Ok(());
    };
    let scratch = crate::hermetic::default_root().join("schema");
    let _ = std::fs::create_dir_all(&scratch);
    let surface = async {
        let version = crate::launch::codex_version(&bin, &scratch)
            .await
            .map_err(|e| e.to_string())?;
        compat::surface_for(&bin, &version, &compat::default_cache_dir(), &scratch)
            .await
            .map_err(|e| e.to_string())
    };
    let surface = match surface.await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("cas: the protocol surface of {}: {e}", bin.display());
            return Err(ExitCode::from(2));
        }
    };
    let mut needs = compat::Requirements::of("conformance", None);
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
    needs.client_requests.dedup();
    let verdict = compat::check(&surface, &needs);
    if verdict.is_compatible() {
        return Ok(());
    }
    let missing: Vec<String> = verdict
        .missing
        .iter()
        .map(|m| format!("{} {}", m.kind, m.method))
        .collect();
    if json {
        let mut doc = serde_json::json!({"schemaVersion": 1, "check": "conformance", "scenario": scenario.name, "ok": false,
            "codex": {"path": bin, "version": surface.codex_version}});
        if let (Some(d), Ok(serde_json::Value::Object(v))) =
            (doc.as_object_mut(), serde_json::to_value(&verdict))
        {
            d.extend(v);
        }
        print_stdout(&pretty(&doc));
    }
    eprintln!(
        "cas: codex {} lacks what {} relies on: {} (compatibilityVerdict: incompatible)",
        surface.codex_version,
        scenario.name,
        missing.join(", ")
    );
    Err(ExitCode::from(2))
}

/// `./scenarios` when present, else the folder of the source tree cas was built from.
pub fn default_scenarios_dir() -> PathBuf {
    let local = PathBuf::from("scenarios");
    if local.is_dir() {
        local
    } else {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios")
    }
}

/// A scenario argument is a file path when it ends in `.toml` or names a file, else a name.
fn resolve_path(dir: &Path, scenario: &str) -> Result<PathBuf, crate::errors::ScenarioError> {
    let as_path = Path::new(scenario);
    if scenario.ends_with(".toml") || as_path.is_file() {
        return Ok(as_path.to_owned());
    }
    scenario::find(dir, scenario)
}

fn report(verdict: &Verdict, json: bool) {
    if json {
        print_stdout(&pretty(&verdict.to_json()));
    } else {
        print_stdout(&human(verdict));
    }
    if verdict.status != Status::Pass {
        if let Some(diagnostics) = &verdict.diagnostics {
            eprintln!("{diagnostics}");
        }
    }
}

fn human(verdict: &Verdict) -> String {
    let mut out = format!(
        "{} on {}: {} ({} steps)\n",
        verdict.scenario,
        verdict.target,
        verdict.status.as_str(),
        verdict.steps.len()
    );
    for step in &verdict.steps {
        let status = serde_json::to_value(step.status).ok();
        let status = status.as_ref().and_then(|v| v.as_str()).unwrap_or("?");
        out.push_str(&format!("  {status:<8} {}\n", step.name));
    }
    for failure in &verdict.failures {
        let step = failure.step.as_deref().unwrap_or("run");
        out.push_str(&format!(
            "  failure [{}] in {step}: {}\n",
            failure.code, failure.message
        ));
    }
    out.trim_end().to_owned()
}
