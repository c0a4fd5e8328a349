//! The codex checks before a review lane starts: resolved, probed, and fit for the lane.
//!
//! What [`crate::runtime`] does for the control lanes (version, protocol surface, hook
//! notifications) is reused; what is the lane's own is the order of refusals: a codex lacking
//! a review method first (no failure code), then a hook policy it cannot honour
//! (`hooks_unsupported`).

use std::path::PathBuf;

use crate::errors::{Chain, RuntimeError};
use crate::hooks::HookPolicy;
use crate::launch::{self, CodexLocator};
use crate::outcome::{CheckName, CompatibilityVerdict, FailureCode};
use crate::runtime;
use crate::schema::compat::Requirements;

/// Which codex a lane asks for and what it needs of it.
#[derive(Debug, Clone)]
pub struct CodexNeeds {
    /// The codex binary flag (default: CAS_CODEX_BIN, the project install, then PATH).
    pub codex_bin: Option<PathBuf>,
    /// Whether the lane's home is hermetic (the version is then asked in a scratch home).
    pub hermetic: bool,
    /// What cas lets codex's hooks do.
    pub hooks: HookPolicy,
    /// Whether a hooks.json is to be installed (which needs `hooks/list`, `config/batchWrite`).
    pub hook_setup: bool,
}

/// Why cas cannot run the lane on this codex.
#[derive(Debug, Clone)]
pub struct Refusal {
    /// `hooks_unsupported`, or none when the codex lacks a method the lane sends.
    pub code: Option<FailureCode>,
    /// What is wrong, in a sentence.
    pub hint: String,
}

/// What the codex checks found.
#[derive(Debug, Clone)]
pub struct Checked {
    /// The codex binary, absolute.
    pub bin: PathBuf,
    /// What `codex --version` said.
    pub version: String,
    /// Incompatible whenever there is a refusal.
    pub verdict: CompatibilityVerdict,
    /// Why the lane cannot run, if it cannot.
    pub refusal: Option<Refusal>,
    /// The server flags that switch hooks off (`--hooks off`).
    pub server_args: Vec<String>,
}

/// Resolves and checks the codex for a review lane.
pub async fn check_codex(needs: &CodexNeeds) -> Result<Checked, RuntimeError> {
    let bin = CodexLocator::from_env(needs.codex_bin.clone()).resolve()?;
    // Servers run in the review's cwd, so a relative --codex-bin must not stay relative.
    let bin = std::path::absolute(&bin).map_err(|source| RuntimeError::Io {
        path: bin.clone(),
        source,
    })?;
    let probe_home = runtime::version_home(needs.hermetic)?;
    let mut requirements = Requirements::of(CheckName::ReviewSession, None);
    if needs.hook_setup {
        requirements = requirements.with_hook_setup();
    }
    let check = runtime::check_codex(&bin, &probe_home, &requirements).await?;
    let version = check.version;
    let mut refusal = None;
    if !check.compatibility.is_compatible() {
        let missing: Vec<String> = check
            .compatibility
            .missing
            .iter()
            .map(|m| m.method.clone())
            .collect();
        let hint = format!("codex {version} lacks {}", missing.join(", "));
        refusal = Some(Refusal { code: None, hint });
    }
    let hooks_unsupported = |hint: String| Refusal {
        code: Some(FailureCode::HooksUnsupported),
        hint,
    };
    if needs.hooks != HookPolicy::Inherit && !check.hook_notifications {
        let why = format!("codex {version} sends no hook/started or hook/completed notifications");
        refusal.get_or_insert(hooks_unsupported(format!(
            "--hooks {}: {why}",
            needs.hooks.as_str()
        )));
    }
    let mut server_args = Vec::new();
    if needs.hooks == HookPolicy::Off {
        match launch::disable_hooks_args(&bin, &probe_home).await {
            Ok(extra) => server_args = extra,
            Err(why) => {
                refusal.get_or_insert(hooks_unsupported(format!("--hooks off: {}", Chain(&why))));
            }
        }
    }
    let verdict = if refusal.is_some() {
        CompatibilityVerdict::Incompatible
    } else {
        CompatibilityVerdict::Compatible
    };
    Ok(Checked {
        bin,
        version,
        verdict,
        refusal,
        server_args,
    })
}
