//! The conformance suite: a smoke preflight, then every selected scenario, one typed report.
//!
//! [`prepare`] parses the target, selects the scenarios, builds the run environment and checks
//! that the codex has what they rely on; [`run`] runs the preflight and each scenario in its own
//! workspace and returns the [`SuiteReport`]. `cas conformance` is a thin front over the two.
//! A [`SuiteError`] means cas could not run the suite (the command exits 2).

mod capabilities;
mod compat;
mod preflight;
mod report;
mod select;

use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::hooks::HookPolicy;
use crate::launch::CodexLocator;
use crate::scenario::{self, TargetName};
use crate::target::TargetEnv;

pub use capabilities::{
    capabilities, Capabilities, CapabilitiesConfig, CasVersion, CodexVersion, CommandVerdicts,
    ScenarioCapability,
};
pub use compat::{applicability, relies_on, Incompatible, NotApplicable, ReliesOn};
pub use preflight::{Preflight, PreflightStatus};
pub use report::{ScenarioResult, SuiteReport};
pub use select::{run_target, select, SelectError, Selected};

/// What a suite runs: the plain form of `cas conformance`'s flags.
#[derive(Debug, Clone, Default)]
pub struct SuiteConfig {
    /// Scenario names (snake or kebab case) or scenario files; empty selects the default set.
    pub scenarios: Vec<String>,
    /// The target as given: fake-stdio, fake-ws, codex-stdio or codex-ws.
    pub target: String,
    /// The workspace the smoke preflight starts its thread in (default: the current folder).
    pub cwd: Option<PathBuf>,
    /// The folder of scenario files (default: the scenarios shipped inside cas).
    pub scenarios_dir: Option<PathBuf>,
    /// Do not run the smoke preflight.
    pub skip_smoke_check: bool,
    /// Keep every scenario's workspace, passing ones too.
    pub keep_temp: bool,
    /// Drive this `st` binary for the claim-ledger steps instead of cas's own ledger.
    pub st_binary: Option<PathBuf>,
    /// The codex binary (default: CAS_CODEX_BIN, the project install, then PATH).
    pub codex_bin: Option<PathBuf>,
    /// Override the scenarios' hook policy (also passed to the smoke preflight).
    pub hooks: Option<HookPolicy>,
    /// Count a scenario not applicable to this codex as a failure.
    pub require_all: bool,
    /// Keep every scenario's transcript in this folder (failing ones are kept in their workspace).
    pub transcript_dir: Option<PathBuf>,
}

