//! Installing a hooks.json in a home cas owns and trusting its hooks through a throwaway server.
//!
//! Freshly installed hooks are untrusted and silently skipped, so before the real server starts
//! cas runs one on the same home, without any `--disable` (a server with hooks disabled lists
//! none, so it could trust none), and trusts every hook it lists. The hook rules themselves
//! (the file, `hooks/list`, `hooks.state`) are [`crate::hooks`]'s; starting the server is ours.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use super::ServerSpec;
use crate::errors::HooksSetupError;
use crate::policy::ServerRequestPolicy;
use crate::protocol::ClientInfo;
use crate::session::Session;

/// How long the throwaway server may take for the handshake and each request.
const SETUP_DEADLINE: Duration = Duration::from_secs(20);

/// Installs `hooks_json` in `codex_home` (`${HOOKS_DIR}` standing for `hooks_dir`) and trusts
/// its hooks; returns how many it trusted.
pub async fn install_and_trust(
    bin: &Path,
    codex_home: &Path,
    cwd: &Path,
    hooks_json: &str,
    hooks_dir: &Path,
) -> Result<usize, HooksSetupError> {
    crate::hooks::install(codex_home, hooks_json, hooks_dir)
        .map_err(|source| HooksSetupError::Install { source })?;
    let spec = ServerSpec {
        bin: bin.to_owned(),
        codex_home: codex_home.to_owned(),
        cwd: cwd.to_owned(),
        extra_args: Vec::new(),
        env: Vec::new(),
    };
    let connection = spec.spawn_stdio().map_err(Box::new)?;
    let session = Session::start(connection, Arc::new(ServerRequestPolicy::default()));
    let outcome = async {
        let client = ClientInfo::named("cas-hooks-setup");
        session.initialize(&client, SETUP_DEADLINE).await?;
        crate::hooks::trust_all(&session, cwd, SETUP_DEADLINE).await
    }
    .await;
    session.shutdown(Duration::from_secs(2)).await;
    tracing::debug!(home = %codex_home.display(), ?outcome, "hooks installed and trusted");
    outcome
}
