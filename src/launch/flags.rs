//! Which launch flags a codex's `app-server` accepts, read once from its `--help`.
//!
//! Flags come and go between codex versions; cas asks the binary instead of assuming. The help
//! text is probed with a deadline, and each option line (`  -c, --config <key=value>`,
//! `      --disable <FEATURE>`) contributes the flags it names.

use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use crate::errors::LaunchError;

/// How long `codex app-server --help` may take.
const HELP_DEADLINE: Duration = Duration::from_secs(20);

/// The launch flags of `codex app-server` that cas uses, and whether this codex lists each.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LaunchFlags {
    /// `--strict-config`: refuse unknown config fields.
    pub strict_config: bool,
    /// `--listen URL`: the transport endpoint (websocket).
    pub listen: bool,
    /// `--ws-auth MODE`: websocket authentication.
    pub ws_auth: bool,
    /// `--ws-token-file PATH`: the capability-token file.
    pub ws_token_file: bool,
    /// `--disable FEATURE`: turn a feature off.
    pub disable: bool,
    /// `-c key=value`: a config override.
    pub config_override: bool,
}

impl LaunchFlags {
    /// Reads the flags an `app-server --help` text lists.
    pub fn parse(help: &str) -> LaunchFlags {
        let listed: Vec<&str> = help
            .lines()
            .map(str::trim_start)
            .filter(|line| line.starts_with('-'))
            .flat_map(|line| line.split(|c: char| c.is_whitespace() || c == ',' || c == '='))
            .filter(|token| token.starts_with('-'))
            .collect();
        let has = |flag: &str| listed.contains(&flag);
        LaunchFlags {
            strict_config: has("--strict-config"),
            listen: has("--listen"),
            ws_auth: has("--ws-auth"),
            ws_token_file: has("--ws-token-file"),
            disable: has("--disable"),
            config_override: has("-c"),
        }
    }

    /// Whether a websocket server with a capability token can be started.
    pub fn websocket(&self) -> bool {
        self.websocket_missing().is_none()
    }

    /// The first flag a websocket server with a capability token needs and this codex lacks.
    pub fn websocket_missing(&self) -> Option<&'static str> {
        self.websocket_missing_all().first().copied()
    }

    /// Every flag a websocket server with a capability token needs and this codex lacks, in
    /// launch order.
    pub fn websocket_missing_all(&self) -> Vec<&'static str> {
        [
            (self.listen, "--listen"),
            (self.ws_auth, "--ws-auth"),
            (self.ws_token_file, "--ws-token-file"),
        ]
        .into_iter()
        .filter_map(|(has, flag)| (!has).then_some(flag))
        .collect()
    }

    /// Refuses a websocket lane on a codex that lacks one of its flags, naming it.
    pub fn require_websocket(&self) -> Result<(), LaunchError> {
        match self.websocket_missing() {
            None => Ok(()),
            Some(flag) => Err(LaunchError::MissingLaunchFlag {
                flag,
                needed_for: "a websocket server with a capability token",
            }),
        }
    }

    /// The arguments every hermetic server gets: `--strict-config` where it is accepted.
    pub fn base_args(&self) -> Vec<String> {
        if self.strict_config {
            vec!["--strict-config".to_owned()]
        } else {
            Vec::new()
        }
    }

    /// The flags, by their command-line spelling, this codex lists.
    pub fn listed(&self) -> Vec<&'static str> {
        [
            (self.strict_config, "--strict-config"),
            (self.listen, "--listen"),
            (self.ws_auth, "--ws-auth"),
            (self.ws_token_file, "--ws-token-file"),
            (self.disable, "--disable"),
            (self.config_override, "-c"),
        ]
        .into_iter()
        .filter_map(|(has, flag)| has.then_some(flag))
        .collect()
    }
}

/// Flags already probed in this process, by binary (a binary's help does not change under it).
static PROBED: Mutex<Option<HashMap<PathBuf, LaunchFlags>>> = Mutex::new(None);

