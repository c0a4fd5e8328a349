//! The smoke_check lane as a library function: prepare the runtime, start one instance, run
//! the checks, summarise hooks, and make one [`SmokeReport`] of it.
//!
//! By default it checks the user's runtime as it is: their codex, their CODEX_HOME itself (the
//! smoke thread and turn stay in their history, as any client's would), their model. A
//! hermetic runtime uses a fresh home and the mock model instead. An incompatible codex is not
//! an error here: the prepared lane says so and the command refuses.

use serde::Serialize;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tracing::Instrument;

use super::{Check, Proves, SmokeOptions};
use crate::errors::RuntimeError;
use crate::hooks::HookSummary;
use crate::outcome::CheckName;
use crate::outcome::{CompatibilityVerdict, FailureCode};
use crate::policy::ServerRequestPolicy;
use crate::protocol::ClientInfo;
use crate::runtime::{self, CodexInfo, Runtime, RuntimeConfig};
use crate::summary::millis;

/// What the hermetic mock does with the smoke turn: stream slowly, so steer and interrupt find it running.
const HERMETIC_PROMPT: &str = "[[stall:10]] cas smoke check";
/// What the hermetic mock does with the smoke turn of `--turn-completes`: answer at once.
const HERMETIC_COMPLETING_PROMPT: &str = "[[say:ok]] cas smoke check";
/// The smoke turn on a real model: cheap and short.
const REAL_PROMPT: &str = "cas smoke check: reply with the single word ok.";

/// Everything one smoke check needs, as plain values.
#[derive(Debug, Clone)]
pub struct SmokeConfig {
    /// Where the server comes from.
    pub runtime: RuntimeConfig,
    /// Resume and use this existing thread instead of starting one.
    pub thread_id: Option<String>,
    /// The deadline of each request.
    pub request_timeout: Duration,
    /// Notification methods the server should not send.
    pub opt_out_notification_methods: Vec<String>,
    /// Let the turn finish and prove it completed, instead of steering and interrupting it.
    pub turn_completes: bool,
}

/// A smoke check whose runtime is ready (or whose codex was found incompatible).
pub struct SmokeLane {
    /// The prepared runtime.
    pub runtime: Runtime,
    config: SmokeConfig,
    event_logs: Option<Arc<crate::transcript::EventLogs>>,
}

/// The whole result of a smoke check, in the field order of the command's JSON.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SmokeReport {
    /// Version of this document's shape.
    pub schema_version: u32,
    /// Always `smoke_check`.
    pub check: CheckName,
    /// Every check ok and hooks gave no failure.
    pub ok: bool,
    /// What an ok report proves: reachability, or (`--turn-completes`) turn completion.
    pub proves: Proves,
    /// The codex used, or null with `--url`.
    pub codex: Option<CodexInfo>,
    /// `stdio` or `ws`.
    pub transport: &'static str,
    /// Whether the home was hermetic.
    pub hermetic: bool,
    /// The compatibility verdict.
    pub compatibility_verdict: CompatibilityVerdict,
    /// The server and thread cwd.
    pub cwd: PathBuf,
    /// The thread the checks used.
    pub thread_id: Option<String>,
    /// Each check, in order.
    pub checks: Vec<Check>,
    /// The first failing check's code, else the hooks' failure code, if any.
    pub failure_code: Option<crate::outcome::FailureCode>,
    /// What the check saw of hooks.
    pub hook_summary: HookSummary,
    /// What cas could not do about the hook policy.
    pub hooks_note: Option<String>,
}

impl SmokeLane {
    /// Prepares the runtime (one instance).
    pub async fn prepare(config: SmokeConfig) -> Result<SmokeLane, RuntimeError> {
        let needs = runtime::requirements(&config.runtime, CheckName::SmokeCheck, None);
        let event_logs = runtime::open_event_logs(&config.runtime, CheckName::SmokeCheck, false)?;
        let runtime = runtime::prepare(&config.runtime, &needs).await?;
        Ok(SmokeLane {
            runtime,
            config,
            event_logs,
        })
    }

