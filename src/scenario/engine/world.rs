//! The world steps: `write_file`, `expect_file` and `run`, all inside the run's workspace.
//!
//! `expect_file` polls until its checks hold or its timeout passes; `run` runs `sh -c` in its
//! own process group and kills the group when the step ends (done, timed out or cancelled), so
//! nothing it started outlives it.

use serde_json::{json, Map, Value};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use tokio::time::Instant;

use super::{Outcome, Run};
use crate::errors::Why;
use crate::matcher::{matches, project, substitute, Captures};
use crate::outcome::FailureCode;
use crate::scenario::format::{ExpectFileStep, RunStep, WriteFileStep};

/// How often `expect_file` looks again.
const POLL: Duration = Duration::from_millis(50);

impl Run<'_> {
    pub(super) fn write_file(&mut self, w: &WriteFileStep) -> Outcome {
        let path = match self.in_workspace(&w.path) {
            Ok(path) => path,
            Err(outcome) => return outcome,
        };
        let contents = text(&w.contents, &self.captures);
        match write(&path, &contents) {
            Ok(()) => Outcome::ok(None),
            Err(e) => Outcome::failed(
                FailureCode::WorkspaceFailed,
                format!("cannot write {}: {e}", w.path),
            ),
        }
    }

    pub(super) async fn expect_file(&mut self, e: &ExpectFileStep, timeout: Duration) -> Outcome {
        let path = match self.in_workspace(&e.path) {
            Ok(path) => path,
            Err(outcome) => return outcome,
        };
        let mut want = e.clone();
        want.equals = e.equals.as_ref().map(|t| text(t, &self.captures));
        want.contains = e.contains.as_ref().map(|t| text(t, &self.captures));
        want.json = e.json.as_ref().map(|j| substitute(j, &self.captures));
        let deadline = Instant::now() + timeout;
        loop {
            match check_file(&path, &want, &mut self.captures.clone()) {
                Ok(observed) => {
                    if let Some(json) = &want.json {
                        let _ = check_json(&path, json, &mut self.captures);
                    }
                    return Outcome::ok(Some(observed));
                }
                Err(why) if Instant::now() >= deadline => {
                    let message =
                        format!("{} (after {timeout:?})", why.0.replace("{path}", &e.path));
                    return Outcome::failed(FailureCode::FileMismatch, message);
                }
                Err(_) => tokio::time::sleep(POLL).await,
            }
        }
    }

    pub(super) async fn run_command(&mut self, r: &RunStep, timeout: Duration) -> Outcome {
        let cmd = text(&r.cmd, &self.captures);
        let dir = self.ctx.workspace.path().to_owned();
        let ended = match run_shell(&cmd, &dir, &r.env, timeout).await {
            Ok(ended) => ended,
            Err(why) => return Outcome::failed(FailureCode::CommandFailed, why.0),
        };
        let mut want = r.clone();
        want.stdout_contains = r.stdout_contains.as_ref().map(|t| text(t, &self.captures));
        want.stderr_contains = r.stderr_contains.as_ref().map(|t| text(t, &self.captures));
        want.stdout_json = r
            .stdout_json
            .as_ref()
            .map(|j| substitute(j, &self.captures));
        judge_run(&want, &ended, &mut self.captures)
    }

    /// `rel` (its `${NAME}`s resolved) under the workspace; refused when it would leave it.
    fn in_workspace(&self, rel: &str) -> Result<PathBuf, Outcome> {
        let rel = text(rel, &self.captures);
        if !crate::launch::extras::is_inside(&rel) {
            let message = format!("{rel:?} is not a relative path inside the workspace");
            return Err(Outcome::failed(FailureCode::FileMismatch, message));
        }
        Ok(self.ctx.workspace.path().join(rel))
    }
}

/// `text` with `${NAME}` replaced.
fn text(text: &str, captures: &Captures) -> String {
    match substitute(&json!(text), captures) {
        Value::String(s) => s,
        other => other.to_string(),
    }
}

fn write(path: &Path, contents: &str) -> std::io::Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(path, contents)
}

/// Checks the file at `path` once; on a miss, why (with `{path}` for the step's path).
fn check_file(path: &Path, e: &ExpectFileStep, captures: &mut Captures) -> Result<Value, Why> {
    let exists = path.exists();
    match (e.exists.unwrap_or(true), exists) {
        (false, false) => return Ok(json!({"exists": false})),
        (false, true) => return Err(Why("{path} exists and must not".into())),
        (true, false) => return Err(Why("{path} does not exist".into())),
        (true, true) => {}
    }
    let mut observed = Map::new();
    observed.insert("exists".into(), json!(true));
    if !e.checks_contents() {
        return Ok(Value::Object(observed));
    }
    let contents =
        std::fs::read_to_string(path).map_err(|err| Why(format!("cannot read {{path}}: {err}")))?;
    if let Some(want) = &e.equals {
        if &contents != want {
            return Err(Why(format!(
                "{{path}} holds {:?}, not {want:?}",
                brief(&contents)
            )));
        }
        observed.insert("equals".into(), json!(want));
    }
    if let Some(want) = &e.contains {
        if !contents.contains(want.as_str()) {
            return Err(Why(format!(
                "{{path}} ({:?}) does not contain {want:?}",
                brief(&contents)
            )));
        }
        observed.insert("contains".into(), json!(want));
    }
    if let Some(pattern) = &e.regex {
        let re = regex::Regex::new(pattern).map_err(|err| Why(err.to_string()))?;
        if !re.is_match(&contents) {
            return Err(Why(format!(
                "{{path}} ({:?}) does not match /{pattern}/",
                brief(&contents)
            )));
        }
        observed.insert("regex".into(), json!(pattern));
    }
    if let Some(want) = &e.json {
        observed.insert("json".into(), check_json(path, want, captures)?);
    }
    Ok(Value::Object(observed))
}

