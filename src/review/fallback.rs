//! The native-review fallback: `codex review` run in the foreground, only when asked.
//!
//! It runs only with `--fallback native-review`, only after the websocket lane failed to come
//! up, and its output is reported as a fallback (`fallbackUsed`, `fallbackTransport`,
//! `fallbackExitCode`, `fallbackOutputText`, `fallbackErrorText`). It is never a detached
//! result, has no handle, and never counts as success.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use super::record::FallbackFacts;
use super::target::ReviewTarget;

/// What `fallbackTransport` says.
pub const NATIVE_TRANSPORT: &str = "native-review (codex review, stdio, no app-server)";

/// Runs `codex review` for `target` in `cwd` with `codex_home`, within `timeout`.
pub async fn native_review(
    bin: &Path,
    codex_home: &Path,
    cwd: &Path,
    target: &ReviewTarget,
    timeout: Duration,
) -> FallbackFacts {
    let mut command = tokio::process::Command::new(bin);
    command.arg("review");
    match target {
        ReviewTarget::UncommittedChanges => {
            command.arg("--uncommitted");
        }
        ReviewTarget::BaseBranch { branch } => {
            command.args(["--base", branch]);
        }
        ReviewTarget::Commit { sha, title } => {
            command.args(["--commit", sha]);
            if let Some(title) = title {
                command.args(["--title", title]);
            }
        }
        ReviewTarget::Custom { instructions } => {
            command.arg(instructions);
        }
    }
    command
        .env("CODEX_HOME", codex_home)
        .current_dir(cwd)
        .stdin(Stdio::null())
        .kill_on_drop(true);
    let mut facts = FallbackFacts {
        transport: NATIVE_TRANSPORT.into(),
        ..FallbackFacts::default()
    };
    match tokio::time::timeout(timeout, command.output()).await {
        Err(_) => {
            facts.error_text = format!("codex review did not finish within {timeout:?} (killed)")
        }
        Ok(Err(e)) => facts.error_text = format!("codex review could not start: {e}"),
        Ok(Ok(out)) => {
            facts.exit_code = out.status.code();
            facts.output_text = String::from_utf8_lossy(&out.stdout).into_owned();
            facts.error_text = super::process::tail(&String::from_utf8_lossy(&out.stderr), 40);
        }
    }
    facts
}
