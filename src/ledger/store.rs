//! The plan file on disk: locked, validated mutations written by atomic replace.
//!
//! Every mutation takes an exclusive `flock` on the `<file>.lock` sidecar (waiting at most the
//! lock timeout), reads and validates the current stream under the lock, applies the change,
//! validates again, and only then writes the canonical pair to a uniquely named temp file in the
//! same folder (pid + random suffix), fsyncs it, renames it over the plan file and fsyncs the
//! folder. A failing change or a killed writer therefore leaves the previous file intact; readers
//! never take the lock, since they only ever see a whole old or a whole new file. Inside a git
//! work tree the sidecar must be git-ignored before any write, as `st` requires.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::fd::AsRawFd;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use super::child::{run_with_deadline, ChildFailure};
use super::error::{fail, ErrorCode, LedgerError};
use super::item::Item;
use super::record::{parse_stream, render_canonical, Ledger, Mutation};
use super::validate::validate;

/// How long git may take to answer whether the sidecar is ignored.
const GIT_TIMEOUT: Duration = Duration::from_secs(10);

/// What a mutation decided: the new items, how far the seq moves, and its human line.
pub struct Change<T> {
    /// The state to write.
    pub items: Vec<Item>,
    /// Added to the watermark (1, except for non-replacing imports).
    pub bump: i64,
    /// What the mutation returns to its caller.
    pub output: T,
}

/// A plan file and how to write it.
#[derive(Debug, Clone)]
pub struct Store {
    path: PathBuf,
    lock_timeout: Duration,
}

impl Store {
    /// The plan file at `path`.
    pub fn new(path: impl Into<PathBuf>, lock_timeout: Duration) -> Store {
        Store {
            path: path.into(),
            lock_timeout,
        }
    }

    /// The plan file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The sidecar lock file, `<file>.lock`.
    pub fn lock_path(&self) -> PathBuf {
        let mut p = self.path.clone().into_os_string();
        p.push(".lock");
        PathBuf::from(p)
    }

    /// Reads and validates the current state (a missing file is empty at watermark 0).
    pub fn load(&self, allow_multiple_in_progress: bool) -> Result<Ledger, LedgerError> {
        let text = match fs::read_to_string(&self.path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => {
                return fail(
                    ErrorCode::FileIo,
                    format!("reading {}: {e}", self.path.display()),
                )
            }
        };
        let ledger = parse_stream(&text).map_err(|e| e.context(self.path.display()))?;
        validate(&ledger.items, allow_multiple_in_progress)
            .map_err(|e| e.context(self.path.display()))?;
        Ok(ledger)
    }

    /// Runs one locked mutation: `change` sees the validated current state; its result is
    /// validated and written at `watermark + bump`, stamped `ts`. Nothing is written on error.
    pub fn mutate<T>(
        &self,
        meta: &Mutation,
        ts: &str,
        change: impl FnOnce(Ledger) -> Result<Change<T>, LedgerError>,
    ) -> Result<T, LedgerError> {
        let allow = meta.allow_multiple_in_progress;
        let dir = self.folder();
        fs::create_dir_all(&dir).or_else(|e| {
            fail(
                ErrorCode::FileIo,
                format!("creating {}: {e}", dir.display()),
            )
        })?;
        ensure_lock_ignored(&dir, &self.lock_path())?;
        let _lock = self.lock()?;
        let current = self.load(allow)?;
        let watermark = current.watermark;
        let Change {
            items,
            bump,
            output,
        } = change(current)?;
        validate(&items, allow)?;
        let text = render_canonical(&items, watermark + bump, ts, meta);
        self.replace_file(&dir, &text)?;
        Ok(output)
    }

