//! The native-review fallback: `codex review` run in the foreground, only when asked.
//!
//! It runs only with `--fallback native-review`, only after the websocket lane failed to come
//! up, and its output is reported as a fallback (`fallbackUsed`, `fallbackTransport`,
//! `fallbackExitCode`, `fallbackOutputText`, `fallbackErrorText`). It is never a detached
//! result, has no handle, and never counts as success.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use super::record::{self, FallbackFacts, ReviewRecord, SelectedTransport};
use super::target::ReviewTarget;
use crate::errors::{Chain, LaunchError};
use crate::launch::{self, MockModel};

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

/// Runs the native review for a lane whose bootstrap failed, within `timeout`, and records it
/// as a fallback (a hermetic lane's gets a fresh home whose model is the mock).
pub async fn after_bootstrap_failure(mut rec: ReviewRecord, timeout: Duration) -> ReviewRecord {
    let mock = if rec.hermetic {
        Some(MockModel::start().await)
    } else {
        None
    };
    let home = match &mock {
        Some(mock) => {
            let home = record::state_root()
                .join("review-homes")
                .join(format!("{}-native", rec.lane_id));
            if let Err(e) = prepare_home(&home, &mock.base_url()) {
                rec.fallback = Some(FallbackFacts {
                    transport: NATIVE_TRANSPORT.into(),
                    error_text: format!("{}: {}", home.display(), os_words(&e)),
                    ..Default::default()
                });
                return rec;
            }
            home
        }
        None => rec.codex_home.clone(),
    };
    let facts = native_review(&rec.codex.path, &home, &rec.cwd, &rec.target, timeout).await;
    rec.transport.selected = SelectedTransport::NativeReview;
    rec.transport.selection_reason = "the websocket lane did not come up and --fallback native-review was given: `codex review` ran in the foreground (not a lane result, no handle)".into();
    rec.fallback = Some(facts);
    rec
}

/// Makes a hermetic home (work folder and config) for the native review.
fn prepare_home(home: &Path, model_base_url: &str) -> Result<(), LaunchError> {
    let work = home.join("work");
    std::fs::create_dir_all(&work).map_err(|source| LaunchError::Prepare {
        what: work.display().to_string(),
        source,
    })?;
    launch::write_hermetic_config(home, model_base_url)
}

/// What went wrong preparing the home: the OS's words for a file that could not be made.
fn os_words(e: &LaunchError) -> String {
    match e {
        LaunchError::Prepare { source, .. } => Chain(source).to_string(),
        other => Chain(other).to_string(),
    }
}
