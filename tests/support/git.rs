//! Git in a test's scratch repository, with a throwaway author.

use std::path::Path;
use std::process::Command;

use libtest_mimic::Failed;
use serde_json::json;

use super::expect;

/// Runs `git ARGS` in `repo` as author "cas"; fails the trial when git fails.
pub fn git(repo: &Path, args: &[&str]) -> Result<(), Failed> {
    let status = Command::new("git")
        .args([
            "-c",
            "user.name=cas",
            "-c",
            "user.email=cas@example.invalid",
        ])
        .args(args)
        .current_dir(repo)
        .status()
        .map_err(|e| e.to_string())?;
    expect(status.success(), &format!("git {args:?}"), &json!(null))
}
