//! `cas smoke_check`: prove a runtime is reachable, check by check.
//!
//! By default it checks the user's runtime as it is: their codex, their CODEX_HOME itself (the
//! smoke thread and turn stay in their history, as any client's would), their model.
//! `--hermetic` uses a fresh home and the mock model instead; `--url` checks a running
//! websocket server. Exit 0 when every check is ok, 1 when one is not, 2 when cas could
//! not run (bad flags, missing codex).

use std::process::ExitCode;
use std::time::Duration;

use super::args::RuntimeArgs;
use super::output::{fail, print_result, refuse};
use crate::outcome::CheckName;
use crate::runtime::UserHome;
use crate::smoke::lane::{SmokeConfig, SmokeLane, SmokeReport};

/// Flags of `cas smoke_check`.
#[derive(Debug, Clone, clap::Args)]
pub struct SmokeCheckArgs {
    /// Where the server comes from.
    #[command(flatten)]
    pub runtime: RuntimeArgs,
    /// Resume and use this existing thread instead of starting one.
    #[arg(long)]
    pub thread_id: Option<String>,
    /// Let the smoke turn finish (within the request deadline) instead of steering and
    /// interrupting it: the check then proves the model answers, not only reachability
    #[arg(long)]
    pub turn_completes: bool,
}

/// Runs the command.
pub async fn run(args: SmokeCheckArgs) -> ExitCode {
    let config = SmokeConfig {
        runtime: args.runtime.config(None, 1, UserHome::AsIs),
        thread_id: args.thread_id.clone(),
        request_timeout: Duration::from_millis(args.runtime.request_timeout_ms),
        opt_out_notification_methods: args.runtime.opt_out_notification_methods.clone(),
        turn_completes: args.turn_completes,
    };
    let lane = match SmokeLane::prepare(config).await {
        Ok(lane) => lane,
        Err(e) => return fail(CheckName::SmokeCheck.as_str(), args.runtime.json, &e),
    };
    if lane.runtime.incompatible() {
        return refuse(&lane.runtime, CheckName::SmokeCheck, args.runtime.json);
    }
    let report = lane.run().await;
    print_result(&report, args.runtime.json, human, report.ok)
}

fn human(report: &SmokeReport) -> String {
    let verdict = match (report.ok, report.failure_code) {
        (true, _) => format!("ok (proves {})", report.proves.as_str()),
        (false, Some(code)) => format!("FAILED ({})", code.as_str()),
        (false, None) => "FAILED".to_owned(),
    };
    let mut text = format!("smoke_check: {verdict}\n");
    for c in &report.checks {
        text.push_str(&format!(
            "  {:<4} {:<26} {:>9.1} ms  {}\n",
            if c.ok { "ok" } else { "FAIL" },
            c.name,
            c.latency_ms,
            c.detail
        ));
    }
    text.trim_end().to_owned()
}
