//! The review target checked against its repository before a lane starts.
//!
//! codex reviews whatever it is pointed at: a folder that is not a repository, a base branch or
//! a commit that does not exist, a clean tree. It then answers with findings all the same, so a
//! review of nothing would look like a review. cas asks git first, in the review's cwd: the cwd
//! is a git work tree; `--base` resolves to a commit (`git rev-parse --verify`); `--commit`
//! names a commit (`git cat-file -e SHA^{commit}`); `--uncommitted` has something staged,
//! unstaged or untracked (`git status --porcelain`; a clean tree is refused, there is nothing to
//! review). `--custom-instructions` names no git target and is not checked. Every git call
//! runs in the cwd with a deadline and is killed when it passes; git's own refusal is an
//! [`InvalidTarget`], while git missing, unrunnable or hung is a [`GitError`].

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use super::target::ReviewTarget;
use crate::errors::GitError;

/// How long one git call may take.
const GIT_DEADLINE: Duration = Duration::from_secs(30);

/// Why a review target cannot be reviewed; the message is the record's `failureHint`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidTarget {
    /// The cwd is not a directory (git cannot even run there).
    #[error("{} is not a directory", cwd.display())]
    NotADirectory {
        /// The review's cwd.
        cwd: PathBuf,
    },
    /// The cwd is not inside a git work tree.
    #[error("{} is not a git work tree{}", cwd.display(), said(git_says))]
    NotAWorkTree {
        /// The review's cwd.
        cwd: PathBuf,
        /// What git said, if anything.
        git_says: String,
    },
    /// `--base` does not resolve to a commit.
    #[error("--base {branch}: no such branch or commit in {}{}", cwd.display(), said(git_says))]
    NoSuchBase {
        /// The branch asked for.
        branch: String,
        /// The review's cwd.
        cwd: PathBuf,
        /// What git said, if anything.
        git_says: String,
    },
    /// `--commit` names no commit.
    #[error("--commit {sha}: no such commit in {}{}", cwd.display(), said(git_says))]
    NoSuchCommit {
        /// The commit asked for.
        sha: String,
        /// The review's cwd.
        cwd: PathBuf,
        /// What git said, if anything.
        git_says: String,
    },
    /// A revision that git would read as an option.
    #[error("{flag} {value}: a revision cannot start with '-'")]
    OptionLike {
        /// `--base` or `--commit`.
        flag: &'static str,
        /// The value given.
        value: String,
    },
    /// `--uncommitted` on a clean tree.
    #[error(
        "--uncommitted: no changes in {} (nothing staged, unstaged or untracked), so nothing to review\n(hint: review a commit with --commit SHA or a branch with --base BRANCH)",
        cwd.display()
    )]
    NoChanges {
        /// The review's cwd.
        cwd: PathBuf,
    },
}

/// ` (git: …)` when git said something, else nothing.
fn said(git_says: &str) -> String {
    match git_says.trim() {
        "" => String::new(),
        text => format!(" (git: {text})"),
    }
}

/// The git that answers the checks: which program, and how long each call may take.
#[derive(Debug, Clone)]
pub struct Git {
    /// The git program (`git`, found on PATH).
    pub program: PathBuf,
    /// The deadline of each call.
    pub deadline: Duration,
}

impl Default for Git {
    fn default() -> Git {
        Git {
            program: PathBuf::from("git"),
            deadline: GIT_DEADLINE,
        }
    }
}

/// What one git call said.
struct Answer {
    success: bool,
    stdout: String,
    stderr: String,
}

