//! The scenario format's world steps: files in the workspace and commands run there.
//!
//! Paths are relative to the run's `${workspace}` and may not leave it. These steps need no
//! server, so they mean the same on every target (a scenario of world steps only runs on
//! `local`).

use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;

/// Write a file under the workspace (parents made).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WriteFileStep {
    /// The path, relative to the workspace.
    pub path: String,
    /// The contents (`${NAME}` replaced).
    #[serde(default)]
    pub contents: String,
}

/// Check a file under the workspace, waiting up to the step's timeout for it to hold.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectFileStep {
    /// The path, relative to the workspace.
    pub path: String,
    /// Whether it must exist (default true); `false` excludes the content checks.
    #[serde(default)]
    pub exists: Option<bool>,
    /// The contents must be exactly this.
    #[serde(default)]
    pub equals: Option<String>,
    /// The contents must contain this text.
    #[serde(default)]
    pub contains: Option<String>,
    /// The contents must match this regular expression.
    #[serde(default)]
    pub regex: Option<String>,
    /// The contents must parse as JSON containing this subset.
    #[serde(default)]
    pub json: Option<Value>,
}

impl ExpectFileStep {
    /// Whether the step checks the contents.
    pub fn checks_contents(&self) -> bool {
        self.equals.is_some()
            || self.contains.is_some()
            || self.regex.is_some()
            || self.json.is_some()
    }
}

/// Run a shell command (`sh -c`) in the workspace and check how it ends.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunStep {
    /// The command line (`${NAME}` replaced).
    pub cmd: String,
    /// Extra environment variables.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// The exit code it must end with (default 0).
    #[serde(default)]
    pub expect_code: Option<i32>,
    /// Its stdout must contain this text.
    #[serde(default)]
    pub stdout_contains: Option<String>,
    /// Its stderr must contain this text.
    #[serde(default)]
    pub stderr_contains: Option<String>,
    /// Its stdout must parse as JSON containing this subset.
    #[serde(default)]
    pub stdout_json: Option<Value>,
}
