//! `cas gc`: removes what runs left behind on purpose once it is old — ended review lanes,
//! kept hermetic homes, kept conformance workspaces and old hook logs — and says what it removed.
//!
//! Nothing live is touched: a review lane goes only when its host and server are gone, and
//! every folder or file only when it was last modified before the cutoff. The shared probe
//! homes (`homes/schema`, `homes/version-probe`) are caches every run reuses and stay.

use serde::Serialize;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use crate::launch::paths;
use crate::review::housekeeping::{self, Indexed};
use crate::review::process;
use crate::review::record::ReviewRecord;

/// Homes under `<state>/homes` that every run shares.
const SHARED_HOMES: &[&str] = &["schema", "version-probe"];

/// What kind of leftover an entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// An ended review: its lane folder, record, index link and hermetic home.
    ReviewLane,
    /// A hermetic home kept under `<state>/homes`.
    Home,
    /// A kept conformance workspace.
    Workspace,
    /// A hook log.
    HookLog,
}

/// One thing removed (or, with `dry_run`, that would be).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Removed {
    /// What it is.
    pub kind: Kind,
    /// Where it was.
    pub path: PathBuf,
}

/// One thing that could not be removed.
#[derive(Debug, Clone, Serialize)]
pub struct NotRemoved {
    /// Where it is.
    pub path: PathBuf,
    /// Why it stays.
    pub error: String,
}

/// What a gc run did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Collected {
    /// What was removed.
    pub removed: Vec<Removed>,
    /// What could not be.
    pub failures: Vec<NotRemoved>,
}

/// Where gc looks.
#[derive(Debug, Clone)]
pub struct Roots {
    /// cas's state folder.
    pub state: PathBuf,
    /// The conformance workspaces' folder.
    pub workspaces: PathBuf,
}

impl Roots {
    /// The folders this process uses: the XDG state folder and `TMPDIR/cas-conformance`.
    pub fn current() -> Roots {
        Roots {
            state: paths::state_dir(),
            workspaces: paths::workspaces_dir(),
        }
    }
}

/// Removes everything older than `older_than` (only lists it when `dry_run`).
pub fn collect(roots: &Roots, older_than: Duration, dry_run: bool) -> Collected {
    let cutoff = SystemTime::now()
        .checked_sub(older_than)
        .unwrap_or(SystemTime::UNIX_EPOCH);
    let mut gc = Gc {
        out: Collected::default(),
        dry_run,
        cutoff,
    };
    gc.review_lanes(&roots.state);
    let homes = paths::homes_in(&roots.state);
    gc.old_entries(&homes, Kind::Home, |name| !SHARED_HOMES.contains(&name));
    gc.old_entries(&roots.workspaces, Kind::Workspace, |_| true);
    let hook_logs = paths::hook_logs_in(&roots.state);
    gc.old_entries(&hook_logs, Kind::HookLog, |_| true);
    gc.out
}

struct Gc {
    out: Collected,
    dry_run: bool,
    cutoff: SystemTime,
}

impl Gc {
    /// Entries of `dir` last modified before the cutoff whose names `keep` accepts.
    fn old_entries(&mut self, dir: &Path, kind: Kind, keep: impl Fn(&str) -> bool) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if keep(&name) && self.is_old(&entry.path()) {
                self.remove(kind, &entry.path());
            }
        }
    }

    /// Ended reviews older than the cutoff whose host and server are gone.
    fn review_lanes(&mut self, state: &Path) {
        let index = crate::review::record::index_in(state);
        for Indexed { link, record, .. } in housekeeping::indexed_in(&index) {
            let Ok(rec) = ReviewRecord::load(&record) else {
                continue;
            };
            let t = &rec.transport;
            let live = process::alive(t.host_pid, t.host_start_ticks)
                || process::alive(t.server_pid, t.server_start_ticks);
            if live || !self.is_old(&record) {
                continue;
            }
            let lane = state.join("review-lanes").join(&rec.lane_id);
            self.remove(Kind::ReviewLane, &lane);
            if rec.hermetic && rec.codex_home.starts_with(state) {
                self.remove(Kind::ReviewLane, &rec.codex_home);
            } else {
                self.remove(Kind::ReviewLane, &record);
            }
            self.remove(Kind::ReviewLane, &link);
        }
    }

    fn is_old(&self, path: &Path) -> bool {
        std::fs::symlink_metadata(path)
            .and_then(|m| m.modified())
            .is_ok_and(|t| t < self.cutoff)
    }

    fn remove(&mut self, kind: Kind, path: &Path) {
        let Ok(meta) = std::fs::symlink_metadata(path) else {
            return;
        };
        let result = if self.dry_run {
            Ok(())
        } else if meta.is_dir() {
            std::fs::remove_dir_all(path)
        } else {
            std::fs::remove_file(path)
        };
        match result {
            Ok(()) => self.out.removed.push(Removed {
                kind,
                path: path.to_owned(),
            }),
            Err(e) => self.out.failures.push(NotRemoved {
                path: path.to_owned(),
                error: e.to_string(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn age(path: &Path, secs: u64) {
        let then = SystemTime::now() - Duration::from_secs(secs);
        let file = std::fs::File::options().write(true).open(path).ok();
        if let Some(f) = file {
            f.set_modified(then).unwrap();
        } else {
            std::fs::File::open(path)
                .unwrap()
                .set_modified(then)
                .unwrap();
        }
    }

    #[test]
    fn removes_only_old_leftovers_and_keeps_shared_homes() {
        let dir = tempfile::tempdir().unwrap();
        let roots = Roots {
            state: dir.path().join("state"),
            workspaces: dir.path().join("ws"),
        };
        let homes = roots.state.join("homes");
        for d in ["codex-home-old", "codex-home-new", "schema"] {
            std::fs::create_dir_all(homes.join(d)).unwrap();
        }
        std::fs::create_dir_all(roots.workspaces.join("handshake-1-x")).unwrap();
        std::fs::create_dir_all(roots.state.join("hook-logs")).unwrap();
        let log = roots.state.join("hook-logs/request-1-2.ndjson");
        std::fs::write(&log, "{}\n").unwrap();
        for old in [
            homes.join("codex-home-old"),
            homes.join("schema"),
            roots.workspaces.join("handshake-1-x"),
            log.clone(),
        ] {
            age(&old, 3 * 86_400);
        }
        let listed = collect(&roots, Duration::from_secs(86_400), true);
        assert_eq!(listed.removed.len(), 3, "{listed:?}");
        assert!(
            homes.join("codex-home-old").exists(),
            "a dry run removes nothing"
        );
        let done = collect(&roots, Duration::from_secs(86_400), false);
        let kinds: Vec<Kind> = done.removed.iter().map(|r| r.kind).collect();
        assert_eq!(kinds, vec![Kind::Home, Kind::Workspace, Kind::HookLog]);
        assert!(!homes.join("codex-home-old").exists());
        assert!(homes.join("codex-home-new").exists() && homes.join("schema").exists());
        assert!(!log.exists());
    }
}
