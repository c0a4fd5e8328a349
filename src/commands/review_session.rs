//! `cas review_session start|status|wait|interrupt`: code reviews on a detached websocket lane
//! (or, for `start --wait` on a codex without websocket flags, a stdio lane in this process).
//!
//! `start` checks the codex (version, compatibility, hook policy) and the review target (git:
//! a work tree, `--base` and `--commit` exist, `--uncommitted` has changes), prepares the lane
//! (hermetic home or the user's CODEX_HOME, parent checks) and launches the detached host; with `--wait`
//! it then waits like `wait` (all in [`crate::review::start`]). `status`, `wait` and
//! `interrupt` work from the record alone, in any process ([`crate::review::report`]). Every
//! form prints the same document (see `review::outcome::document`). Exit codes: 0 when the
//! review succeeded (`wait`, `start --wait`) or is healthy so far (`start`, `status`,
//! `interrupt` without a failure code), 1 with a failure code (a refusal before launch, such as
//! `review_target_invalid`, also says why on stderr in text mode), 2 when cas could not run
//! (usage, no codex, no git, no record, an incompatible codex).

use serde_json::Value;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use super::args::PolicyArgs;
use super::output::{fail, mark_refusal, print_result};
use crate::hooks::HookPolicy;
use crate::review::housekeeping;
use crate::review::lane;
use crate::review::record::ParentMode;
use crate::review::report::{self, Handle, Report};
use crate::review::start::{self, Fallback, StartConfig, Started};

/// The `check` of this command's documents.
const CHECK: &str = "review_session";

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
    Interrupt(InterruptArgs),
    /// Every recorded review: status, failure code, whether its host and server are alive.
    List(ListArgs),
    /// Stop a review now: its host and its managed server (an unfinished review is recorded
    /// as review_transport_lost).
    Stop(HandleArgs),
    /// Run a lane (started by `start`; not for direct use).
    #[command(hide = true)]
    Host {
        /// The lane folder holding spec.json.
        #[arg(long)]
        lane_dir: PathBuf,
    },
}

/// Flags of `cas review_session start`.
#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("target").required(true).multiple(false)
    .args(["uncommitted", "base", "commit", "custom_instructions"])))]
pub struct StartArgs {
    /// Review staged, unstaged and untracked changes.
    #[arg(long)]
    pub uncommitted: bool,
    /// Review the changes against this base branch.
    #[arg(long, value_name = "BRANCH")]
    pub base: Option<String>,
    /// Review the changes of this commit.
    #[arg(long, value_name = "SHA")]
    pub commit: Option<String>,
    /// With --commit: the title shown in the review summary.
    #[arg(long, requires = "commit")]
    pub title: Option<String>,
    /// Review with these instructions: TEXT, @FILE, or - for stdin.
    #[arg(long, value_name = "TEXT|@FILE|-")]
    pub custom_instructions: Option<String>,
    /// The repository to review (default: the current directory).
    #[arg(long)]
    pub cwd: Option<PathBuf>,
    /// A thread to review on (reuse) or to record as the parent (fresh).
    #[arg(long)]
    pub parent_thread_id: Option<String>,
    /// auto: reuse the parent when it is materialized and safe, else a fresh thread.
    #[arg(long, value_enum, default_value = "auto")]
    pub parent_mode: ParentMode,
    /// Wait for the review to end (up to --timeout-ms).
    #[arg(long)]
    pub wait: bool,
    /// With --wait: how long to wait, in ms.
    #[arg(long, default_value_t = 2_700_000)]
    pub timeout_ms: u64,
    /// When the websocket lane cannot come up: nothing else, or a native `codex review`.
    #[arg(long, value_enum, default_value = "none")]
    pub fallback: Fallback,
    /// Answers to server requests.
    #[command(flatten)]
    pub policy: PolicyArgs,
    /// What cas lets codex's hooks do (off: the server starts with hooks disabled).
    #[arg(long, value_enum, default_value = "inherit")]
    pub hooks: HookPolicy,
    /// With --hermetic: a hooks.json to install and trust in the lane's home.
    #[arg(long, requires = "hermetic")]
    pub hooks_config: Option<PathBuf>,
    /// A fresh CODEX_HOME (kept under cas's state folder) whose model is cas's mock.
    #[arg(long)]
    pub hermetic: bool,
    /// The codex binary (default: CAS_CODEX_BIN, the project install, then PATH).
    #[arg(long)]
    pub codex_bin: Option<PathBuf>,
    /// How long the managed server outlives the end of its review, in seconds.
    #[arg(long, default_value_t = 900)]
    pub orphan_ttl_seconds: u64,
    /// The review's own deadline (the lane interrupts it then), in ms.
    #[arg(long, default_value_t = 2_700_000)]
    pub review_deadline_ms: u64,
    /// The deadline of each request, in ms.
    #[arg(long, default_value_t = 30_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub request_timeout_ms: u64,
    /// Print exactly one JSON document on stdout.
    #[arg(long)]
    pub json: bool,
}