/// Why a suite could not run (cas exits 2 with the message on stderr).
#[derive(Debug, thiserror::Error)]
pub enum SuiteError {
    /// The target is not one a suite runs on.
    #[error("unknown target {0:?} (expected fake-stdio, fake-ws, codex-stdio or codex-ws)")]
    UnknownTarget(String),
    /// The scenarios shipped inside cas could not be unpacked.
    #[error("cannot unpack the shipped scenarios")]
    Unpack(#[source] std::io::Error),
    /// The scenarios could not be selected (unknown name, a file that does not load, …).
    #[error(transparent)]
    Select(#[from] SelectError),
    /// `--transcript-dir` names no folder.
    #[error("--transcript-dir {}: no such folder", .0.display())]
    NoTranscriptDir(PathBuf),
    /// `--st-binary` names no file.
    #[error("--st-binary {}: no such file", .0.display())]
    NoStBinary(PathBuf),
    /// The running cas binary (the fake server) cannot be found.
    #[error("cannot find the cas executable for the fake server")]
    CasExecutable(#[source] std::io::Error),
    /// The protocol surface of the codex could not be had.
    #[error("the protocol surface of {}", bin.display())]
    Surface {
        /// The codex binary.
        bin: PathBuf,
        /// Why generating it failed.
        #[source]
        source: crate::errors::SchemaError,
    },
    /// The codex lacks a method a selected scenario expects a result from.
    #[error("{0}")]
    Incompatible(Box<Incompatible>),
}

/// A suite ready to run: its target, environment, scenarios and the codex it checked.
pub struct PreparedSuite {
    /// The suite's target.
    pub target: TargetName,
    /// Where the scenarios run.
    pub env: TargetEnv,
    /// The scenarios, each with the target it runs on.
    pub selected: Vec<Selected>,
    /// The codex used and its version, when one is needed and was found.
    pub codex: Option<(PathBuf, String)>,
    /// For each selected scenario (same order): why it cannot run on this codex, if it cannot.
    pub not_applicable: Vec<Option<NotApplicable>>,
}

/// Parses the target, selects the scenarios, builds the run environment and checks codex.
pub async fn prepare(config: &SuiteConfig) -> Result<PreparedSuite, SuiteError> {
    let target = TargetName::parse(&config.target)
        .filter(|t| *t != TargetName::Local)
        .ok_or_else(|| SuiteError::UnknownTarget(config.target.clone()))?;
    let dir = match &config.scenarios_dir {
        Some(dir) => dir.clone(),
        None => scenario::shipped::unpack(&scenario::shipped::default_cache())
            .map_err(SuiteError::Unpack)?,
    };
    let mut selected = select::select(&dir, &config.scenarios, target)?;
    if let Some(policy) = config.hooks {
        for s in &mut selected {
            s.scenario.hook_policy = policy;
        }
    }
    if let Some(st) = &config.st_binary {
        if !st.is_file() {
            return Err(SuiteError::NoStBinary(st.clone()));
        }
    }
    if let Some(dir) = config.transcript_dir.as_ref().filter(|d| !d.is_dir()) {
        return Err(SuiteError::NoTranscriptDir(dir.clone()));
    }
    let cas_bin = std::env::current_exe().map_err(SuiteError::CasExecutable)?;
    let env = TargetEnv {
        cas_bin,
        codex: CodexLocator::from_env(config.codex_bin.clone()),
        scratch_root: crate::launch::paths::homes_dir(),
        workspace_root: std::env::temp_dir().join("cas-conformance"),
        keep_temp: config.keep_temp,
        st_binary: config.st_binary.clone(),
        transcript_dir: config.transcript_dir.clone(),
    };
    let on_codex = selected.iter().any(|s| s.target.is_codex());
    let codex = if target.is_codex() || on_codex {
        compat::check_compatibility(&env).await?
    } else {
        None
    };
    let not_applicable = selected
        .iter()
        .map(|s| {
            let c = codex.as_ref().filter(|_| s.target.is_codex())?;
            compat::applicability(&c.surface, &c.flags, &s.scenario, s.target)
        })
        .collect();
    Ok(PreparedSuite {
        target,
        env,
        selected,
        codex: codex.map(|c| (c.bin, c.version)),
        not_applicable,
    })
}

/// Runs the preflight and every scenario; `on_result` sees each scenario's line as it ends.
pub async fn run(
    config: &SuiteConfig,
    prepared: PreparedSuite,
    mut on_result: impl FnMut(&ScenarioResult),
) -> SuiteReport {
    let PreparedSuite {
        target,
        env,
        selected,
        codex,
        not_applicable,
    } = prepared;
    let preflight = if config.skip_smoke_check {
        Preflight::skipped("skipped by flag")
    } else {
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
        })
        .await
    };
    let mut scenarios = Vec::new();
    for (Selected { scenario, target }, na) in selected.iter().zip(not_applicable) {
        if let Some(na) = na {
            let result = ScenarioResult::not_applicable(scenario, *target, na);
            on_result(&result);
            scenarios.push(result);
            continue;
        }
        let started = Instant::now();
        let verdict = scenario::run(scenario, *target, &env).await;
        let ms = started.elapsed().as_millis() as u64;
        let result = ScenarioResult::of(scenario, *target, &verdict, ms);
        on_result(&result);
        scenarios.push(result);
    }
    SuiteReport {
        target,
        codex,
        preflight,
        scenarios,
        require_all: config.require_all,
    }
}

/// The scenarios shipped inside cas (unpacked into the cache), else the source tree's folder.
pub fn default_scenarios_dir() -> PathBuf {
    scenario::shipped::unpack(&scenario::shipped::default_cache())
        .unwrap_or_else(|_| Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios"))
}
