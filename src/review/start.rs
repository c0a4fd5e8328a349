//! Starting a review: codex and target checks, the lane's home and parent, the spec, the launch.
//!
//! The launch is the detached websocket host, or for `start --wait` on a codex without the
//! websocket flags the stdio lane in this process (`stdio_lane`).
//!
//! The codex is resolved and checked in the foreground, so that an incompatible codex or a
//! hook policy it cannot honour is refused before any process starts; so is a review target
//! that git says does not exist or has nothing to review (`review_target_invalid`, before any
//! lane folder, host or server). A parent that has a
//! live review is never reused (`unsafe_parent_thread_state` with `--parent-mode reuse`, a fresh
//! thread with `auto`). A hermetic lane gets a fresh home under cas's state folder, or the home
//! of the parent's own record when the parent is reused, so the parent's rollout is there.

use std::path::PathBuf;
use std::time::Duration;

use super::fallback;
use super::lane::{LaneFiles, LaneSpec};
use super::lifecycle;
use super::preflight::{self, Checked, CodexNeeds};
use super::process;
use super::record::{
    self, CodexFacts, OutcomeFacts, ParentFacts, ParentMode, ReviewRecord, ReviewStatus,
    SelectedTransport, TransportFacts,
};
use super::report::{self, Report};
use super::stdio_lane;
use super::target::{self, ReviewTarget};
use super::target_check::Git;
use crate::errors::{RuntimeError, StartError};
use crate::hooks::HookPolicy;
use crate::interrupt::Interrupted;
use crate::launch::user_codex_home;
use crate::outcome::FailureCode;
use crate::policy::PolicyConfig;
use crate::runtime;

/// What to do when the websocket lane cannot come up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Fallback {
    /// Report websocket_bootstrap_failed.
    #[default]
    None,
    /// Also run `codex review` in the foreground, reported as a fallback (never success).
    NativeReview,
}

/// What to review and how, as plain values (the flags of `cas review_session start`).
#[derive(Debug, Clone)]
pub struct StartConfig {
    /// Review the changes against this base branch.
    pub base: Option<String>,
    /// Review the changes of this commit.
    pub commit: Option<String>,
    /// With `commit`: the title shown in the review summary.
    pub title: Option<String>,
    /// Review with these instructions: TEXT, @FILE, or - for stdin.
    pub custom_instructions: Option<String>,
    /// The repository to review (default: the current directory).
    pub cwd: Option<PathBuf>,
    /// A thread to review on (reuse) or to record as the parent (fresh).
    pub parent_thread_id: Option<String>,
    /// How the review thread relates to the parent.
    pub parent_mode: ParentMode,
    /// Wait for the review to end (up to `timeout_ms`).
    pub wait: bool,
    /// How long to wait, in ms (also the native fallback's limit).
    pub timeout_ms: u64,
    /// When the websocket lane cannot come up: nothing else, or a native `codex review`.
    pub fallback: Fallback,
    /// Answers to server requests.
    pub policy: PolicyConfig,
    /// What cas lets codex's hooks do.
    pub hooks: HookPolicy,
    /// With `hermetic`: a hooks.json to install and trust in the lane's home.
    pub hooks_config: Option<PathBuf>,
    /// A fresh CODEX_HOME (kept under cas's state folder) whose model is cas's mock.
    pub hermetic: bool,
    /// The codex binary (default: CAS_CODEX_BIN, the project install, then PATH).
    pub codex_bin: Option<PathBuf>,
    /// How long the managed server outlives the end of its review, in seconds.
    pub orphan_ttl_seconds: u64,
    /// The review's own deadline (the lane interrupts it then), in ms.
    pub review_deadline_ms: u64,
    /// The deadline of each request, in ms.
    pub request_timeout_ms: u64,
}

/// What start does.
pub enum Plan {
    /// Launch this lane.
    Launch(Box<LaneSpec>, LaneFiles),
    /// cas cannot run the lane (incompatible codex, hooks unsupported): exit 2.
    Refused(Box<ReviewRecord>),
    /// The request is refused before launch (an invalid target, an unsafe parent): exit 1.
    Blocked(Box<ReviewRecord>),
}

/// What start did.
#[derive(Debug)]
pub enum Started {
    /// cas cannot run the lane (an incompatible codex, a hook policy it cannot honour): the
    /// report is shown, and the command exits 2 whatever it says.
    Refused(Box<Report>),
    /// The request was refused before anything started (`review_target_invalid`,
    /// `unsafe_parent_thread_state`): the report is shown and the command exits 1.
    Blocked(Box<Report>),
    /// The lane was launched, fell back or was waited for.
    Reported(Box<Report>),
    /// A stdio `start --wait` was stopped by a signal: its server was stopped and its record,
    /// if the review had started, concluded (`review_transport_lost`).
    Interrupted(Interrupted),
}