/// [`probe`], once per binary per process.
pub async fn probe_cached(bin: &Path, codex_home: &Path) -> Result<LaunchFlags, LaunchError> {
    let known = PROBED
        .lock()
        .ok()
        .and_then(|m| m.as_ref().and_then(|m| m.get(bin).copied()));
    if let Some(flags) = known {
        return Ok(flags);
    }
    let flags = probe(bin, codex_home).await?;
    if let Ok(mut memo) = PROBED.lock() {
        memo.get_or_insert_with(HashMap::new)
            .insert(bin.to_owned(), flags);
    }
    Ok(flags)
}

/// Takes `flags` as `bin`'s for the rest of the process (read elsewhere: a cached surface keeps
/// them), so [`probe_cached`] does not ask the binary again.
pub fn remember(bin: &Path, flags: LaunchFlags) {
    if let Ok(mut memo) = PROBED.lock() {
        memo.get_or_insert_with(HashMap::new)
            .insert(bin.to_owned(), flags);
    }
}

/// Runs `codex app-server --help` (with `codex_home` as CODEX_HOME) within a deadline and
/// reads the launch flags it lists.
pub async fn probe(bin: &Path, codex_home: &Path) -> Result<LaunchFlags, LaunchError> {
    let mut help = tokio::process::Command::new(bin);
    help.args(["app-server", "--help"])
        .env("CODEX_HOME", codex_home)
        .kill_on_drop(true);
    let output = tokio::time::timeout(HELP_DEADLINE, help.output())
        .await
        .map_err(|_| LaunchError::HelpTimeout)?
        .map_err(|source| LaunchError::Help { source })?;
    let flags = LaunchFlags::parse(&String::from_utf8_lossy(&output.stdout));
    tracing::debug!(bin = %bin.display(), ?flags, "app-server launch flags");
    Ok(flags)
}

/// The `app-server` arguments that turn hooks off (`--disable hooks`, or the older
/// `codex_hooks`), or why this codex cannot turn them off.
pub async fn disable_hooks_args(bin: &Path, codex_home: &Path) -> Result<Vec<String>, LaunchError> {
    if !probe_cached(bin, codex_home).await?.disable {
        return Err(LaunchError::NoDisableFlag);
    }
    match crate::hooks::feature_name(bin, codex_home).await {
        Some(name) => Ok(vec!["--disable".into(), name.into()]),
        None => Err(LaunchError::NoHooksFeature),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_flags_of_option_lines_only() {
        let help = "Usage: codex app-server [OPTIONS]\n\nOptions:\n  -c, --config <key=value>\n          Override, e.g. `--disable` is not listed here\n      --strict-config\n      --listen <URL>\n      --ws-auth <MODE>\n      --ws-token-file <PATH>\n  -h, --help\n";
        let flags = LaunchFlags::parse(help);
        assert_eq!(
            flags,
            LaunchFlags {
                strict_config: true,
                listen: true,
                ws_auth: true,
                ws_token_file: true,
                disable: false,
                config_override: true,
            }
        );
        assert!(flags.websocket());
        assert_eq!(flags.base_args(), ["--strict-config"]);
        assert!(LaunchFlags::parse("      --disable <FEATURE>\n").disable);
    }

    #[test]
    fn a_codex_without_a_flag_gets_none_and_a_lane_needing_it_is_refused_naming_it() {
        // The shape of codex 0.118.0's help: no --strict-config, no websocket token flags.
        let old =
            LaunchFlags::parse("Options:\n  -c, --config <key=value>\n      --listen <URL>\n");
        assert!(old.base_args().is_empty());
        assert_eq!(old.websocket_missing(), Some("--ws-auth"));
        assert_eq!(
            old.websocket_missing_all(),
            ["--ws-auth", "--ws-token-file"]
        );
        let err = old.require_websocket().unwrap_err();
        assert!(
            matches!(
                err,
                LaunchError::MissingLaunchFlag {
                    flag: "--ws-auth",
                    ..
                }
            ),
            "{err}"
        );
        assert!(err.to_string().contains("--ws-auth"), "{err}");
        assert_eq!(old.listed(), ["--listen", "-c"]);
    }
}
