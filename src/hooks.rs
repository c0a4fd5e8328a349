//! Hook policy and hook observation: what cas lets codex's hooks do, and what it saw them do.
//!
//! `inherit` leaves hooks as configured; `off` launches cas-owned servers with the hooks feature
//! disabled; `require-observed` fails closed with `hook_not_observed` when a lane saw no hook
//! run. Whatever the policy, every `hook/started` and `hook/completed` notification is appended
//! raw to an NDJSON log and counted, and a bad status fails the lane with precedence
//! `hook_blocked` > `hook_failed` > `hook_stopped`.

use serde::Serialize;
use serde_json::{json, Value};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use crate::errors::HooksSetupError;
use crate::jsonrpc::RpcError;
use crate::outcome::FailureCode;
use crate::session::{Notification, NotificationTap, Session};

/// What cas lets hooks do.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, serde::Deserialize, clap::ValueEnum,
)]
#[serde(rename_all = "kebab-case")]
pub enum HookPolicy {
    /// Hooks run as configured; cas observes them.
    #[default]
    Inherit,
    /// cas-owned servers start with the hooks feature disabled.
    Off,
    /// A lane that saw no hook run fails with `hook_not_observed`.
    RequireObserved,
}

impl std::fmt::Display for HookPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl HookPolicy {
    /// The kebab-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            HookPolicy::Inherit => "inherit",
            HookPolicy::Off => "off",
            HookPolicy::RequireObserved => "require-observed",
        }
    }
}

/// What a lane saw of hooks.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HookSummary {
    /// The policy in force.
    pub policy: HookPolicy,
    /// At least one hook run was seen.
    pub observed: bool,
    /// `hook/started` notifications.
    pub started: usize,
    /// `hook/completed` notifications.
    pub completed: usize,
    /// Completed runs with status `blocked`.
    pub blocked: usize,
    /// Completed runs with status `failed`.
    pub failed: usize,
    /// Completed runs with status `stopped`.
    pub stopped: usize,
    /// The failure this summary gives the lane, if any.
    pub failure_code: Option<FailureCode>,
    /// The NDJSON log of every hook notification (`null` if it could not be opened).
    pub hook_log_path: Option<String>,
    /// The events of completed runs, in order (e.g. `userPromptSubmit`, `stop`).
    pub events: Vec<String>,
}

#[derive(Default)]
struct Counts {
    started: usize,
    completed: usize,
    blocked: usize,
    failed: usize,
    stopped: usize,
    events: Vec<String>,
}

/// Watches a session's notifications for hook runs, logging each (method and params, as
/// received) to NDJSON.
pub struct HookObserver {
    path: PathBuf,
    log: Mutex<Option<std::fs::File>>,
    counts: Mutex<Counts>,
}

impl HookObserver {
    /// An observer appending to `path`; the file (and its folder) is created at the first hook
    /// notification, so a run that sees no hook leaves no log.
    pub fn new(path: PathBuf) -> HookObserver {
        HookObserver {
            path,
            log: Mutex::new(None),
            counts: Mutex::new(Counts::default()),
        }
    }

    /// The log file, opened (and created with its folder) on first use.
    fn open_log(path: &Path) -> Option<std::fs::File> {
        path.parent()
            .map(std::fs::create_dir_all)
            .and_then(Result::ok)
            .and_then(|_| {
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .ok()
            })
    }

    /// The summary under `policy`.
    pub fn summary(&self, policy: HookPolicy) -> HookSummary {
        let c = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        let observed = c.started + c.completed > 0;
        let failure_code = if c.blocked > 0 {
            Some(FailureCode::HookBlocked)
        } else if c.failed > 0 {
            Some(FailureCode::HookFailed)
        } else if c.stopped > 0 {
            Some(FailureCode::HookStopped)
        } else if policy == HookPolicy::RequireObserved && !observed {
            Some(FailureCode::HookNotObserved)
        } else if policy == HookPolicy::Off && observed {
            Some(FailureCode::HookObservedWhileOff)
        } else {
            None
        };
        HookSummary {
            policy,
            observed,
            started: c.started,
            completed: c.completed,
            blocked: c.blocked,
            failed: c.failed,
            stopped: c.stopped,
            failure_code,
            hook_log_path: self
                .log
                .lock()
                .map(|l| l.is_some())
                .unwrap_or(false)
                .then(|| self.path.display().to_string()),
            events: c.events.clone(),
        }
    }
}

impl NotificationTap for HookObserver {
    fn observe(&self, n: &Notification) {
        let started = n.method == "hook/started";
        if !started && n.method != "hook/completed" {
            return;
        }
        if let Ok(mut log) = self.log.lock() {
            if log.is_none() {
                *log = HookObserver::open_log(&self.path);
            }
            if let Some(file) = log.as_mut() {
                let line = json!({"method": n.method, "params": n.params});
                let _ = writeln!(file, "{line}");
            }
        }
        let mut c = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        if started {
            c.started += 1;
            return;
        }
        c.completed += 1;
        let run = &n.params["run"];
        match run["status"].as_str() {
            Some("blocked") => c.blocked += 1,
            Some("failed") => c.failed += 1,
            Some("stopped") => c.stopped += 1,
            _ => {}
        }
        c.events
            .push(run["eventName"].as_str().unwrap_or("?").to_owned());
    }
}

/// Reads a hooks.json and returns its text with its folder (what `${HOOKS_DIR}` stands for).
pub fn read_config(path: &Path) -> std::io::Result<(String, PathBuf)> {
    let text = std::fs::read_to_string(path)?;
    let dir = path
        .canonicalize()
        .ok()
        .and_then(|p| p.parent().map(ToOwned::to_owned))
        .unwrap_or_default();
    Ok((text, dir))
}