/// Plans the lane, launches it, and with `fallback` or `wait` goes on as they say.
pub async fn start(config: &StartConfig) -> Result<Started, StartError> {
    let (spec, files) = match plan(config).await? {
        Plan::Refused(rec) => return Ok(Started::Refused(unwaited(*rec, false))),
        Plan::Blocked(rec) => return Ok(Started::Blocked(unwaited(*rec, false))),
        Plan::Launch(spec, files) => (spec, files),
    };
    if spec.record.transport.selected == SelectedTransport::Stdio {
        return Ok(
            match stdio_lane::run(*spec, files, config.timeout_ms).await {
                Ok(rec) => Started::Reported(Box::new(Report {
                    path: rec.path(),
                    record: rec,
                    timed_out: false,
                    need_result: true,
                })),
                Err(signal) => Started::Interrupted(signal),
            },
        );
    }
    let mut rec = lifecycle::launch(&spec, &files, startup_deadline(config)).await?;
    let bootstrap_failed = rec.outcome.failure_code == Some(FailureCode::WebsocketBootstrapFailed);
    if bootstrap_failed && config.fallback == Fallback::NativeReview {
        let timeout = Duration::from_millis(config.timeout_ms.min(config.review_deadline_ms));
        rec = fallback::after_bootstrap_failure(rec, timeout).await;
        return Ok(Started::Reported(unwaited(rec, true)));
    }
    let report = match rec.path() {
        Some(path) if config.wait && !rec.status.is_terminal() => {
            let timeout = Duration::from_millis(config.timeout_ms);
            let (rec, timed_out) = lifecycle::wait(&path, timeout).await?;
            report::waited(rec, path, timed_out)
        }
        path => Report {
            record: rec,
            path,
            timed_out: false,
            need_result: config.wait,
        },
    };
    Ok(Started::Reported(Box::new(report)))
}

/// Plans the lane the config describes.
pub async fn plan(config: &StartConfig) -> Result<Plan, StartError> {
    let target = target_of(config)?;
    let cwd = runtime::resolve_cwd(config.cwd.as_deref()).map_err(RuntimeError::from)?;
    if let Some(id) = &config.parent_thread_id {
        record::check_id(id).map_err(StartError::ParentId)?;
    }
    let hooks_config =
        runtime::read_hooks_config(config.hooks_config.as_deref()).map_err(RuntimeError::from)?;
    let checked = preflight::check_codex(&CodexNeeds {
        codex_bin: config.codex_bin.clone(),
        hermetic: config.hermetic,
        hooks: config.hooks,
        hook_setup: config.hooks_config.is_some(),
        wait: config.wait,
    })
    .await?;
    let lane_id = format!("{}-{}", record::now_ms(), std::process::id());
    let invalid_target = Git::default().check(&target, &cwd).await?.err();
    let (parent, parent_home, unsafe_hint) = plan_parent(config);
    let blocked = match (invalid_target, unsafe_hint) {
        (Some(why), _) => Some((FailureCode::ReviewTargetInvalid, why.to_string())),
        (None, hint) => hint.map(|hint| (FailureCode::UnsafeParentThreadState, hint)),
    };
    if let Some((code, hint)) = blocked {
        let home = user_codex_home();
        let mut rec = new_record(config, &checked, &lane_id, cwd, target, home, parent);
        fail(&mut rec, code, hint);
        return Ok(Plan::Blocked(Box::new(rec)));
    }
    let home = match (config.hermetic, parent_home) {
        (true, Some(home)) => home,
        (true, None) => record::state_root().join("review-homes").join(&lane_id),
        (false, _) => user_codex_home(),
    };
    let mut rec = new_record(config, &checked, &lane_id, cwd, target, home, parent);
    let Checked {
        refusal,
        server_args,
        ..
    } = checked;
    if let Some(refusal) = refusal {
        rec.status = ReviewStatus::Failed;
        rec.outcome.failure_code = refusal.code;
        rec.outcome.failure_hint = Some(refusal.hint);
        return Ok(Plan::Refused(Box::new(rec)));
    }
    let files = LaneFiles {
        dir: process::lane_dir(&lane_id)?,
    };
    let spec = LaneSpec {
        lane_id,
        record: rec,
        policy: config.policy.clone(),
        server_args,
        hooks_config,
        review_deadline_ms: config.review_deadline_ms,
        request_timeout_ms: config.request_timeout_ms,
    };
    Ok(Plan::Launch(Box::new(spec), files))
}

