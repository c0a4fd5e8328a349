//! `cas review_session start|status|wait|interrupt`: code reviews on a detached websocket lane.
//!
//! `start` checks the codex (version, compatibility, hook policy), prepares the lane (hermetic
//! home or the user's CODEX_HOME, parent checks) and launches the detached host; with `--wait`
//! it then waits like `wait`. `status`, `wait` and `interrupt` work from the record alone, in
//! any process. Every form prints the same document (see `review::outcome::document`). Exit
//! codes: 0 when the review succeeded (`wait`, `start --wait`) or is healthy so far (`start`,
//! `status`, `interrupt` without a failure code), 1 with a failure code, 2 when cas could not
//! run (usage, no codex, no record, an incompatible codex).

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use super::output::{pretty, print_stdout};
use super::review_start::{self, Fallback, Plan, StartArgs};
use crate::review::lane;
use crate::review::lifecycle;
use crate::review::outcome::document;
use crate::review::record::{self, ReviewRecord};

/// Flags of `cas review_session`.
#[derive(Debug, clap::Args)]
pub struct ReviewSessionArgs {
    /// What to do.
    #[command(subcommand)]
    pub action: ReviewAction,
}

/// The review_session actions.
#[derive(Debug, clap::Subcommand)]
pub enum ReviewAction {
    /// Start a review on a detached websocket lane (and, with --wait, wait for it).
    Start(Box<StartArgs>),
    /// The review's state as recorded, with its processes checked.
    Status(HandleArgs),
    /// Wait for the review to end (a wait that times out leaves it waitable).
    Wait(WaitArgs),
    /// Interrupt a live review through its managed server.
    Interrupt(WaitArgs),
    /// Run a lane (started by `start`; not for direct use).
    #[command(hide = true)]
    Host {
        /// The lane folder holding spec.json.
        #[arg(long)]
        lane_dir: PathBuf,
    },
}

/// Flags naming a review.
#[derive(Debug, Clone, clap::Args)]
pub struct HandleArgs {
    /// The review's handle.
    #[arg(long)]
    pub review_thread_id: String,
    /// Look for the record in this CODEX_HOME only (default: $CODEX_HOME, then cas's index).
    #[arg(long)]
    pub codex_home: Option<PathBuf>,
    /// Print exactly one JSON document on stdout.
    #[arg(long)]
    pub json: bool,
}

/// Flags of `wait` and `interrupt`.
#[derive(Debug, Clone, clap::Args)]
pub struct WaitArgs {
    /// The review.
    #[command(flatten)]
    pub handle: HandleArgs,
    /// How long to wait for the end, in ms.
    #[arg(long, default_value_t = 2_700_000)]
    pub timeout_ms: u64,
}

/// Runs the command.
pub async fn run(args: ReviewSessionArgs) -> ExitCode {
    match args.action {
        ReviewAction::Start(start) => run_start(*start).await,
        ReviewAction::Status(h) => {
            by_handle(&h, |path| async move {
                lifecycle::refresh(&path).map(|r| (r, false))
            })
            .await
        }
        ReviewAction::Wait(w) => {
            let timeout = Duration::from_millis(w.timeout_ms);
            by_handle(&w.handle, |path| async move {
                lifecycle::wait(&path, timeout).await
            })
            .await
        }
        ReviewAction::Interrupt(w) => {
            let timeout = Duration::from_millis(w.timeout_ms);
            by_handle(&w.handle, |path| async move {
                lifecycle::interrupt(&path, timeout).await
            })
            .await
        }
        ReviewAction::Host { lane_dir } => ExitCode::from(lane::host(&lane_dir).await),
    }
}

async fn by_handle<F, Fut>(h: &HandleArgs, action: F) -> ExitCode
where
    F: FnOnce(PathBuf) -> Fut,
    Fut: std::future::Future<Output = Result<(ReviewRecord, bool), crate::errors::ReviewError>>,
{
    let path = match record::locate(&h.review_thread_id, h.codex_home.as_deref()) {
        Ok(path) => path,
        Err(e) => return usage(&e.to_string()),
    };
    match action(path.clone()).await {
        Ok((rec, timed_out)) => report(&rec, Some(&path), timed_out, h.json, true),
        Err(e) => usage(&e.to_string()),
    }
}

fn usage(message: &str) -> ExitCode {
    eprintln!("cas: {message}");
    ExitCode::from(2)
}

/// Prints the document; exit 0 on success (or, when `need_result` is false, on no failure code).
fn report(
    rec: &ReviewRecord,
    path: Option<&Path>,
    timed_out: bool,
    json: bool,
    need_result: bool,
) -> ExitCode {
    let doc = document(rec, path, timed_out);
    if json {
        print_stdout(&pretty(&doc));
    } else {
        print_stdout(&human(&doc));
    }
    let waited_for_end = need_result && rec.status.is_terminal();
    let ok = if waited_for_end || (need_result && timed_out) {
        doc["success"] == true
    } else {
        doc["failureCode"].is_null()
    };
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

fn human(doc: &Value) -> String {
    let s = |k: &str| doc[k].as_str().unwrap_or("-").to_owned();
    let mut text = format!(
        "review {}: {} (failureCode: {})",
        s("reviewThreadId"),
        s("status"),
        s("failureCode")
    );
    if let Some(hint) = doc["failureHint"].as_str() {
        text.push_str(&format!("\n  {hint}"));
    }
    for f in doc["reviewResult"]["findings"]
        .as_array()
        .into_iter()
        .flatten()
    {
        text.push_str(&format!("\n  - {}", f["title"].as_str().unwrap_or("?")));
    }
    if let Some(explanation) = doc["reviewResult"]["overallExplanation"].as_str() {
        text.push_str(&format!("\n  {explanation}"));
    }
    text
}

async fn run_start(args: StartArgs) -> ExitCode {
    let plan = match review_start::plan(&args).await {
        Ok(plan) => plan,
        Err(message) => return usage(&message.to_string()),
    };
    let json = args.json;
    let mut rec = match plan {
        Plan::Refused(rec) => {
            // An incompatible codex or unusable hook policy: cas cannot run the lane.
            report(&rec, None, false, json, false);
            return ExitCode::from(2);
        }
        Plan::Blocked(rec) => return report(&rec, None, false, json, false),
        Plan::Launch(spec, files) => {
            match lifecycle::launch(&spec, &files, startup_deadline(&args)).await {
                Ok(rec) => rec,
                Err(e) => return usage(&e.to_string()),
            }
        }
    };
    let bootstrap_failed =
        rec.outcome.failure_code == Some(crate::outcome::FailureCode::WebsocketBootstrapFailed);
    if bootstrap_failed && args.fallback == Fallback::NativeReview {
        rec = review_start::with_fallback(rec, &args).await;
        return report(&rec, None, false, json, true);
    }
    let path = rec.path();
    if !args.wait || rec.status.is_terminal() || path.is_none() {
        return report(&rec, path.as_deref(), false, json, args.wait);
    }
    let path = path.unwrap_or_default();
    match lifecycle::wait(&path, Duration::from_millis(args.timeout_ms)).await {
        Ok((rec, timed_out)) => report(&rec, Some(&path), timed_out, json, true),
        Err(e) => usage(&e.to_string()),
    }
}

fn startup_deadline(args: &StartArgs) -> Duration {
    Duration::from_millis(args.request_timeout_ms.saturating_mul(3).max(60_000))
}