/// Installs `hooks_json` as `hooks.json` of a CODEX_HOME cas owns; `${HOOKS_DIR}` in it is
/// replaced by `hooks_dir` (where the fixture scripts live).
pub fn install(codex_home: &Path, hooks_json: &str, hooks_dir: &Path) -> std::io::Result<()> {
    let text = hooks_json.replace("${HOOKS_DIR}", &hooks_dir.display().to_string());
    std::fs::write(codex_home.join("hooks.json"), text)
}

/// Trusts every hook the server lists for `cwd` (`hooks/list`, then `config/batchWrite` of
/// `hooks.state` with each key's current hash); returns how many it trusted.
pub async fn trust_all(
    session: &Session,
    cwd: &Path,
    timeout: Duration,
) -> Result<usize, HooksSetupError> {
    let listed = session
        .request("hooks/list", Some(json!({"cwds": [cwd]})), timeout)
        .await?
        .map_err(|e| refused("hooks/list", e))?;
    let mut state = serde_json::Map::new();
    let mut listed_hooks = 0;
    for entry in listed["data"].as_array().into_iter().flatten() {
        if let Some(errors) = entry["errors"].as_array().filter(|e| !e.is_empty()) {
            return Err(HooksSetupError::Listed(Value::Array(errors.clone())));
        }
        listed_hooks += entry["hooks"].as_array().map_or(0, Vec::len);
        for hook in entry["hooks"].as_array().into_iter().flatten() {
            if let (Some(key), Some(hash)) = (hook["key"].as_str(), hook["currentHash"].as_str()) {
                if hook["trustStatus"] != "trusted" {
                    state.insert(key.to_owned(), json!({"trusted_hash": hash}));
                }
            }
        }
    }
    if listed_hooks == 0 {
        return Err(HooksSetupError::NoHooks);
    }
    if state.is_empty() {
        return Ok(0);
    }
    let count = state.len();
    // The keys contain dots, so they go in `value`, never in `keyPath`.
    let edit =
        json!({"keyPath": "hooks.state", "value": Value::Object(state), "mergeStrategy": "upsert"});
    session
        .request(
            "config/batchWrite",
            Some(json!({"edits": [edit], "reloadUserConfig": true})),
            timeout,
        )
        .await?
        .map_err(|e| refused("config/batchWrite", e))?;
    Ok(count)
}

fn refused(method: &'static str, error: RpcError) -> HooksSetupError {
    HooksSetupError::Refused {
        method,
        error: Box::new(error),
    }
}

/// The name under which `codex features list` (run with `codex_home`) knows the hooks
/// feature: `hooks`, or the older `codex_hooks`; `None` when it knows neither.
pub async fn feature_name(bin: &Path, codex_home: &Path) -> Option<&'static str> {
    let mut command = tokio::process::Command::new(bin);
    command
        .args(["features", "list"])
        .env("CODEX_HOME", codex_home)
        .kill_on_drop(true);
    let output = tokio::time::timeout(Duration::from_secs(20), command.output())
        .await
        .ok()?
        .ok()?;
    let text = String::from_utf8_lossy(&output.stdout);
    let names: Vec<&str> = text
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    ["hooks", "codex_hooks"]
        .into_iter()
        .find(|n| names.contains(n))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn note(method: &str, event: &str, status: &str) -> Notification {
        Notification {
            seq: 0,
            method: method.into(),
            params: json!({"run": {"eventName": event, "status": status}}),
        }
    }

    #[test]
    fn counts_logs_and_ranks_bad_statuses() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("logs/hooks.ndjson");
        let observer = HookObserver::new(path.clone());
        assert_eq!(
            observer.summary(HookPolicy::RequireObserved).failure_code,
            Some(FailureCode::HookNotObserved)
        );
        assert_eq!(observer.summary(HookPolicy::Inherit).failure_code, None);
        observer.observe(&note("hook/started", "userPromptSubmit", "running"));
        observer.observe(&note("hook/completed", "userPromptSubmit", "completed"));
        observer.observe(&note("turn/completed", "x", "y"));
        let ok = observer.summary(HookPolicy::RequireObserved);
        assert_eq!(
            (ok.observed, ok.started, ok.completed, ok.failure_code),
            (true, 1, 1, None)
        );
        observer.observe(&note("hook/completed", "stop", "stopped"));
        assert_eq!(
            observer.summary(HookPolicy::Inherit).failure_code,
            Some(FailureCode::HookStopped)
        );
        observer.observe(&note("hook/completed", "stop", "failed"));
        assert_eq!(
            observer.summary(HookPolicy::Inherit).failure_code,
            Some(FailureCode::HookFailed)
        );
        let off = HookObserver::new(dir.path().join("off.ndjson"));
        off.observe(&note("hook/started", "stop", "running"));
        assert_eq!(
            off.summary(HookPolicy::Off).failure_code,
            Some(FailureCode::HookObservedWhileOff)
        );
        observer.observe(&note("hook/completed", "stop", "blocked"));
        let worst = observer.summary(HookPolicy::Inherit);
        assert_eq!(worst.failure_code, Some(FailureCode::HookBlocked));
        assert_eq!(worst.events, ["userPromptSubmit", "stop", "stop", "stop"]);
        let lines = std::fs::read_to_string(&path).unwrap();
        assert_eq!(lines.lines().count(), 5);
    }
}