/// The parent facts; the home of the parent's own record (for a hermetic reuse); and, for
/// `--parent-mode reuse`, why the parent must not be reused (a live review on it). With `auto`
/// the host finds such a parent unusable (another server writes it) and starts a fresh thread.
fn plan_parent(config: &StartConfig) -> (ParentFacts, Option<PathBuf>, Option<String>) {
    let parent = ParentFacts {
        thread_id: config.parent_thread_id.clone(),
        mode: config.parent_mode,
        decision: String::new(),
        materialized: false,
    };
    let Some(id) = config
        .parent_thread_id
        .clone()
        .filter(|_| parent.mode != ParentMode::Fresh)
    else {
        return (parent, None, None);
    };
    if let Some((_, live)) = lifecycle::live_review_on(&id) {
        let hint = format!(
            "parent thread {id} has a live review (lane host pid {})",
            live.transport.host_pid.unwrap_or(0)
        );
        let refuse = (parent.mode == ParentMode::Reuse).then_some(hint);
        let home = Some(live.codex_home).filter(|_| live.hermetic == config.hermetic);
        return (parent, home, refuse);
    }
    let found = record::locate(&id, None)
        .ok()
        .and_then(|p| ReviewRecord::load(&p).ok())
        .filter(|r| r.hermetic == config.hermetic);
    (parent, found.map(|r| r.codex_home), None)
}

/// Ends a record that never ran with `code`, saying why.
fn fail(rec: &mut ReviewRecord, code: FailureCode, hint: String) {
    rec.status = ReviewStatus::Failed;
    rec.outcome.failure_code = Some(code);
    rec.outcome.failure_hint = Some(hint);
    rec.terminal_at_ms = Some(record::now_ms());
}

/// The record of a lane about to start (or refused before it could).
fn new_record(
    config: &StartConfig,
    checked: &Checked,
    lane_id: &str,
    cwd: PathBuf,
    target: ReviewTarget,
    codex_home: PathBuf,
    parent: ParentFacts,
) -> ReviewRecord {
    let now = record::now_ms();
    ReviewRecord {
        schema_version: record::RECORD_VERSION,
        review_thread_id: None,
        review_turn_id: None,
        review_started_turn_id: None,
        lane_id: lane_id.to_owned(),
        status: ReviewStatus::Starting,
        target,
        cwd,
        codex_home,
        hermetic: config.hermetic,
        parent,
        codex: CodexFacts {
            path: checked.bin.clone(),
            version: checked.version.clone(),
            compatibility_verdict: checked.verdict,
            compatibility_reasons: checked.reasons.clone(),
        },
        transport: transport_facts(config, checked),
        hook_policy: config.hooks,
        hook_summary: None,
        server_requests: Vec::new(),
        event_log_path: None,
        created_at_ms: now,
        updated_at_ms: now,
        terminal_at_ms: None,
        outcome: OutcomeFacts::default(),
        fallback: None,
    }
}

/// The transport the checks chose: the stdio lane when they gave it a reason, else the
/// websocket lane.
fn transport_facts(config: &StartConfig, checked: &Checked) -> TransportFacts {
    let (selected, selection_reason) = match &checked.stdio {
        Some(reason) => (SelectedTransport::Stdio, reason.clone()),
        None => (
            SelectedTransport::Websocket,
            "cas-managed loopback websocket lane (detached host; status, wait and interrupt reconnect through the record)".into(),
        ),
    };
    TransportFacts {
        selected,
        selection_reason,
        orphan_ttl_seconds: config.orphan_ttl_seconds,
        ..TransportFacts::default()
    }
}

/// The report of a record that was not waited for (nor read back from its file).
fn unwaited(record: ReviewRecord, need_result: bool) -> Box<Report> {
    Box::new(Report {
        record,
        path: None,
        timed_out: false,
        need_result,
    })
}

/// The target the config names.
fn target_of(config: &StartConfig) -> Result<ReviewTarget, StartError> {
    if let Some(branch) = &config.base {
        return Ok(ReviewTarget::BaseBranch {
            branch: branch.clone(),
        });
    }
    if let Some(sha) = &config.commit {
        return Ok(ReviewTarget::Commit {
            sha: sha.clone(),
            title: config.title.clone(),
        });
    }
    if let Some(value) = &config.custom_instructions {
        return Ok(ReviewTarget::Custom {
            instructions: target::custom_instructions(value).map_err(StartError::Target)?,
        });
    }
    Ok(ReviewTarget::UncommittedChanges)
}

/// How long the detached host may take to report ready.
fn startup_deadline(config: &StartConfig) -> Duration {
    Duration::from_millis(config.request_timeout_ms.saturating_mul(3).max(60_000))
}
