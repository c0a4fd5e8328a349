//! What cas and the resolved codex can do together: each command's compatibility verdict and
//! which scenarios can run on that codex (it has every method, notification and launch flag a
//! scenario relies on; see [`super::relies_on`]).

use serde::Serialize;
use std::path::{Path, PathBuf};

use crate::errors::CapabilitiesError;
use crate::launch::{self, CodexLocator, LaunchFlags};
use crate::outcome::CheckName;
use crate::scenario::TargetName;
use crate::schema::compat::{self, Compatibility, Requirements};
use crate::schema::{self as schema_mod, Surface};

/// What the capabilities are asked of: the plain form of `cas capabilities`'s flags.
#[derive(Debug, Clone, Default)]
pub struct CapabilitiesConfig {
    /// The codex binary (default: CAS_CODEX_BIN, the project install, then PATH).
    pub codex_bin: Option<PathBuf>,
    /// The folder of scenario files (default: [`super::default_scenarios_dir`]).
    pub scenarios_dir: Option<PathBuf>,
}

/// The capabilities document (`schemaVersion` 1, `check: "capabilities"`).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Capabilities {
    /// Always 1.
    pub schema_version: u32,
    /// Always `capabilities`.
    pub check: &'static str,
    /// This cas.
    pub cas: CasVersion,
    /// The resolved codex.
    pub codex: CodexVersion,
    /// Each command's verdict on this codex.
    pub commands: CommandVerdicts,
    /// Each scenario with codex targets.
    pub scenarios: Vec<ScenarioCapability>,
}

/// The version of this cas.
#[derive(Debug, Clone, Serialize)]
pub struct CasVersion {
    /// The crate version.
    pub version: &'static str,
}

/// The codex a document speaks about.
#[derive(Debug, Clone, Serialize)]
pub struct CodexVersion {
    /// The binary.
    pub path: PathBuf,
    /// Its version.
    pub version: String,
}

/// The compatibility verdict of each command that drives a codex.
#[derive(Debug, Clone, Serialize)]
pub struct CommandVerdicts {
    /// `cas smoke_check`.
    pub smoke_check: Compatibility,
    /// `cas request` (with `thread/list`).
    pub request: Compatibility,
    /// `cas instance_runner` (with `thread/list`).
    pub instance_runner: Compatibility,
    /// `cas conformance` (before its scenarios are known).
    pub conformance: Compatibility,
    /// `cas review_session` (the review lane's requests and notifications).
    pub review_session: Compatibility,
}

impl CommandVerdicts {
    /// The verdicts in report order, with the command names.
    pub fn iter(&self) -> [(&'static str, &Compatibility); 5] {
        [
            ("smoke_check", &self.smoke_check),
            ("request", &self.request),
            ("instance_runner", &self.instance_runner),
            ("conformance", &self.conformance),
            ("review_session", &self.review_session),
        ]
    }
}

/// Whether one scenario can run on the codex.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ScenarioCapability {
    /// The scenario file's name.
    pub name: String,
    /// The codex targets it lists.
    pub targets: Vec<&'static str>,
    /// Whether it can run on every codex target it lists.
    pub runnable: bool,
    /// What it relies on and the codex lacks (`clientRequest hooks/list`, `launchFlag --disable`),
    /// over all its codex targets.
    pub missing: Vec<String>,
    /// What it relies on: methods and notifications by kind, and its `requires`.
    pub relies_on: Vec<String>,
}

/// Resolves codex, reads its surface and says what can run on it.
pub async fn capabilities(config: &CapabilitiesConfig) -> Result<Capabilities, CapabilitiesError> {
    if let Some(dir) = config.scenarios_dir.as_ref().filter(|d| !d.is_dir()) {
        return Err(CapabilitiesError::NoScenariosDir(dir.clone()));
    }
    let bin = CodexLocator::from_env(config.codex_bin.clone()).resolve()?;
    let scratch = schema_mod::scratch_dir()?;
    let version = launch::codex_version(&bin, &scratch).await?;
    let surface =
        compat::surface_for(&bin, &version, &compat::default_cache_dir(), &scratch).await?;
    let flags = compat::launch_flags(Some(&surface), &bin, &scratch).await?;
    let verdict = |command, method| compat::check(&surface, &Requirements::of(command, method));
    let commands = CommandVerdicts {
        smoke_check: verdict(CheckName::SmokeCheck, None),
        request: verdict(CheckName::Request, Some("thread/list")),
        instance_runner: verdict(CheckName::InstanceRunner, Some("thread/list")),
        conformance: verdict(CheckName::Conformance, None),
        review_session: verdict(CheckName::ReviewSession, None),
    };
    let dir = config
        .scenarios_dir
        .clone()
        .unwrap_or_else(super::default_scenarios_dir);
    if !dir.is_dir() {
        return Err(CapabilitiesError::NoScenariosDir(dir));
    }
    Ok(Capabilities {
        schema_version: 1,
        check: "capabilities",
        cas: CasVersion {
            version: env!("CARGO_PKG_VERSION"),
        },
        codex: CodexVersion { path: bin, version },
        commands,
        scenarios: scenarios(&dir, &surface, &flags),
    })
}

/// Each scenario with codex targets: runnable when the codex has all it relies on.
fn scenarios(dir: &Path, surface: &Surface, flags: &LaunchFlags) -> Vec<ScenarioCapability> {
    let all = super::load_all(dir).map(|(all, _)| all).unwrap_or_default();
    let mut out = Vec::new();
    for s in all {
        let codex_targets: Vec<TargetName> =
            s.targets.iter().copied().filter(|t| t.is_codex()).collect();
        if codex_targets.is_empty() {
            continue;
        }
        let needs = super::relies_on(&s);
        let mut missing: Vec<String> = codex_targets
            .iter()
            .filter_map(|t| super::compat::applicability_of(surface, flags, &needs, *t))
            .flat_map(|na| na.missing)
            .collect();
        missing.sort();
        missing.dedup();
        let relies_on = needs
            .methods
            .iter()
            .map(|m| format!("{} {}", m.kind, m.method))
            .chain(needs.named)
            .collect();
        out.push(ScenarioCapability {
            name: s.name.clone(),
            targets: codex_targets.iter().map(|t| t.as_str()).collect(),
            runnable: missing.is_empty(),
            missing,
            relies_on,
        });
    }
    out
}