    /// Starts the instance and runs every check.
    pub async fn run(self) -> SmokeReport {
        let SmokeLane {
            runtime: mut rt,
            config,
            event_logs,
        } = self;
        runtime::attach_event_logs(&mut rt, event_logs.as_ref());
        let observer = runtime::hook_observer(CheckName::SmokeCheck);
        let span = tracing::info_span!("instance", index = 1, client = "cas-smoke-check");
        let (checks, thread_id) = checks(&rt, &config, observer.clone())
            .instrument(span)
            .await;
        let hooks = observer.summary(runtime::effective_hook_policy(&config.runtime));
        let ok = checks.iter().all(|c| c.ok) && hooks.failure_code.is_none();
        let failure_code = checks
            .iter()
            .find_map(|c| c.failure_code)
            .or(hooks.failure_code);
        SmokeReport {
            schema_version: 1,
            check: CheckName::SmokeCheck,
            ok,
            proves: if config.turn_completes {
                Proves::TurnCompletion
            } else {
                Proves::Reachability
            },
            codex: rt.codex,
            transport: rt.transport.as_str(),
            hermetic: rt.hermetic,
            compatibility_verdict: rt.compatibility.verdict,
            cwd: rt.cwd,
            thread_id,
            checks,
            failure_code,
            hook_summary: hooks,
            hooks_note: rt.hooks_note,
        }
    }
}

/// The handshake check, then (if it passed) the session's checks.
async fn checks(
    rt: &Runtime,
    config: &SmokeConfig,
    observer: Arc<crate::hooks::HookObserver>,
) -> (Vec<Check>, Option<String>) {
    let timeout = config.request_timeout;
    if !rt.cwd.is_dir() {
        let detail = format!(
            "not started: the cwd {} is not a directory",
            rt.cwd.display()
        );
        return (
            vec![handshake(Err((detail, Some(FailureCode::InvalidCwd))), 0.0)],
            None,
        );
    }
    let client = ClientInfo {
        name: "cas-smoke-check".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        experimental_api: config.runtime.experimental_api,
        opt_out_notification_methods: config.opt_out_notification_methods.clone(),
    };
    let t0 = Instant::now();
    let policy = Arc::new(ServerRequestPolicy::default());
    let started = rt
        .launcher
        .start(&client, policy, None, timeout, Some(observer))
        .await;
    let latency = millis(t0.elapsed());
    let instance = match started {
        Err(error) => {
            tracing::debug!(%error, "smoke handshake failed");
            let detail = crate::errors::Chain(&error).to_string();
            let code = crate::fanout::failure::start_failure_code(&error);
            return (vec![handshake(Err((detail, Some(code))), latency)], None);
        }
        Ok(instance) => instance,
    };
    let mut checks = vec![handshake(Ok(()), latency)];
    let opts = SmokeOptions {
        cwd: &rt.cwd,
        thread_id: config.thread_id.clone(),
        timeout,
        prompt: prompt(rt.hermetic, config.turn_completes).into(),
        turn_completes: config.turn_completes,
    };
    let (more, thread) = super::run(&instance.session, &opts).await;
    checks.extend(more);
    instance.shutdown(Duration::from_secs(2)).await;
    (checks, thread)
}

/// The handshake check: ok, or why not (with a code when one names it).
fn handshake(outcome: Result<(), (String, Option<FailureCode>)>, latency_ms: f64) -> Check {
    let (ok, detail, failure_code) = match outcome {
        Ok(()) => (true, "ok (initialize, then initialized)".to_owned(), None),
        Err((detail, code)) => (false, detail, code),
    };
    Check {
        name: "handshake".into(),
        ok,
        proves: Proves::Reachability,
        failure_code,
        detail,
        latency_ms,
    }
}

/// The text of the smoke turn.
fn prompt(hermetic: bool, turn_completes: bool) -> &'static str {
    match (hermetic, turn_completes) {
        (true, false) => HERMETIC_PROMPT,
        (true, true) => HERMETIC_COMPLETING_PROMPT,
        (false, _) => REAL_PROMPT,
    }
}