fn check_json(path: &Path, want: &Value, captures: &mut Captures) -> Result<Value, Why> {
    let contents =
        std::fs::read_to_string(path).map_err(|err| Why(format!("cannot read {{path}}: {err}")))?;
    let actual: Value = serde_json::from_str(&contents)
        .map_err(|err| Why(format!("{{path}} is not JSON: {err}")))?;
    matches(want, &actual, captures).map_err(|m| Why(format!("{{path}} JSON {m}")))?;
    Ok(project(want, &actual))
}

fn brief(text: &str) -> String {
    crate::text::cut(text, 200)
}

/// How a command ended.
#[derive(Debug)]
struct Ended {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

/// Runs `sh -c cmd` in `dir` in its own process group; kills the group after `timeout`.
async fn run_shell(
    cmd: &str,
    dir: &Path,
    env: &std::collections::BTreeMap<String, String>,
    timeout: Duration,
) -> Result<Ended, Why> {
    let mut command = tokio::process::Command::new("sh");
    command
        .arg("-c")
        .arg(cmd)
        .current_dir(dir)
        .envs(env)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    let child = command
        .spawn()
        .map_err(|e| Why(format!("cannot start sh -c {cmd:?}: {e}")))?;
    // Whatever way this ends (done, timed out, or the scenario's deadline dropping this
    // future), the whole group goes: nothing the command started outlives the step.
    let _group = child
        .id()
        .and_then(|p| i32::try_from(p).ok())
        .map(ProcessGroup);
    match tokio::time::timeout(timeout, child.wait_with_output()).await {
        Ok(Ok(output)) => Ok(Ended {
            code: output.status.code(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }),
        Ok(Err(e)) => Err(Why(format!("sh -c {cmd:?} failed: {e}"))),
        Err(_) => Err(Why(format!(
            "`{cmd}` did not finish within {timeout:?}; its process group was killed"
        ))),
    }
}

/// A process group this step started, killed (SIGKILL) when dropped.
struct ProcessGroup(i32);

impl Drop for ProcessGroup {
    fn drop(&mut self) {
        // SAFETY: killpg only sends a signal to the group this step started; a group that
        // is already gone makes it fail with ESRCH, which is fine.
        unsafe {
            libc::killpg(self.0, libc::SIGKILL);
        }
    }
}

/// Checks how a command ended against the step: exit code, then output.
fn judge_run(r: &RunStep, ended: &Ended, captures: &mut Captures) -> Outcome {
    let want_code = r.expect_code.unwrap_or(0);
    let mut observed = Map::new();
    observed.insert("code".into(), json!(ended.code));
    let mut failures = Vec::new();
    let mut fail = |why: String| failures.push((FailureCode::CommandFailed, why));
    if ended.code != Some(want_code) {
        let how = ended.code.map_or_else(
            || "was killed by a signal".to_owned(),
            |c| format!("exited with {c}"),
        );
        fail(format!(
            "{how}, expected exit code {want_code}; stderr: {:?}",
            brief(&ended.stderr)
        ));
    }
    for (stream, want, got) in [
        ("stdout", &r.stdout_contains, &ended.stdout),
        ("stderr", &r.stderr_contains, &ended.stderr),
    ] {
        let Some(want) = want else { continue };
        if got.contains(want.as_str()) {
            observed.insert(format!("{stream}Contains"), json!(want));
        } else {
            fail(format!(
                "{stream} {:?} does not contain {want:?}",
                brief(got)
            ));
        }
    }
    if let Some(want) = &r.stdout_json {
        match serde_json::from_str::<Value>(&ended.stdout) {
            Ok(actual) => {
                observed.insert("stdoutJson".into(), project(want, &actual));
                if let Err(m) = matches(want, &actual, captures) {
                    fail(format!("stdout JSON {m}"));
                }
            }
            Err(e) => fail(format!(
                "stdout is not JSON ({e}): {:?}",
                brief(&ended.stdout)
            )),
        }
    }
    Outcome {
        observed: Some(Value::Object(observed)),
        failures,
    }
}

#[cfg(test)]
mod tests;
