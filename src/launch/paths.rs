//! Where cas keeps its own folders: the XDG state and cache folders, resolved in one place.
//!
//! State: `$XDG_STATE_HOME/cas`, else `~/.local/state/cas`, else `./.cas`. Cache:
//! `$XDG_CACHE_HOME/cas`, else `~/.cache/cas`; a caller picks its own fallback for a process
//! that knows neither (no `HOME`). An empty variable counts as unset.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

fn var(name: &str) -> Option<OsString> {
    std::env::var_os(name).filter(|v| !v.is_empty())
}

/// cas's state folder: `$XDG_STATE_HOME/cas`, `~/.local/state/cas`, or `./.cas`.
pub fn state_dir() -> PathBuf {
    let base = var("XDG_STATE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/state")));
    match base {
        Some(dir) => dir.join("cas"),
        None => PathBuf::from(".cas"),
    }
}

/// Where the CLI keeps hermetic homes: `<state>/homes`.
pub fn homes_dir() -> PathBuf {
    homes_in(&state_dir())
}

/// The hermetic homes' folder of the state folder `state`: `<state>/homes`.
pub fn homes_in(state: &Path) -> PathBuf {
    state.join("homes")
}

/// Where hook observers of the control lanes log: `<state>/hook-logs`.
pub fn hook_logs_dir() -> PathBuf {
    hook_logs_in(&state_dir())
}

/// The hook logs' folder of the state folder `state`: `<state>/hook-logs`.
pub fn hook_logs_in(state: &Path) -> PathBuf {
    state.join("hook-logs")
}

/// Where the conformance suite keeps its workspaces (kept ones stay until `cas gc`):
/// `TMPDIR/cas-conformance`.
pub fn workspaces_dir() -> PathBuf {
    std::env::temp_dir().join("cas-conformance")
}

/// cas's cache folder: `$XDG_CACHE_HOME/cas`, else `~/.cache/cas`; `None` when neither is known.
pub fn cache_dir() -> Option<PathBuf> {
    var("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .map(|base| base.join("cas"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_folders_hang_off_one_root() {
        assert_eq!(homes_dir(), state_dir().join("homes"));
        assert_eq!(hook_logs_dir().parent(), Some(state_dir().as_path()));
        let state = Path::new("/s");
        assert_eq!(homes_in(state), Path::new("/s/homes"));
        assert_eq!(hook_logs_in(state), Path::new("/s/hook-logs"));
        assert_eq!(
            workspaces_dir().parent(),
            Some(std::env::temp_dir().as_path())
        );
    }
}