impl StartArgs {
    /// The start these flags describe.
    pub fn config(&self) -> StartConfig {
        StartConfig {
            base: self.base.clone(),
            commit: self.commit.clone(),
            title: self.title.clone(),
            custom_instructions: self.custom_instructions.clone(),
            cwd: self.cwd.clone(),
            parent_thread_id: self.parent_thread_id.clone(),
            parent_mode: self.parent_mode,
            wait: self.wait,
            timeout_ms: self.timeout_ms,
            fallback: self.fallback,
            policy: self.policy.config(),
            hooks: self.hooks,
            hooks_config: self.hooks_config.clone(),
            hermetic: self.hermetic,
            codex_bin: self.codex_bin.clone(),
            orphan_ttl_seconds: self.orphan_ttl_seconds,
            review_deadline_ms: self.review_deadline_ms,
            request_timeout_ms: self.request_timeout_ms,
        }
    }
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

impl HandleArgs {
    /// The review these flags name.
    pub fn handle(&self) -> Handle {
        Handle {
            review_thread_id: self.review_thread_id.clone(),
            codex_home: self.codex_home.clone(),
        }
    }
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

/// Flags of `interrupt`.
#[derive(Debug, Clone, clap::Args)]
pub struct InterruptArgs {
    /// The review.
    #[command(flatten)]
    pub handle: HandleArgs,
    /// How long to wait for the interrupted review's end to be recorded, in ms.
    #[arg(long, default_value_t = 30_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub timeout_ms: u64,
}

/// Flags of `list`.
#[derive(Debug, Clone, clap::Args)]
pub struct ListArgs {
    /// Print exactly one JSON document on stdout.
    #[arg(long)]
    pub json: bool,
}

/// Runs the command.
pub async fn run(args: ReviewSessionArgs) -> ExitCode {
    let (reported, json) = match args.action {
        ReviewAction::Start(start) => return run_start(&start).await,
        ReviewAction::Status(h) => (report::status(&h.handle()), h.json),
        ReviewAction::Wait(w) => {
            let timeout = Duration::from_millis(w.timeout_ms);
            // A spinner on stderr while waiting, on a terminal only and never with --json.
            let ticker = crate::progress::Ticker::spinner("waiting for the review", !w.handle.json);
            let waited = report::wait(&w.handle.handle(), timeout).await;
            ticker.finish();
            (waited, w.handle.json)
        }
        ReviewAction::Interrupt(w) => {
            let timeout = Duration::from_millis(w.timeout_ms);
            let reported = report::interrupt(&w.handle.handle(), timeout).await;
            (reported, w.handle.json)
        }
        ReviewAction::Host { lane_dir } => return ExitCode::from(lane::host(&lane_dir).await),
        ReviewAction::List(l) => return print_list(l.json),
        ReviewAction::Stop(h) => (housekeeping::stop(&h.handle()).await, h.json),
    };
    match reported {
        Ok(report) => print_report(&report, json),
        Err(e) => fail(CHECK, json, &e),
    }
}

async fn run_start(args: &StartArgs) -> ExitCode {
    match start::start(&args.config()).await {
        Ok(Started::Refused(report)) => {
            // An incompatible codex or unusable hook policy: cas cannot run the lane.
            let mut doc = report.document();
            let hint = report.record.outcome.failure_hint.clone();
            let message = hint.unwrap_or_else(|| format!("codex lacks what {CHECK} relies on"));
            mark_refusal(&mut doc, &message);
            print_result(&doc, args.json, human, false);
            ExitCode::from(2)
        }
        Ok(Started::Blocked(report)) => {
            // Refused before launch: in text mode the reason is said on stderr too.
            if !args.json {
                let (code, hint) = (
                    report.record.outcome.failure_code,
                    report.record.outcome.failure_hint.as_deref(),
                );
                if let (Some(code), Some(hint)) = (code, hint) {
                    eprintln!("cas: {hint} (failureCode: {code})");
                }
            }
            print_report(&report, args.json)
        }
        Ok(Started::Reported(report)) => print_report(&report, args.json),
        Ok(Started::Interrupted(signal)) => {
            let finished = super::interrupted::Finished::default();
            super::interrupted::report(CHECK, args.json, &finished, signal)
        }
        Err(e) => fail(CHECK, args.json, &e),
    }
}

/// Prints every recorded review (`{schemaVersion, check, ok, reviews: […]}` with `--json`).
fn print_list(json: bool) -> ExitCode {
    let reviews = housekeeping::list();
    let doc = serde_json::json!({"schemaVersion": 1, "check": CHECK, "ok": true,
        "reviews": reviews});
    print_result(&doc, json, |_| list_text(&reviews), true)
}

fn list_text(reviews: &[housekeeping::Listed]) -> String {
    if reviews.is_empty() {
        return "no recorded reviews".to_owned();
    }
    let alive = |b: bool| if b { "alive" } else { "gone" };
    reviews
        .iter()
        .map(|r| {
            let status = r
                .status
                .map_or("unreadable".to_owned(), crate::review::outcome::status_name);
            format!(
                "{}  {status}  failureCode={}  host {}  server {}",
                r.review_thread_id,
                r.failure_code.map_or("-", |c| c.as_str()),
                alive(r.host_alive),
                alive(r.server_alive)
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Prints the document; exit 0 when the report is ok, else 1.
fn print_report(report: &Report, json: bool) -> ExitCode {
    print_result(&report.document(), json, human, report.ok())
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
