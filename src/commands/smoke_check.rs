//! `cas smoke_check`: prove a runtime is reachable, check by check.
//!
//! By default it checks the user's runtime as it is: their codex, their CODEX_HOME itself (the
//! smoke thread and turn stay in their history, as any client's would), their model.
//! `--hermetic` uses a fresh home and the mock model instead; `--url` checks a running
//! websocket server. Exit 0 when every check is ok, 1 when one is not, 2 when cas could
//! not run (bad flags, missing codex).

use serde_json::json;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::args::RuntimeArgs;
use super::output::{pretty, print_stdout};
use super::runtime;
use crate::policy::ServerRequestPolicy;
use crate::protocol::ClientInfo;
use crate::smoke::{self, Check, SmokeOptions};
use crate::summary::millis;

/// Flags of `cas smoke_check`.
#[derive(Debug, Clone, clap::Args)]
pub struct SmokeCheckArgs {
    /// Where the server comes from.
    #[command(flatten)]
    pub runtime: RuntimeArgs,
    /// Resume and use this existing thread instead of starting one.
    #[arg(long)]
    pub thread_id: Option<String>,
}

/// What the hermetic mock does with the smoke turn: stream slowly, so steer and interrupt find it running.
const HERMETIC_PROMPT: &str = "[[stall:10]] cas smoke check";
/// The smoke turn on a real model: cheap and short.
const REAL_PROMPT: &str = "cas smoke check: reply with the single word ok.";

/// Runs the command.
pub async fn run(args: SmokeCheckArgs) -> ExitCode {
    let needs = super::runtime::requirements(&args.runtime, "smoke_check", None);
    let rt = match runtime::prepare(&args.runtime, None, 1, true, &needs).await {
        Ok(rt) => rt,
        Err(message) => {
            eprintln!("cas: {message}");
            return ExitCode::from(2);
        }
    };
    if rt.incompatible() {
        return rt.refuse("smoke_check", args.runtime.json);
    }
    let timeout = Duration::from_millis(args.runtime.request_timeout_ms);
    let client = ClientInfo {
        name: "cas-smoke-check".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        experimental_api: args.runtime.experimental_api,
        opt_out_notification_methods: args.runtime.opt_out_notification_methods.clone(),
    };
    let observer = runtime::hook_observer("smoke_check");
    let t0 = Instant::now();
    let started = rt
        .launcher
        .start(
            &client,
            Arc::new(ServerRequestPolicy::default()),
            None,
            timeout,
            Some(observer.clone()),
        )
        .await;
    let mut checks = Vec::new();
    let mut thread_id = None;
    match started {
        Err(error) => checks.push(Check {
            name: "handshake".into(),
            ok: false,
            detail: error,
            latency_ms: millis(t0.elapsed()),
        }),
        Ok(instance) => {
            checks.push(Check {
                name: "handshake".into(),
                ok: true,
                detail: "ok (initialize, then initialized)".into(),
                latency_ms: millis(t0.elapsed()),
            });
            let opts = SmokeOptions {
                cwd: &rt.cwd,
                thread_id: args.thread_id.clone(),
                timeout,
                prompt: if rt.hermetic {
                    HERMETIC_PROMPT
                } else {
                    REAL_PROMPT
                }
                .into(),
            };
            let (more, thread) = smoke::run(&instance.session, &opts).await;
            checks.extend(more);
            thread_id = thread;
            instance.shutdown(Duration::from_secs(2)).await;
        }
    }
    let hooks = observer.summary(runtime::effective_hook_policy(&args.runtime));
    let ok = checks.iter().all(|c| c.ok) && hooks.failure_code.is_none();
    let doc = json!({
        "schemaVersion": 1,
        "check": "smoke_check",
        "ok": ok,
        "codex": rt.codex,
        "transport": rt.transport.as_str(),
        "hermetic": rt.hermetic,
        "compatibilityVerdict": rt.compatibility["compatibilityVerdict"],
        "cwd": rt.cwd,
        "threadId": thread_id,
        "checks": checks,
        "failureCode": hooks.failure_code,
        "hookSummary": hooks,
        "hooksNote": rt.hooks_note,
    });
    if args.runtime.json {
        print_stdout(&pretty(&doc));
    } else {
        let mut text = format!("smoke_check: {}\n", if ok { "ok" } else { "FAILED" });
        for c in &checks {
            text.push_str(&format!(
                "  {:<4} {:<26} {:>9.1} ms  {}\n",
                if c.ok { "ok" } else { "FAIL" },
                c.name,
                c.latency_ms,
                c.detail
            ));
        }
        print_stdout(text.trim_end());
    }
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
