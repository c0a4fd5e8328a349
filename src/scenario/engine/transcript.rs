//! A scenario run's transcript: opened in its workspace, fed by the target's connection and
//! mock model, and kept where the verdict says.
//!
//! Every run with a server writes `transcript.ndjson` in its workspace, so a failing run (whose
//! workspace is kept) keeps its transcript; with `--transcript-dir DIR` every run's transcript
//! is also copied to `DIR/<scenario>@<target>.ndjson` (`/` in the name becomes `__`).

use std::path::PathBuf;
use std::sync::Arc;

use super::super::format::TargetName;
use super::super::load::Scenario;
use super::super::workspace::Workspace;
use crate::target::{Launched, TargetEnv};
use crate::transcript::Transcript;
use crate::verdict::Verdict;

/// The transcript's file name inside a workspace.
pub(crate) const FILE_NAME: &str = "transcript.ndjson";

/// Opens the run's transcript in its workspace; none for a run without a server, or when the
/// file cannot be made (the run goes on without one).
pub(super) fn open(
    scenario: &Scenario,
    target: TargetName,
    workspace: &Workspace,
) -> Option<Arc<Transcript>> {
    if !scenario.needs_server() {
        return None;
    }
    let path = workspace.path().join(FILE_NAME);
    let label = format!("{}::{target}", scenario.name);
    match Transcript::create(&path, &label) {
        Ok(t) => Some(t),
        Err(e) => {
            tracing::warn!(path = %path.display(), error = %e, "no transcript for this run");
            None
        }
    }
}

/// Lets the transcript see the target's connection (as `main`), its stderr and its mock model.
pub(super) fn attach(transcript: &Arc<Transcript>, launched: &Launched) {
    launched.connection.attach_tap(transcript.tap("main"));
    if let Some(mock) = launched.guard.mock_model() {
        mock.tap_requests(transcript.model_tap());
    }
}

/// Copies the transcript to `--transcript-dir` when one was given (before the workspace may
/// go); the copy's path.
pub(super) fn copy_to_dir(
    transcript: Option<&Arc<Transcript>>,
    scenario: &Scenario,
    target: TargetName,
    env: &TargetEnv,
) -> Option<PathBuf> {
    let (source, dir) = (transcript?.path()?, env.transcript_dir.as_ref()?);
    let copy = dir.join(format!(
        "{}@{target}.ndjson",
        scenario.name.replace('/', "__")
    ));
    match std::fs::copy(&source, &copy) {
        Ok(_) => Some(copy),
        Err(e) => {
            tracing::warn!(path = %copy.display(), error = %e, "transcript not copied");
            None
        }
    }
}

/// Where the verdict says the transcript is: the copy, else the kept workspace's file.
pub(super) fn kept(
    transcript: Option<&Arc<Transcript>>,
    copy: Option<PathBuf>,
    verdict: &Verdict,
) -> Option<PathBuf> {
    transcript?;
    copy.or_else(|| verdict.workspace.as_ref().map(|w| w.join(FILE_NAME)))
}
