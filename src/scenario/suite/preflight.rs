//! The smoke preflight of a conformance suite: `cas smoke_check --hermetic` on the chosen codex.
//!
//! It runs as a child process of the same cas binary, exactly as a user would run it, with a
//! deadline; its JSON report decides the status. On the fake targets there is no runtime to
//! check, so the preflight is skipped and says why.

use serde::Serialize;
use serde_json::Value;
use std::path::Path;
use std::time::Duration;

use crate::hooks::HookPolicy;
use crate::scenario::TargetName;

/// How long the whole preflight may take.
const PREFLIGHT_DEADLINE: Duration = Duration::from_secs(120);

/// How the preflight ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PreflightStatus {
    /// smoke_check passed.
    Pass,
    /// smoke_check failed, did not finish, or could not start.
    Fail,
    /// It did not run (by flag, or on a fake target).
    Skipped,
}

impl PreflightStatus {
    /// The name reports use: `pass`, `fail` or `skipped`.
    pub fn as_str(self) -> &'static str {
        match self {
            PreflightStatus::Pass => "pass",
            PreflightStatus::Fail => "fail",
            PreflightStatus::Skipped => "skipped",
        }
    }
}

/// The preflight's outcome as reported.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Preflight {
    /// How it ended.
    pub status: PreflightStatus,
    /// Whether it let the suite pass (`pass` or `skipped`).
    pub ok: bool,
    /// What happened, in a line.
    pub detail: String,
    /// The smoke thread, when one was started.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub thread_id: Option<String>,
}

impl Preflight {
    /// A preflight that did not run, and why.
    pub fn skipped(detail: &str) -> Preflight {
        Preflight {
            status: PreflightStatus::Skipped,
            ok: true,
            detail: detail.into(),
            thread_id: None,
        }
    }

    fn failed(detail: String) -> Preflight {
        Preflight {
            status: PreflightStatus::Fail,
            ok: false,
            detail,
            thread_id: None,
        }
    }
}

/// What the preflight runs with.
pub(super) struct PreflightSpec<'a> {
    /// The cas binary.
    pub cas_bin: &'a Path,
    /// The suite's target.
    pub target: TargetName,
    /// The workspace for the smoke thread.
    pub cwd: &'a Path,
    /// The codex binary flag, if given.
    pub codex_bin: Option<&'a Path>,
    /// The hook policy.
    pub hooks: Option<HookPolicy>,
    /// How long the whole preflight may take (default [`PREFLIGHT_DEADLINE`]).
    pub deadline: Option<Duration>,
    /// smoke_check's per-request deadline in ms, if set.
    pub request_timeout_ms: Option<u64>,
}

/// Runs the preflight (or skips it on a fake target).
pub(super) async fn run(spec: &PreflightSpec<'_>) -> Preflight {
    if !spec.target.is_codex() {
        return Preflight::skipped("the fake server is not a runtime to smoke-check");
    }
    let transport = if spec.target == TargetName::CodexWs {
        "ws"
    } else {
        "stdio"
    };
    let mut command = tokio::process::Command::new(spec.cas_bin);
    command
        .args([
            "smoke_check",
            "--hermetic",
            "--json",
            "--transport",
            transport,
        ])
        .arg("--cwd")
        .arg(spec.cwd)
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true);
    if let Some(bin) = spec.codex_bin {
        command.arg("--codex-bin").arg(bin);
    }
    if let Some(policy) = spec.hooks {
        command.arg("--hooks").arg(policy.as_str());
    }
    if let Some(ms) = spec.request_timeout_ms {
        command.arg("--request-timeout-ms").arg(ms.to_string());
    }
    let deadline = spec.deadline.unwrap_or(PREFLIGHT_DEADLINE);
    let output = match output_within(command, deadline).await {
        Err(_) => {
            return Preflight::failed(format!("smoke_check did not finish within {deadline:?}"))
        }
        Ok(Err(e)) => return Preflight::failed(format!("unable to start smoke_check: {e}")),
        Ok(Ok(output)) => output,
    };
    judge(
        output.status.code(),
        &String::from_utf8_lossy(&output.stdout),
        &String::from_utf8_lossy(&output.stderr),
    )
}

/// Runs `command` to its end within `deadline`, registered so that an interrupt stops it
/// with SIGTERM (the child cas then cleans up after itself).
async fn output_within(
    mut command: tokio::process::Command,
    deadline: Duration,
) -> Result<std::io::Result<std::process::Output>, tokio::time::error::Elapsed> {
    let child = command
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn();
    let pid = child.as_ref().ok().and_then(tokio::process::Child::id);
    if let Some(pid) = pid {
        crate::interrupt::register_child(pid);
    }
    let waited = match child {
        Ok(child) => tokio::time::timeout(deadline, child.wait_with_output()).await,
        Err(e) => Ok(Err(e)),
    };
    if let Some(pid) = pid {
        crate::interrupt::unregister_child(pid);
    }
    waited
}

/// The preflight's verdict from smoke_check's exit code and output.
fn judge(code: Option<i32>, stdout: &str, stderr: &str) -> Preflight {
    let report: Option<Value> = serde_json::from_str(stdout.trim()).ok();
    let Some(report) = report.filter(Value::is_object) else {
        let stderr = stderr.trim();
        return Preflight::failed(format!(
            "exit={} stderr={}",
            code.map_or("signal".into(), |c| c.to_string()),
            if stderr.is_empty() { "<empty>" } else { stderr }
        ));
    };
    let ok = code == Some(0) && report["ok"] == Value::Bool(true);
    let checks = report["checks"].as_array().map_or(0, Vec::len);
    let thread_id = report["threadId"].as_str().map(str::to_owned);
    let mut detail = format!(
        "smoke_check {} (checks={checks}",
        if ok { "pass" } else { "fail" }
    );
    if !ok {
        let failing: Vec<&str> = report["checks"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|c| c["ok"] != Value::Bool(true))
            .filter_map(|c| c["name"].as_str())
            .collect();
        detail.push_str(&format!(", failing: {}", failing.join(", ")));
    }
    detail.push(')');
    Preflight {
        status: if ok {
            PreflightStatus::Pass
        } else {
            PreflightStatus::Fail
        },
        ok,
        detail,
        thread_id,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn judged_by_exit_code_and_report() {
        let pass = r#"{"ok":true,"checks":[{"name":"a","ok":true}],"threadId":"t1"}"#;
        let p = judge(Some(0), pass, "");
        assert_eq!((p.status, p.ok), (PreflightStatus::Pass, true));
        assert_eq!(p.detail, "smoke_check pass (checks=1)");
        let fail =
            r#"{"ok":false,"checks":[{"name":"a","ok":true},{"name":"turn/steer","ok":false}]}"#;
        let p = judge(Some(1), fail, "");
        assert_eq!((p.status, p.ok), (PreflightStatus::Fail, false));
        assert!(p.detail.contains("failing: turn/steer"), "{}", p.detail);
        let p = judge(Some(2), "", "cas: no codex\n");
        assert_eq!(p.detail, "exit=2 stderr=cas: no codex");
        let p = judge(Some(1), pass, "");
        assert!(!p.ok, "a non-zero exit fails even with ok:true");
    }
}