    fn folder(&self) -> PathBuf {
        match self.path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        }
    }

    /// Takes the exclusive sidecar lock, polling until the deadline; released when dropped.
    fn lock(&self) -> Result<File, LedgerError> {
        let path = self.lock_path();
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .or_else(|e| {
                fail(
                    ErrorCode::FileIo,
                    format!("opening {}: {e}", path.display()),
                )
            })?;
        let deadline = Instant::now() + self.lock_timeout;
        let mut pause = Duration::from_millis(1);
        loop {
            // SAFETY: flock on a descriptor this function owns; no memory is involved.
            let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
            if rc == 0 {
                return Ok(file);
            }
            let err = std::io::Error::last_os_error();
            let busy = matches!(err.raw_os_error(), Some(libc::EWOULDBLOCK | libc::EINTR));
            if !busy {
                return fail(
                    ErrorCode::FileIo,
                    format!("locking {}: {err}", path.display()),
                );
            }
            if Instant::now() >= deadline {
                return fail(
                    ErrorCode::LockTimeout,
                    format!(
                        "{} still locked after {:?}",
                        path.display(),
                        self.lock_timeout
                    ),
                );
            }
            thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(20));
        }
    }

    /// Temp file (unique name) + fsync + rename + fsync of the folder.
    fn replace_file(&self, dir: &Path, text: &str) -> Result<(), LedgerError> {
        let io = |what: &str, e: std::io::Error| {
            LedgerError::new(
                ErrorCode::FileIo,
                format!("{what} {}: {e}", self.path.display()),
            )
        };
        let name = self
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let mut tmp = tempfile::Builder::new()
            .prefix(&format!(".{name}.{}.", std::process::id()))
            .suffix(".tmp")
            .rand_bytes(8)
            .tempfile_in(dir)
            .map_err(|e| io("creating a temp file for", e))?;
        // Keep the plan file's mode (a new one gets 0644, as st's writes do), not tempfile's 0600.
        let mode = fs::metadata(&self.path)
            .map(|m| m.permissions())
            .unwrap_or_else(|_| fs::Permissions::from_mode(0o644));
        tmp.as_file()
            .set_permissions(mode)
            .map_err(|e| io("setting the mode of", e))?;
        tmp.write_all(text.as_bytes())
            .map_err(|e| io("writing", e))?;
        tmp.as_file().sync_all().map_err(|e| io("syncing", e))?;
        tmp.persist(&self.path)
            .map_err(|e| io("renaming over", e.error))?;
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| io("syncing the folder of", e))?;
        Ok(())
    }
}

