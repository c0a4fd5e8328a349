//! The processes of a lane: the detached host, and whether the host and its server still live.
//!
//! The host is started in its own session (`setsid`) with stdio detached (stderr to a log
//! file), so it outlives the `cas review_session start` that launched it and ignores that
//! terminal's signals. The server is the host's child, started by
//! [`ServerSpec::spawn_managed`](crate::launch::ServerSpec::spawn_managed) with
//! `PR_SET_PDEATHSIG` so that it dies with its host whatever kills the host. A pid is only
//! trusted together with the process start time recorded for it, so a reused pid is never
//! mistaken for the lane's process.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use crate::errors::ReviewError;

/// The start time of `pid` in clock ticks since boot (`/proc/<pid>/stat` field 22), if it
/// exists and is not a zombie.
pub fn start_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // rest starts at field 3 (state); field 22 is index 19 here.
    if fields.first() == Some(&"Z") {
        return None;
    }
    fields.get(19)?.parse().ok()
}

/// Whether the process `pid` that started at `ticks` is still alive.
pub fn alive(pid: Option<u32>, ticks: Option<u64>) -> bool {
    match (pid, ticks) {
        (Some(pid), Some(ticks)) => start_ticks(pid) == Some(ticks),
        _ => false,
    }
}

/// Sends `signal` to `pid` if it is still the process that started at `ticks`.
pub fn signal(pid: Option<u32>, ticks: Option<u64>, signal: i32) -> bool {
    let (Some(pid), true) = (pid, alive(pid, ticks)) else {
        return false;
    };
    let Ok(pid) = i32::try_from(pid) else {
        return false;
    };
    // SAFETY: kill(2) with a valid signal on a pid checked against its start time.
    unsafe { libc::kill(pid, signal) == 0 }
}

/// Starts `cas review_session host --lane-dir DIR` detached: a new session, stdin and stdout
/// on /dev/null, stderr appended to `log`. Returns its pid.
pub fn spawn_host(lane_dir: &Path, log: &Path) -> Result<u32, ReviewError> {
    let exe = std::env::current_exe().map_err(|e| ReviewError::io("the cas executable", e))?;
    let stderr = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .map_err(|e| ReviewError::io(log.display(), e))?;
    let mut command = std::process::Command::new(exe);
    command
        .args(["review_session", "host", "--lane-dir"])
        .arg(lane_dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(stderr);
    // The host logs through cas's one subscriber to its stderr, the lane's log: at `info`
    // (what the host did) unless the user chose a filter.
    if std::env::var_os("RUST_LOG").is_none_or(|v| v.is_empty()) {
        command.env("RUST_LOG", "info");
    }
    // SAFETY: setsid(2) is async-signal-safe and touches no memory of the parent.
    unsafe {
        command.pre_exec(|| {
            libc::setsid();
            Ok(())
        });
    }
    let child = command
        .spawn()
        .map_err(|e| ReviewError::io("starting the lane host", e))?;
    Ok(child.id())
}

pub use crate::launch::server::tail;

/// The last `n` lines of a file (empty if unreadable).
pub fn file_tail(path: &Path, n: usize) -> String {
    let text = std::fs::read(path).unwrap_or_default();
    tail(&String::from_utf8_lossy(&text), n)
}

/// A lane's private folder under cas's state folder (mode 0700): spec, ready file, host log,
/// server stderr log and the token file.
pub fn lane_dir(lane_id: &str) -> Result<PathBuf, ReviewError> {
    use std::os::unix::fs::PermissionsExt;
    let dir = super::record::state_root()
        .join("review-lanes")
        .join(lane_id);
    std::fs::create_dir_all(&dir).map_err(|e| ReviewError::io(dir.display(), e))?;
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))
        .map_err(|e| ReviewError::io(dir.display(), e))?;
    Ok(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn knows_its_own_process_and_not_a_made_up_one() {
        let me = std::process::id();
        let ticks = start_ticks(me);
        assert!(ticks.is_some());
        assert!(alive(Some(me), ticks));
        assert!(!alive(Some(me), ticks.map(|t| t + 1)));
        assert!(!alive(None, ticks));
        assert_eq!(tail("a\nb\nc", 2), "b\nc");
    }
}
