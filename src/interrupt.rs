//! Interrupts clean up: SIGINT or SIGTERM during a command stops its servers before its
//! temporary folders go, and the command then says it was interrupted.
//!
//! Every child process cas starts to serve it registers its pid here ([`register_child`]) and
//! leaves when reaped ([`unregister_child`]). [`guard`] runs a command's work until it ends or a
//! signal comes; on a signal it first stops every registered child that is still cas's own
//! (SIGTERM, a grace period, SIGKILL) and waits until each is gone, and only then drops the
//! work — so the temporary homes and workspaces the work owns are removed after nothing can
//! write to them any more. This module depends on nothing else of cas.

use std::collections::BTreeSet;
use std::future::Future;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use tokio::signal::unix::{signal, SignalKind};

/// How long stopped children get to exit after SIGTERM before SIGKILL.
const TERM_GRACE: Duration = Duration::from_millis(1500);

/// How long cas waits for SIGKILLed children to be gone.
const KILL_WAIT: Duration = Duration::from_secs(2);

/// The exit code of an interrupted command (128 + SIGINT, as shells report Ctrl-C).
pub const EXIT_CODE: u8 = 130;

/// The live children cas started, by pid.
static CHILDREN: Mutex<BTreeSet<u32>> = Mutex::new(BTreeSet::new());

/// The signal that interrupted a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interrupted {
    /// SIGINT (Ctrl-C).
    Int,
    /// SIGTERM.
    Term,
}

impl Interrupted {
    /// The signal's name, `SIGINT` or `SIGTERM`.
    pub fn name(self) -> &'static str {
        match self {
            Interrupted::Int => "SIGINT",
            Interrupted::Term => "SIGTERM",
        }
    }
}

/// Records a child process cas started, so an interrupt stops it.
pub fn register_child(pid: u32) {
    children().insert(pid);
}

/// Forgets a child once it was reaped.
pub fn unregister_child(pid: u32) {
    children().remove(&pid);
}

fn children() -> std::sync::MutexGuard<'static, BTreeSet<u32>> {
    CHILDREN.lock().unwrap_or_else(|p| p.into_inner())
}

/// Runs `work` to its end, or until SIGINT or SIGTERM: then stops every child first and drops
/// `work` after (which removes what it owns), and says which signal came.
pub async fn guard<F: Future>(work: F) -> Result<F::Output, Interrupted> {
    let (Ok(mut int), Ok(mut term)) = (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) else {
        // Without signal handlers the default action (death) stays; nothing to clean then.
        return Ok(work.await);
    };
    let mut work = Box::pin(work);
    let signal = tokio::select! {
        out = &mut work => return Ok(out),
        _ = int.recv() => Interrupted::Int,
        _ = term.recv() => Interrupted::Term,
    };
    tracing::info!(signal = signal.name(), "interrupted: stopping servers");
    stop_children().await;
    drop(work);
    Err(signal)
}

/// Stops every registered child that is still cas's own: SIGTERM, a grace period, SIGKILL,
/// and waits (bounded) until each is gone or a zombie that can do nothing more.
pub async fn stop_children() {
    let pids: Vec<u32> = children()
        .iter()
        .copied()
        .filter(|p| is_own_child(*p))
        .collect();
    send(&pids, libc::SIGTERM);
    let living = wait_gone(&pids, TERM_GRACE).await;
    send(&living, libc::SIGKILL);
    let stuck = wait_gone(&living, KILL_WAIT).await;
    if !stuck.is_empty() {
        tracing::warn!(?stuck, "children still running after SIGKILL");
    }
}

fn send(pids: &[u32], sig: libc::c_int) {
    for pid in pids {
        if let Ok(pid) = i32::try_from(*pid) {
            // SAFETY: kill(2) on a child of ours (checked by parent pid) with a valid signal.
            unsafe {
                libc::kill(pid, sig);
            }
        }
    }
}

/// Waits up to `within` until none of `pids` is a live child; the ones still alive.
async fn wait_gone(pids: &[u32], within: Duration) -> Vec<u32> {
    let deadline = Instant::now() + within;
    loop {
        let living: Vec<u32> = pids.iter().copied().filter(|p| is_live_child(*p)).collect();
        if living.is_empty() || Instant::now() >= deadline {
            return living;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Whether `pid` is a child of this process (alive or a zombie), so signalling it is safe.
fn is_own_child(pid: u32) -> bool {
    stat_of(pid).is_some_and(|(_, ppid)| ppid == std::process::id())
}

/// Whether `pid` is a child of this process that has not yet exited.
fn is_live_child(pid: u32) -> bool {
    stat_of(pid).is_some_and(|(state, ppid)| ppid == std::process::id() && state != 'Z')
}

/// The state letter and parent pid of `pid`, from `/proc/<pid>/stat`.
fn stat_of(pid: u32) -> Option<(char, u32)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // pid (comm) state ppid …; comm may hold spaces, so split after the last ')'.
    let mut fields = stat.rsplit_once(')')?.1.split_whitespace();
    let state = fields.next()?.chars().next()?;
    let ppid = fields.next()?.parse().ok()?;
    Some((state, ppid))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn stopping_children_ends_a_registered_child_and_leaves_others_alone() {
        let mut child = tokio::process::Command::new("sleep")
            .arg("30")
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let pid = child.id().unwrap();
        register_child(pid);
        assert!(is_live_child(pid));
        stop_children().await;
        assert!(!is_live_child(pid), "the child is gone or a zombie");
        let status = child.wait().await.unwrap();
        unregister_child(pid);
        assert!(!status.success());
        // Not our child: never signalled.
        assert!(!is_own_child(1));
    }

    #[test]
    fn signals_have_their_names() {
        assert_eq!(Interrupted::Int.name(), "SIGINT");
        assert_eq!(Interrupted::Term.name(), "SIGTERM");
    }
}