impl Git {
    /// Checks `target` in `cwd`: `Ok(Err(why))` when git says it cannot be reviewed.
    pub async fn check(
        &self,
        target: &ReviewTarget,
        cwd: &Path,
    ) -> Result<Result<(), InvalidTarget>, GitError> {
        if matches!(target, ReviewTarget::Custom { .. }) {
            return Ok(Ok(()));
        }
        if let Some(why) = option_like(target) {
            return Ok(Err(why));
        }
        if !cwd.is_dir() {
            let cwd = cwd.to_owned();
            return Ok(Err(InvalidTarget::NotADirectory { cwd }));
        }
        let tree = self
            .run(cwd, &["rev-parse", "--is-inside-work-tree"])
            .await?;
        if !tree.success || tree.stdout.trim() != "true" {
            let git_says = if tree.success {
                "inside a git directory, not its work tree".into()
            } else {
                tree.stderr
            };
            let cwd = cwd.to_owned();
            return Ok(Err(InvalidTarget::NotAWorkTree { cwd, git_says }));
        }
        self.check_in_tree(target, cwd).await
    }

    /// The target's own check, in a cwd known to be a work tree.
    async fn check_in_tree(
        &self,
        target: &ReviewTarget,
        cwd: &Path,
    ) -> Result<Result<(), InvalidTarget>, GitError> {
        let cwd_owned = cwd.to_owned();
        let invalid = match target {
            ReviewTarget::BaseBranch { branch } => {
                let rev = format!("{branch}^{{commit}}");
                let answer = self
                    .run(cwd, &["rev-parse", "--verify", "--quiet", &rev])
                    .await?;
                (!answer.success).then(|| InvalidTarget::NoSuchBase {
                    branch: branch.clone(),
                    cwd: cwd_owned,
                    git_says: answer.stderr,
                })
            }
            ReviewTarget::Commit { sha, .. } => {
                let rev = format!("{sha}^{{commit}}");
                let answer = self.run(cwd, &["cat-file", "-e", &rev]).await?;
                (!answer.success).then(|| InvalidTarget::NoSuchCommit {
                    sha: sha.clone(),
                    cwd: cwd_owned,
                    git_says: answer.stderr,
                })
            }
            ReviewTarget::UncommittedChanges => {
                let args = ["status", "--porcelain", "-z", "--untracked-files=normal"];
                let answer = self.run(cwd, &args).await?;
                if !answer.success {
                    Some(InvalidTarget::NotAWorkTree {
                        cwd: cwd_owned,
                        git_says: answer.stderr,
                    })
                } else if answer.stdout.is_empty() {
                    Some(InvalidTarget::NoChanges { cwd: cwd_owned })
                } else {
                    None
                }
            }
            ReviewTarget::Custom { .. } => None,
        };
        Ok(invalid.map_or(Ok(()), Err))
    }

