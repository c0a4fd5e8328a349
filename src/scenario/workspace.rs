//! The scratch workspace a scenario runs in: a fresh folder, removed when the run passes.
//!
//! The folder is `<root>/<scenario>-<unix seconds>-<random>`; the claim ledger of a run lives
//! at `.step/st-plan.jsonl` inside it. A failing run keeps its workspace so a person can look,
//! and the verdict says where it is.

use std::path::{Path, PathBuf};

/// One run's workspace folder.
#[derive(Debug)]
pub struct Workspace {
    path: PathBuf,
}

impl Workspace {
    /// Creates a fresh folder for `scenario` under `root` (made if missing).
    pub fn create(root: &Path, scenario: &str) -> std::io::Result<Workspace> {
        std::fs::create_dir_all(root)?;
        let seconds = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let prefix = format!("{}-{seconds}-", scenario.replace('/', "_"));
        let dir = tempfile::Builder::new().prefix(&prefix).tempdir_in(root)?;
        Ok(Workspace { path: dir.keep() })
    }

    /// The folder.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The claim ledger's plan file in this workspace.
    pub fn plan_file(&self) -> PathBuf {
        self.path.join(".step/st-plan.jsonl")
    }

    /// Removes the folder when `remove`, else keeps it and returns its path.
    pub fn finish(mut self, remove: bool) -> Option<PathBuf> {
        let path = std::mem::take(&mut self.path);
        if remove && std::fs::remove_dir_all(&path).is_ok() {
            return None;
        }
        Some(path)
    }
}

/// Leaves in the verdict's kept workspace, if it has one, what explains its run:
/// `verdict.json` and, when the server wrote any, its stderr tail in `server-stderr.txt` (best
/// effort: the verdict says where the workspace is).
pub fn write_evidence(verdict: &crate::verdict::Verdict) {
    let Some(path) = &verdict.workspace else {
        return;
    };
    let json = serde_json::to_string_pretty(verdict).unwrap_or_default();
    let _ = std::fs::write(path.join("verdict.json"), json);
    if let Some(stderr) = verdict.diagnostics.as_deref().filter(|s| !s.is_empty()) {
        let _ = std::fs::write(path.join("server-stderr.txt"), stderr);
    }
}

/// A workspace dropped before it finished (its run was interrupted) is removed.
impl Drop for Workspace {
    fn drop(&mut self) {
        if !self.path.as_os_str().is_empty() {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_passing_run_removes_the_folder_and_a_failing_one_keeps_it() {
        let root = tempfile::tempdir().unwrap();
        let gone = Workspace::create(root.path(), "a/b").unwrap();
        let path = gone.path().to_owned();
        assert!(path.is_dir());
        assert!(path
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("a_b-"));
        assert_eq!(gone.finish(true), None);
        assert!(!path.exists());
        let kept = Workspace::create(root.path(), "x").unwrap();
        let path = kept.path().to_owned();
        assert_eq!(kept.finish(false), Some(path.clone()));
        assert!(path.is_dir());
    }
}
