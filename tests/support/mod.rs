//! What every test target shares: the crate root, the target environment, one way to run the
//! `cas` binary ([`cas`]), one codex gate ([`codex_gate`]), whole-value checks of JSON documents,
//! and a census of this process's children.
//!
//! Every run of `cas` goes through [`cas`] (or [`cas_process`] for a server a test keeps
//! running), so every run gets the same isolated state, cache and codex home folders.

// Each test target uses only part of the support layer.
#![allow(dead_code, unused_imports)]

mod children;
mod codex;
mod compare;
mod fake_ws;
mod git;
mod leftovers;
mod run;

use std::path::PathBuf;

use cas::launch::CodexLocator;
use cas::target::TargetEnv;

pub use children::{live_children, live_processes};
pub use codex::{codex_gate, codex_trial, Codex};
pub use compare::{expect, expect_fields, same};
pub use fake_ws::FakeWs;
pub use git::git;
pub use leftovers::{entries_under, processes_mentioning};
pub use run::{cas, cas_bin, cas_json, cas_process, isolated_env, run_json, JsonRun};

/// The crate root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The target environment tests run with: the built cas binary, codex from the environment or
/// the project install, hermetic homes under `CARGO_TARGET_TMPDIR` (not the system temp dir).
pub fn target_env() -> TargetEnv {
    TargetEnv {
        cas_bin: cas_bin(),
        codex: CodexLocator::from_env(None),
        scratch_root: PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("cas-homes"),
        workspace_root: PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("cas-workspaces"),
        keep_temp: false,
        st_binary: None,
        codex_template: None,
        transcript_dir: None,
    }
}

/// A trial outcome.
pub type Outcome = Result<libtest_mimic::Completion, libtest_mimic::Failed>;

/// A trial that ran to completion.
pub fn done() -> Outcome {
    Ok(libtest_mimic::Completion::Completed)
}
