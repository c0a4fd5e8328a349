//! The conformance suite: a smoke preflight, then every selected scenario, one typed report.
//!
//! [`prepare`] parses the target, selects the scenarios, builds the run environment (with a
//! codex template home when a scenario runs on codex) and checks that the codex has what they
//! rely on; [`run`] runs the preflight and the scenarios, up to `jobs` at once, each in its own
//! workspace, and returns the [`SuiteReport`]. `cas conformance` is a thin front over the two.
//! A [`SuiteError`] means cas could not run the suite (the command exits 2).

mod capabilities;
mod compat;
pub mod list;
pub mod live;
mod preflight;
mod report;
mod runner;
mod select;
mod status;
pub mod summary;

use std::path::{Path, PathBuf};

use crate::hooks::HookPolicy;
use crate::launch::CodexLocator;
use crate::scenario::{self, TargetName};
use crate::target::TargetEnv;

pub use capabilities::{
    capabilities, Capabilities, CapabilitiesConfig, CasVersion, CodexVersion, CommandVerdicts,
    ScenarioCapability,
};
pub use compat::{
    applicability, check_compatibility, relies_on, Incompatible, NotApplicable, ReliesOn,
    SuiteCodex,
};
pub use preflight::{Preflight, PreflightStatus};
pub use report::{ScenarioResult, SuiteReport};
pub use runner::run;
pub use select::{is_glob, load_all, run_target, select, Broken, SelectError, Selected, Selection};
pub use status::{diff_lines, Conclusion, FailedStep};

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
    /// Names and globs of scenarios not to run.
    pub exclude: Vec<String>,
    /// How many scenarios run at once (0 counts as 1).
    pub jobs: usize,
    /// Start no scenario after one that is not ok.
    pub fail_fast: bool,
    /// `NAME=VALUE` overrides of the scenarios' vars.
    pub vars: Vec<(String, String)>,
    /// Count a scenario not applicable to this codex as a failure.
    pub require_all: bool,
    /// Keep every scenario's transcript in this folder (failing ones are kept in their workspace).
    pub transcript_dir: Option<PathBuf>,
    /// How long the whole smoke preflight may take (default 120 s).
    pub preflight_timeout: Option<std::time::Duration>,
    /// The smoke preflight's per-request deadline, in ms (passed to smoke_check).
    pub request_timeout_ms: Option<u64>,
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
    /// `--var NAME=VALUE` names a var no selected scenario has.
    #[error("--var {0}: no selected scenario has a var of that name")]
    UnknownVar(String),
}

/// A suite ready to run: its target, environment, scenarios and the codex it checked.
pub struct PreparedSuite {
    /// The suite's target.
    pub target: TargetName,
    /// Where the scenarios run.
    pub env: TargetEnv,
    /// The scenarios, each with the target it runs on, and the files that did not load.
    pub selection: Selection,
    /// The codex used and its version, when one is needed and was found.
    pub codex: Option<(PathBuf, String)>,
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
    let mut selection = select::select(&dir, &config.scenarios, &config.exclude, target)?;
    override_vars(&mut selection.selected, &config.vars)?;
    if let Some(policy) = config.hooks {
        for s in &mut selection.selected {
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
        workspace_root: crate::launch::paths::workspaces_dir(),
        keep_temp: config.keep_temp,
        st_binary: config.st_binary.clone(),
        codex_template: None,
        transcript_dir: config.transcript_dir.clone(),
    };
    let on_codex = selection.selected.iter().any(|s| s.target.is_codex());
    let codex = if target.is_codex() || on_codex {
        compat::check_compatibility(&env).await?
    } else {
        None
    };
    if let Some(c) = &codex {
        for s in selection
            .selected
            .iter_mut()
            .filter(|s| s.target.is_codex())
        {
            s.not_applicable = compat::applicability(&c.surface, &c.flags, &s.scenario, s.target);
        }
    }
    Ok(PreparedSuite {
        target,
        env,
        selection,
        codex: codex.map(|c| (c.bin, c.version)),
    })
}

/// Sets each `--var NAME=VALUE` on every selected scenario that has that var; a name no
/// selected scenario has is refused (a typo would otherwise change nothing).
fn override_vars(selected: &mut [Selected], vars: &[(String, String)]) -> Result<(), SuiteError> {
    for (name, value) in vars {
        let mut used = false;
        for s in selected.iter_mut() {
            if let Some(slot) = s.scenario.vars.get_mut(name) {
                *slot = value.clone();
                used = true;
            }
        }
        if !used {
            return Err(SuiteError::UnknownVar(name.clone()));
        }
    }
    Ok(())
}

/// The scenarios shipped inside cas (unpacked into the cache), else the source tree's folder.
pub fn default_scenarios_dir() -> PathBuf {
    scenario::shipped::unpack(&scenario::shipped::default_cache())
        .unwrap_or_else(|_| Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios"))
}
