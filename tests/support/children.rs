//! A census of this process's live children, to prove that no server outlives its trial.

/// The other live (non-zombie) processes: pid, parent pid and command line (NULs as spaces).
pub fn live_processes() -> Vec<(u32, u32, String)> {
    live_pids()
        .into_iter()
        .map(|(pid, ppid)| (pid, ppid, cmdline(pid)))
        .collect()
}

/// The other live (non-zombie) processes as `(pid, parent pid)`: one walk of `/proc`.
fn live_pids() -> Vec<(u32, u32)> {
    let me = std::process::id();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for entry in entries.flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // pid (comm) state ppid …; comm may contain spaces, so split after the last ')'.
        let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else {
            continue;
        };
        let mut fields = rest.split_whitespace();
        let state = fields.next().unwrap_or("Z");
        let ppid: u32 = fields.next().and_then(|p| p.parse().ok()).unwrap_or(0);
        if pid != me && state != "Z" {
            found.push((pid, ppid));
        }
    }
    found
}

/// The command line of `pid`, NULs as spaces, trimmed.
fn cmdline(pid: u32) -> String {
    proc_text(pid, "cmdline").trim().to_owned()
}

/// `/proc/PID/WHAT` as text, NULs as spaces (empty when unreadable).
pub fn proc_text(pid: u32, what: &str) -> String {
    let bytes = std::fs::read(format!("/proc/{pid}/{what}")).unwrap_or_default();
    String::from_utf8_lossy(&bytes).replace('\0', " ")
}

/// Live (non-zombie) child processes of this process, as `(pid, command line)`.
pub fn live_children() -> Vec<(u32, String)> {
    let me = std::process::id();
    live_pids()
        .into_iter()
        .filter(|(_, ppid)| *ppid == me)
        .map(|(pid, _)| (pid, cmdline(pid)))
        .collect()
}
