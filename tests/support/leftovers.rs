//! Proof that a run left nothing behind: no process that mentions a folder, no entry in it.

use std::path::Path;

use super::children::{live_processes, proc_text};

/// Live processes (other than this one) whose command line or environment mentions `dir`,
/// as `(pid, command line)`: servers a run started that outlived it.
pub fn processes_mentioning(dir: &Path) -> Vec<(u32, String)> {
    let needle = dir.to_string_lossy().into_owned();
    live_processes()
        .into_iter()
        .filter(|(pid, _, cmdline)| {
            cmdline.contains(&needle) || proc_text(*pid, "environ").contains(&needle)
        })
        .map(|(pid, _, cmdline)| (pid, cmdline))
        .collect()
}

/// The entries of `dir` and of its subfolders, depth first (paths relative to `dir`).
pub fn entries_under(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(folder) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&folder) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            out.push(
                path.strip_prefix(dir)
                    .unwrap_or(&path)
                    .display()
                    .to_string(),
            );
            if path.is_dir() {
                stack.push(path);
            }
        }
    }
    out.sort();
    out
}
