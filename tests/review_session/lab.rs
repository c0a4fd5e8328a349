//! The world of one review_session trial: a state folder, a git repository built from
//! `fixtures/review`, the cas runs, and the lane processes they caused.

use libtest_mimic::Failed;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::support::{self, git, JsonRun};

/// The title of the first finding the mock model gives for the `fixtures/review` change.
pub const FIXTURE_TITLE: &str = "[P1] Division by zero when n is 0";

/// One trial's world: a state folder, a git repository with an uncommitted change, and the
/// lane processes seen so far.
pub struct Lab {
    dir: tempfile::TempDir,
    repo: PathBuf,
    codex: PathBuf,
    pids: std::sync::Mutex<Vec<(u32, String)>>,
}

impl Lab {
    /// A lab for a trial that runs `codex`.
    pub fn new(codex: &Path) -> Result<Lab, Failed> {
        let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).map_err(|e| e.to_string())?;
        let repo = dir.path().join("repo");
        copy_files(&support::root().join("fixtures/review/repo"), &repo)?;
        git(&repo, &["init", "-q", "-b", "main"])?;
        git(&repo, &["add", "."])?;
        git(&repo, &["commit", "-q", "-m", "base"])?;
        copy_files(&support::root().join("fixtures/review/change"), &repo)?;
        Ok(Lab {
            dir,
            repo,
            codex: codex.to_path_buf(),
            pids: std::sync::Mutex::new(Vec::new()),
        })
    }

    /// The installed codex the trial runs.
    pub fn codex(&self) -> &Path {
        &self.codex
    }

    pub fn repo(&self) -> &str {
        self.repo.to_str().unwrap_or_default()
    }

    /// Runs cas with this lab's state folder; returns its exit code and stdout as JSON, and
    /// remembers the lane processes the document names.
    pub fn cas(&self, args: &[&str], env: &[(&str, &str)]) -> Result<(i32, Value), Failed> {
        let run = JsonRun::of(
            support::cas()
                .args(args)
                .env("XDG_STATE_HOME", self.dir.path().join("state"))
                .envs(env.iter().copied()),
        )?;
        let doc = run.doc;
        for key in ["hostPid", "managedServerPid"] {
            if let Some(pid) = doc[key].as_u64().and_then(|p| u32::try_from(p).ok()) {
                self.remember(pid);
            }
        }
        Ok((run.code, doc))
    }

    /// Runs cas in text mode (no `--json`) with this lab's state folder; returns its exit code,
    /// stdout and stderr.
    pub fn cas_text(
        &self,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> Result<(i32, String, String), Failed> {
        let out = support::cas()
            .args(args)
            .env("XDG_STATE_HOME", self.dir.path().join("state"))
            .envs(env.iter().copied())
            .output()
            .map_err(|e| format!("cannot run cas {args:?}: {e}"))?;
        let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
        let code = out.status.code().unwrap_or(-1);
        Ok((code, text(&out.stdout), text(&out.stderr)))
    }

    /// cas as a child process with this lab's state folder, stdout piped (for a signal test);
    /// remembered for [`Lab::all_gone`].
    pub fn spawn(
        &self,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> Result<std::process::Child, Failed> {
        let child = support::cas_process()
            .args(args)
            .env("XDG_STATE_HOME", self.dir.path().join("state"))
            .envs(env.iter().copied())
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot run cas {args:?}: {e}"))?;
        self.remember(child.id());
        Ok(child)
    }

    /// The ids of the reviews in cas's index (`<state>/cas/review_sessions/<id>.json`).
    pub fn indexed_ids(&self) -> Vec<String> {
        let index = self.dir.path().join("state/cas/review_sessions");
        std::fs::read_dir(index)
            .into_iter()
            .flat_map(|entries| entries.flatten())
            .filter_map(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                name.strip_suffix(".json").map(str::to_owned)
            })
            .collect()
    }

    /// Remembers a process the trial caused, so [`Lab::all_gone`] checks it.
    pub fn remember(&self, pid: u32) {
        let mut pids = self.pids.lock().unwrap_or_else(|p| p.into_inner());
        if !pids.iter().any(|(p, _)| *p == pid) {
            pids.push((pid, start_ticks(pid).unwrap_or_default()));
        }
    }

    /// `cas review_session start --hermetic --cwd <repo> --json` plus `extra`.
    pub fn start(&self, extra: &[&str]) -> Result<(i32, Value), Failed> {
        self.cas(&self.start_args(extra), &[])
    }

    /// The arguments of [`Lab::start`]: `review_session start --hermetic --json --cwd <repo>`
    /// plus `extra`.
    pub fn start_args<'a>(&'a self, extra: &[&'a str]) -> Vec<&'a str> {
        let mut args = vec!["review_session", "start", "--hermetic", "--json"];
        args.extend(["--cwd", self.repo()]);
        args.extend(extra);
        args
    }

    /// `cas review_session <action> --review-thread-id <id> --json` plus `extra`.
    pub fn handle(&self, action: &str, id: &str, extra: &[&str]) -> Result<(i32, Value), Failed> {
        let mut args = vec!["review_session", action, "--review-thread-id", id, "--json"];
        args.extend(extra);
        self.cas(&args, &[])
    }

    /// A folder with a file in it and no git repository at or above it (as seen through
    /// [`Lab::outside_git`]).
    pub fn plain_folder(&self) -> Result<PathBuf, Failed> {
        let plain = self.dir.path().join("plain");
        std::fs::create_dir_all(&plain).map_err(|e| e.to_string())?;
        std::fs::write(plain.join("notes.txt"), "not a repository\n").map_err(|e| e.to_string())?;
        Ok(plain)
    }

    /// The environment that keeps git from looking above the lab (the lab lives inside the
    /// crate's own work tree).
    pub fn outside_git(&self) -> [(&str, &str); 1] {
        let dir = self.dir.path().to_str().unwrap_or_default();
        [("GIT_CEILING_DIRECTORIES", dir)]
    }

    /// Commits the repository's uncommitted change, leaving a clean tree.
    pub fn commit_all(&self) -> Result<(), Failed> {
        git(&self.repo, &["add", "-A"])?;
        git(&self.repo, &["commit", "-q", "-m", "change"])
    }

    /// The entries of cas's lane and hermetic-home folders (none before any launch).
    pub fn lane_folders(&self) -> Vec<PathBuf> {
        let state = self.dir.path().join("state/cas");
        ["review-lanes", "review-homes"]
            .iter()
            .filter_map(|d| std::fs::read_dir(state.join(d)).ok())
            .flat_map(|entries| entries.flatten().map(|e| e.path()))
            .collect()
    }

    /// Waits up to `within` for every lane process seen to be gone.
    pub fn all_gone(&self, within: Duration) -> Result<(), Failed> {
        let deadline = Instant::now() + within;
        let pids = self.pids.lock().unwrap_or_else(|p| p.into_inner()).clone();
        loop {
            let live: Vec<u32> = pids
                .iter()
                .filter(|(pid, ticks)| start_ticks(*pid).as_deref() == Some(ticks.as_str()))
                .map(|(pid, _)| *pid)
                .collect();
            if live.is_empty() {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(
                    format!("lane processes still alive after {within:?}: {live:?}").into(),
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// `/proc/<pid>/stat` field 22 (start time), for a live, non-zombie process.
fn start_ticks(pid: u32) -> Option<String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    (fields.first() != Some(&"Z")).then(|| fields.get(19).map(|s| s.to_string()))?
}

fn copy_files(from: &Path, to: &Path) -> Result<(), Failed> {
    std::fs::create_dir_all(to).map_err(|e| e.to_string())?;
    for entry in std::fs::read_dir(from).map_err(|e| e.to_string())? {
        let entry = entry.map_err(|e| e.to_string())?;
        std::fs::copy(entry.path(), to.join(entry.file_name())).map_err(|e| e.to_string())?;
    }
    Ok(())
}

pub fn id_of(doc: &Value) -> Result<String, Failed> {
    doc["reviewThreadId"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| format!("no reviewThreadId in {doc}").into())
}

/// Reads a file the document names.
pub fn read(doc: &Value, key: &str) -> Result<String, Failed> {
    let path = doc[key].as_str().unwrap_or_default();
    std::fs::read_to_string(path).map_err(|e| format!("{key} {path}: {e}").into())
}
