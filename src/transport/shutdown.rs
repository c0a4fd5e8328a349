//! Ending a child process gracefully: SIGTERM, a grace period, then SIGKILL, reaped either way.
//!
//! The one process-ending primitive of cas. It imports nothing of the crate, so the transport
//! (which owns stdio children) and the launcher (which owns managed servers) share it.

use std::process::ExitStatus;
use std::time::Duration;
use tokio::process::Child;

/// How long to wait for a SIGKILLed child to be reaped.
const KILL_REAP_WAIT: Duration = Duration::from_secs(5);

/// Ends `child`: SIGTERM, up to `grace` to exit, then SIGKILL; reaped either way.
///
/// A child that already exited is only reaped. Returns its exit status, or `None` when it
/// could not be reaped within the deadlines.
pub async fn terminate(child: &mut Child, grace: Duration) -> Option<ExitStatus> {
    if let Ok(Some(status)) = child.try_wait() {
        return Some(status);
    }
    // `id()` is None once the child was reaped, so the pid cannot be a reused one.
    let pid = child.id();
    if let Some(pid) = pid.and_then(|p| i32::try_from(p).ok()) {
        // SAFETY: kill(2) on our own unreaped child with a valid signal.
        unsafe {
            libc::kill(pid, libc::SIGTERM);
        }
    }
    if let Ok(Ok(status)) = tokio::time::timeout(grace, child.wait()).await {
        tracing::debug!(?pid, %status, "child ended after SIGTERM");
        return Some(status);
    }
    let _ = child.start_kill();
    let status = tokio::time::timeout(KILL_REAP_WAIT, child.wait())
        .await
        .ok()
        .and_then(Result::ok);
    tracing::debug!(?pid, ?status, ?grace, "child killed after its grace period");
    status
}
