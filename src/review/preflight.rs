//! The codex checks before a review lane starts: resolved, probed, and fit for the lane.
//!
//! What [`crate::runtime`] does for the control lanes (version, protocol surface, hook
//! notifications) is reused; what is the lane's own is the order of refusals: a codex lacking
//! a review method, or a websocket launch flag outside `start --wait`, first
//! (`incompatible_codex_review_runtime`; the lane choice is [`super::select`]'s), then a hook
//! policy it cannot honour (`hooks_unsupported`); every reason is kept for the report's
//! `compatibilityReasons`.

use std::path::PathBuf;

use crate::errors::{Chain, RuntimeError};
use crate::hooks::HookPolicy;
use crate::launch::{self, CodexLocator};
use crate::outcome::{CheckName, CompatibilityVerdict, FailureCode};
use crate::runtime;
use crate::schema::compat::{self, Requirements};

use super::select::{self, Selection};

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
    /// `start --wait`: a codex without websocket flags may then review on stdio.
    pub wait: bool,
}

/// Why cas cannot run the lane on this codex.
#[derive(Debug, Clone)]
pub struct Refusal {
    /// `incompatible_codex_review_runtime` (a review method or launch flag missing), else
    /// `hooks_unsupported`.
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
    /// Every reason the verdict is `incompatible` (empty when compatible).
    pub reasons: Vec<String>,
    /// The stdio lane's selection reason, when the websocket lane cannot run and the stdio
    /// lane can (`None`: the websocket lane, or a refusal).
    pub stdio: Option<String>,
}

/// Resolves and checks the codex for a review lane.
pub async fn check_codex(needs: &CodexNeeds) -> Result<Checked, RuntimeError> {
    let bin = resolve_bin(needs)?;
    let probe_home = runtime::version_home(needs.hermetic)?;
    let mut requirements = Requirements::of(CheckName::ReviewSession, None);
    if needs.hook_setup {
        requirements = requirements.with_hook_setup();
    }
    let check = runtime::check_codex(&bin, &probe_home, &requirements).await?;
    let version = check.version;
    let cached = compat::cached_surface(&bin, &version, &compat::default_cache_dir());
    let flags = compat::launch_flags(cached.as_ref(), &bin, &probe_home).await?;
    let missing = &check.compatibility.missing;
    let (mut reasons, stdio) = split(select::select(&version, missing, &flags, needs.wait));
    let mut refusal = (!reasons.is_empty()).then(|| Refusal {
        code: Some(FailureCode::IncompatibleCodexReviewRuntime),
        hint: reasons.join("; "),
    });
    let mut hooks_unsupported = |hint: String| {
        reasons.push(format!("hooks_unsupported: {hint}"));
        Refusal {
            code: Some(FailureCode::HooksUnsupported),
            hint,
        }
    };
    if needs.hooks != HookPolicy::Inherit && !check.hook_notifications {
        let why = format!("codex {version} sends no hook/started or hook/completed notifications");
        let hooks = hooks_unsupported(format!("--hooks {}: {why}", needs.hooks.as_str()));
        refusal.get_or_insert(hooks);
    }
    let mut server_args = Vec::new();
    if needs.hooks == HookPolicy::Off {
        match launch::disable_hooks_args(&bin, &probe_home).await {
            Ok(extra) => server_args.extend(extra),
            Err(why) => {
                let hooks = hooks_unsupported(format!("--hooks off: {}", Chain(&why)));
                refusal.get_or_insert(hooks);
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
        reasons,
        stdio,
    })
}

/// The codex binary the needs name, absolute: servers run in the review's cwd, so a relative
/// `--codex-bin` must not stay relative.
fn resolve_bin(needs: &CodexNeeds) -> Result<PathBuf, RuntimeError> {
    let bin = CodexLocator::from_env(needs.codex_bin.clone()).resolve()?;
    std::path::absolute(&bin).map_err(|source| RuntimeError::Io { path: bin, source })
}

/// A selection as the incompatibility reasons and the stdio lane's selection reason.
fn split(selection: Selection) -> (Vec<String>, Option<String>) {
    match selection {
        Selection::Websocket => (Vec::new(), None),
        Selection::Stdio { reason } => (Vec::new(), Some(reason)),
        Selection::Incompatible { reasons } => (reasons, None),
    }
}