    /// Runs git with `args` in `cwd`, killed when the deadline passes.
    async fn run(&self, cwd: &Path, args: &[&str]) -> Result<Answer, GitError> {
        let mut command = tokio::process::Command::new(&self.program);
        command
            .args(args)
            .current_dir(cwd)
            // A read-only look: never take the index lock a concurrent git needs.
            .env("GIT_OPTIONAL_LOCKS", "0")
            .stdin(Stdio::null())
            .kill_on_drop(true);
        let joined = || args.join(" ");
        let output = tokio::time::timeout(self.deadline, command.output())
            .await
            .map_err(|_| GitError::Timeout {
                args: joined(),
                cwd: cwd.to_owned(),
                deadline: self.deadline,
            })?
            .map_err(|source| match source.kind() {
                // The cwd was checked to exist, so a spawn that finds nothing lacks git.
                std::io::ErrorKind::NotFound if cwd.is_dir() => GitError::NotFound {
                    program: self.program.clone(),
                },
                _ => GitError::Run {
                    args: joined(),
                    source,
                },
            })?;
        Ok(Answer {
            success: output.status.success(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
        })
    }
}

/// A `--base` or `--commit` value git would take for an option, refused without asking it.
fn option_like(target: &ReviewTarget) -> Option<InvalidTarget> {
    let (flag, value) = match target {
        ReviewTarget::BaseBranch { branch } => ("--base", branch),
        ReviewTarget::Commit { sha, .. } => ("--commit", sha),
        _ => return None,
    };
    value.starts_with('-').then(|| InvalidTarget::OptionLike {
        flag,
        value: value.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn git(repo: &Path, args: &[&str]) {
        let status = std::process::Command::new("git")
            .args([
                "-c",
                "user.name=cas",
                "-c",
                "user.email=cas@example.invalid",
            ])
            .args(args)
            .current_dir(repo)
            .status()
            .unwrap();
        assert!(status.success(), "git {args:?}");
    }

    /// A repository with one commit on `main` and a clean tree.
    fn repo() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.txt"), "a\n").unwrap();
        git(dir.path(), &["init", "-q", "-b", "main"]);
        git(dir.path(), &["add", "."]);
        git(dir.path(), &["commit", "-q", "-m", "base"]);
        dir
    }

    fn check(target: ReviewTarget, cwd: &Path) -> Result<(), InvalidTarget> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(Git::default().check(&target, cwd)).unwrap()
    }

    fn base(branch: &str) -> ReviewTarget {
        ReviewTarget::BaseBranch {
            branch: branch.into(),
        }
    }

    fn commit(sha: &str) -> ReviewTarget {
        ReviewTarget::Commit {
            sha: sha.into(),
            title: None,
        }
    }

    #[test]
    fn existing_targets_pass_and_missing_ones_say_why() {
        let dir = repo();
        let cwd = dir.path();
        assert_eq!(check(base("main"), cwd), Ok(()));
        assert_eq!(check(commit("HEAD"), cwd), Ok(()));
        let custom = ReviewTarget::Custom {
            instructions: "look".into(),
        };
        assert_eq!(check(custom, cwd), Ok(()));
        let hint = |target| check(target, cwd).unwrap_err().to_string();
        assert!(hint(base("nosuchbranch")).starts_with("--base nosuchbranch: no such branch"));
        let missing = "0123456789abcdef0123456789abcdef01234567";
        assert!(hint(commit(missing)).starts_with(&format!("--commit {missing}: no such commit")));
        assert_eq!(
            hint(base("--output=x")),
            "--base --output=x: a revision cannot start with '-'"
        );
        assert!(hint(ReviewTarget::UncommittedChanges).starts_with("--uncommitted: no changes in"));
        let file = cwd.join("a.txt");
        assert_eq!(
            check(ReviewTarget::UncommittedChanges, &file),
            Err(InvalidTarget::NotADirectory { cwd: file.clone() })
        );
    }

    #[test]
    fn staged_unstaged_and_untracked_changes_each_count() {
        let edits: [(&str, &[&str]); 3] = [
            ("a.txt", &["add", "a.txt"]),
            ("a.txt", &[]),
            ("new.txt", &[]),
        ];
        for (file, then) in edits {
            let dir = repo();
            std::fs::write(dir.path().join(file), "changed\n").unwrap();
            if !then.is_empty() {
                git(dir.path(), then);
            }
            assert_eq!(
                check(ReviewTarget::UncommittedChanges, dir.path()),
                Ok(()),
                "{file} {then:?}"
            );
        }
    }

    #[test]
    fn a_missing_or_hung_git_is_an_error_not_a_verdict() {
        let dir = tempfile::tempdir().unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let missing = Git {
            program: dir.path().join("no-git-here"),
            deadline: Duration::from_secs(5),
        };
        let err = rt.block_on(missing.check(&commit("HEAD"), dir.path()));
        assert!(matches!(err, Err(GitError::NotFound { .. })), "{err:?}");
        let hung_path = dir.path().join("hung-git");
        std::fs::write(&hung_path, "#!/bin/sh\nexec sleep 30\n").unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&hung_path, std::fs::Permissions::from_mode(0o755)).unwrap();
        let hung = Git {
            program: hung_path,
            deadline: Duration::from_millis(200),
        };
        let t0 = std::time::Instant::now();
        let err = rt.block_on(hung.check(&commit("HEAD"), dir.path()));
        assert!(matches!(err, Err(GitError::Timeout { .. })), "{err:?}");
        assert!(t0.elapsed() < Duration::from_secs(5));
    }
}
