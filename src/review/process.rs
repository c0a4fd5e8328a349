//! The processes of a lane: the detached host, the managed server, and whether each still lives.
//!
//! The host is started in its own session (`setsid`) with stdio detached (stderr to a log
//! file), so it outlives the `cas review_session start` that launched it and ignores that
//! terminal's signals. The server is the host's child, started with `PR_SET_PDEATHSIG` so that
//! it dies with its host whatever kills the host. A pid is only trusted together with the
//! process start time recorded for it, so a reused pid is never mistaken for the lane's process.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use tokio::time::Instant;

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

/// Waits up to `within` for the process to be gone.
pub async fn gone_within(pid: Option<u32>, ticks: Option<u64>, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    while alive(pid, ticks) {
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    true
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

/// A managed `codex app-server --listen ws://127.0.0.1:0`, child of the host.
pub struct ManagedServer {
    /// The process (killed on drop).
    pub child: tokio::process::Child,
    /// Its pid.
    pub pid: u32,
    /// Its start time.
    pub ticks: Option<u64>,
    /// The listen URL from its banner.
    pub url: String,
}

/// Starts the server with the capability token in `token_file`, stderr appended to
/// `stderr_log`, and waits up to `deadline` for its banner in that log.
pub async fn spawn_server(
    spec: &crate::launch::ServerSpec,
    token_file: &Path,
    stderr_log: &Path,
    deadline: Duration,
) -> Result<ManagedServer, String> {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(stderr_log)
        .map_err(|e| format!("{}: {e}", stderr_log.display()))?;
    let start_len = log.metadata().map(|m| m.len()).unwrap_or(0);
    let mut command = tokio::process::Command::new(&spec.bin);
    command
        .arg("app-server")
        .args([
            "--listen",
            "ws://127.0.0.1:0",
            "--ws-auth",
            "capability-token",
        ])
        .arg("--ws-token-file")
        .arg(token_file)
        .args(&spec.extra_args)
        .env("CODEX_HOME", &spec.codex_home)
        .env("RUST_LOG", "warn")
        .current_dir(&spec.cwd)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .kill_on_drop(true);
    // SAFETY: prctl(2) is async-signal-safe; the server gets SIGTERM when the host dies.
    unsafe {
        command.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
            Ok(())
        });
    }
    let mut child = command
        .spawn()
        .map_err(|e| format!("starting {}: {e}", spec.bin.display()))?;
    let pid = child.id().ok_or("the server exited at once")?;
    let ticks = start_ticks(pid);
    let url = wait_for_banner(&mut child, stderr_log, start_len, deadline).await?;
    Ok(ManagedServer {
        child,
        pid,
        ticks,
        url,
    })
}

async fn wait_for_banner(
    child: &mut tokio::process::Child,
    log: &Path,
    from: u64,
    deadline: Duration,
) -> Result<String, String> {
    let until = Instant::now() + deadline;
    loop {
        let text = std::fs::read(log).unwrap_or_default();
        let fresh = String::from_utf8_lossy(text.get(from as usize..).unwrap_or_default());
        if let Some(url) = fresh
            .lines()
            .find_map(|l| l.trim().strip_prefix("listening on: ").map(str::trim))
            .filter(|u| u.starts_with("ws://"))
        {
            return Ok(url.to_owned());
        }
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!(
                "codex app-server exited ({status}) before listening; stderr tail:\n{}",
                tail(&fresh, 15)
            ));
        }
        if Instant::now() >= until {
            let _ = child.start_kill();
            return Err(format!(
                "codex app-server printed no `listening on: ws://…` within {deadline:?}; stderr tail:\n{}",
                tail(&fresh, 15)
            ));
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// The last `n` lines of `text`.
pub fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// The last `n` lines of a file (empty if unreadable).
pub fn file_tail(path: &Path, n: usize) -> String {
    let text = std::fs::read(path).unwrap_or_default();
    tail(&String::from_utf8_lossy(&text), n)
}

/// Ends the server: SIGTERM, up to `grace` to exit, then SIGKILL; reaped either way.
pub async fn reap(server: &mut ManagedServer, grace: Duration) {
    if let Ok(Some(_)) = server.child.try_wait() {
        return;
    }
    if let Ok(pid) = i32::try_from(server.pid) {
        // SAFETY: kill(2) on our own unreaped child.
        unsafe {
            libc::kill(pid, libc::SIGTERM);
        }
    }
    if tokio::time::timeout(grace, server.child.wait())
        .await
        .is_err()
    {
        let _ = server.child.start_kill();
        let _ = tokio::time::timeout(Duration::from_secs(5), server.child.wait()).await;
    }
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