/// Inside a git work tree, the sidecar must be ignored (`git check-ignore`); outside one, or
/// without git, there is nothing to check.
fn ensure_lock_ignored(dir: &Path, lock: &Path) -> Result<(), LedgerError> {
    let mut top = Command::new("git");
    top.arg("-C")
        .arg(dir)
        .args(["rev-parse", "--show-toplevel"]);
    let root = match run_with_deadline(top, GIT_TIMEOUT) {
        Ok(done) if done.status.success() => PathBuf::from(done.stdout.trim()),
        Ok(_) | Err(ChildFailure::Spawn(_)) => return Ok(()),
        Err(ChildFailure::Timeout) => {
            return fail(ErrorCode::GitCommandFailed, "git rev-parse timed out")
        }
    };
    let lock_abs = fs::canonicalize(dir)
        .map(|d| d.join(lock.file_name().unwrap_or_default()))
        .or_else(|e| {
            fail(
                ErrorCode::FileIo,
                format!("resolving {}: {e}", dir.display()),
            )
        })?;
    let mut check = Command::new("git");
    check
        .arg("-C")
        .arg(&root)
        .args(["check-ignore", "-q", "--"])
        .arg(&lock_abs);
    match run_with_deadline(check, GIT_TIMEOUT) {
        Ok(done) if done.status.success() => Ok(()),
        Ok(done) if done.status.code() == Some(1) => fail(
            ErrorCode::LockSidecarNotGitignored,
            format!(
                "{} is not git-ignored\n(hint: cd {} && echo {} >> .gitignore)",
                lock_abs.display(),
                root.display(),
                lock_abs.strip_prefix(&root).unwrap_or(&lock_abs).display()
            ),
        ),
        Ok(done) => fail(
            ErrorCode::GitCommandFailed,
            format!("git check-ignore: {}", done.stderr.trim()),
        ),
        Err(ChildFailure::Spawn(e)) => fail(
            ErrorCode::GitCommandFailed,
            format!("git check-ignore: {e}"),
        ),
        Err(ChildFailure::Timeout) => {
            fail(ErrorCode::GitCommandFailed, "git check-ignore timed out")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta() -> Mutation {
        Mutation {
            allow_multiple_in_progress: false,
            actor: "tk".into(),
            pid: 1,
            session: None,
        }
    }

    fn add(id: &str) -> impl FnOnce(Ledger) -> Result<Change<()>, LedgerError> + '_ {
        move |mut l: Ledger| {
            l.items.push(Item::new(id, id));
            Ok(Change {
                items: l.items,
                bump: 1,
                output: (),
            })
        }
    }

    #[test]
    fn writes_the_canonical_pair_and_bumps_the_seq() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(
            dir.path().join(".step/st-plan.jsonl"),
            Duration::from_secs(5),
        );
        store
            .mutate(&meta(), "2026-01-01T00:00:00Z", add("a"))
            .unwrap();
        store
            .mutate(&meta(), "2026-01-01T00:00:01Z", add("b"))
            .unwrap();
        let text = fs::read_to_string(store.path()).unwrap();
        assert_eq!(text.lines().count(), 2);
        let ledger = store.load(false).unwrap();
        assert_eq!((ledger.watermark, ledger.items.len()), (2, 2));
        assert!(store.lock_path().exists());
    }

    #[test]
    fn a_failing_change_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path().join("plan.jsonl"), Duration::from_secs(5));
        store.mutate(&meta(), "t", add("a")).unwrap();
        let before = fs::read(store.path()).unwrap();
        let refused = store.mutate(&meta(), "t", |_| -> Result<Change<()>, _> {
            fail(ErrorCode::UnknownItemId, "x")
        });
        assert!(refused.unwrap_err().is(ErrorCode::UnknownItemId));
        // A change that breaks validation is refused after the change, before the write.
        let invalid = store.mutate(&meta(), "t", |mut l: Ledger| {
            l.items[0].deps.push(crate::ledger::item::Dep {
                id: "a".into(),
                kind: "blocks".into(),
            });
            Ok(Change {
                items: l.items,
                bump: 1,
                output: (),
            })
        });
        assert!(invalid.unwrap_err().is(ErrorCode::SelfDependency));
        assert_eq!(fs::read(store.path()).unwrap(), before);
        let strays: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
            .collect();
        assert!(strays.is_empty());
    }

    #[test]
    fn a_held_lock_times_out_with_lock_timeout() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path().join("plan.jsonl"), Duration::from_millis(150));
        let held = store.lock().unwrap();
        let started = Instant::now();
        let err = store.mutate(&meta(), "t", add("a")).unwrap_err();
        assert!(err.is(ErrorCode::LockTimeout), "{err}");
        assert!(started.elapsed() >= Duration::from_millis(150));
        drop(held);
        store.mutate(&meta(), "t", add("a")).unwrap();
    }

    #[test]
    fn inside_git_the_sidecar_must_be_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let git = |args: &[&str]| {
            Command::new("git")
                .arg("-C")
                .arg(dir.path())
                .args(args)
                .output()
                .unwrap()
        };
        if !git(&["init", "-q"]).status.success() {
            return; // no git on this machine: nothing st would check either
        }
        let store = Store::new(
            dir.path().join(".step/st-plan.jsonl"),
            Duration::from_secs(5),
        );
        let err = store.mutate(&meta(), "t", add("a")).unwrap_err();
        assert!(err.is(ErrorCode::LockSidecarNotGitignored), "{err}");
        assert!(!store.path().exists());
        fs::write(dir.path().join(".gitignore"), ".step/*.lock\n").unwrap();
        store.mutate(&meta(), "t", add("a")).unwrap();
    }
}
