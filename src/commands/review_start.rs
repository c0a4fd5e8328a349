//! Planning `cas review_session start`: codex checks, the lane's home and parent, the spec.
//!
//! The codex is resolved and checked here, in the foreground, so that an incompatible codex or
//! a hook policy it cannot honour is refused before any process starts. A parent that has a
//! live review is never reused (`unsafe_parent_thread_state` with `--parent-mode reuse`, a fresh
//! thread with `auto`). A hermetic lane gets a fresh home under cas's state folder, or the home
//! of the parent's own record when the parent is reused, so the parent's rollout is there.

use std::path::PathBuf;
use std::time::Duration;

use super::args::PolicyArgs;
use crate::errors::{RuntimeError, StartError, UsageError};
use crate::hooks::HookPolicy;
use crate::launch::{self, user_codex_home, CodexLocator, MockModel};
use crate::outcome::{CompatibilityVerdict, FailureCode};
use crate::review::fallback;
use crate::review::lane::{LaneFiles, LaneSpec};
use crate::review::process;
use crate::review::record::{
    self, CodexFacts, OutcomeFacts, ParentFacts, ParentMode, ReviewRecord, ReviewStatus,
    SelectedTransport, TransportFacts,
};
use crate::review::target::{self, ReviewTarget};
use crate::runtime;
use crate::schema::compat::{self, Requirements};

/// What to do when the websocket lane cannot come up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Fallback {
    /// Report websocket_bootstrap_failed.
    #[default]
    None,
    /// Also run `codex review` in the foreground, reported as a fallback (never success).
    NativeReview,
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
    #[arg(long, default_value_t = 30_000)]
    pub request_timeout_ms: u64,
    /// Print exactly one JSON document on stdout.
    #[arg(long)]
    pub json: bool,
}

/// What start does.
pub enum Plan {
    /// Launch this lane.
    Launch(Box<LaneSpec>, LaneFiles),
    /// cas cannot run the lane (incompatible codex, hooks unsupported): exit 2.
    Refused(Box<ReviewRecord>),
    /// The request is refused before launch (an unsafe parent): exit 1.
    Blocked(Box<ReviewRecord>),
}

/// What the codex checks found.
struct Checked {
    bin: PathBuf,
    version: String,
    verdict: CompatibilityVerdict,
    problem: Option<(&'static str, String)>,
    server_args: Vec<String>,
}

/// Resolves and checks the codex for a review lane under `hooks`.
async fn check_codex(args: &StartArgs) -> Result<Checked, RuntimeError> {
    let bin = CodexLocator::from_env(args.codex_bin.clone()).resolve()?;
    // Servers run in the review's cwd, so a relative --codex-bin must not stay relative.
    let bin = std::path::absolute(&bin).map_err(|source| io_error(&bin, source))?;
    let probe_home = if args.hermetic {
        crate::launch::paths::homes_dir().join("version-probe")
    } else {
        user_codex_home()
    };
    std::fs::create_dir_all(&probe_home).map_err(|source| io_error(&probe_home, source))?;
    let version = launch::codex_version(&bin, &probe_home).await?;
    let scratch = crate::launch::paths::homes_dir().join("schema");
    std::fs::create_dir_all(&scratch).map_err(|source| io_error(&scratch, source))?;
    let surface = compat::surface_for(&bin, &version, &compat::default_cache_dir(), &scratch)
        .await
        .map_err(|source| RuntimeError::Surface {
            bin: bin.clone(),
            source,
        })?;
    let mut needs = Requirements::of("review_session", None);
    if args.hooks_config.is_some() {
        needs = needs.with_hook_setup();
    }
    let verdict = compat::check(&surface, &needs);
    let mut problem = None;
    if !verdict.is_compatible() {
        let missing: Vec<String> = verdict.missing.iter().map(|m| m.method.clone()).collect();
        problem = Some(("", format!("codex {version} lacks {}", missing.join(", "))));
    }
    let has_hook_notes = ["hook/started", "hook/completed"]
        .iter()
        .all(|m| surface.server_notifications.iter().any(|n| n.method == *m));
    let mut server_args = Vec::new();
    if args.hooks != HookPolicy::Inherit && !has_hook_notes {
        let why = format!("codex {version} sends no hook/started or hook/completed notifications");
        problem.get_or_insert((
            "hooks_unsupported",
            format!("--hooks {}: {why}", args.hooks.as_str()),
        ));
    }
    if args.hooks == HookPolicy::Off {
        match launch::disable_hooks_args(&bin, &probe_home).await {
            Ok(extra) => server_args = extra,
            Err(why) => {
                problem.get_or_insert(("hooks_unsupported", format!("--hooks off: {why}")));
            }
        }
    }
    let verdict = if problem.is_some() {
        CompatibilityVerdict::Incompatible
    } else {
        CompatibilityVerdict::Compatible
    };
    Ok(Checked {
        bin,
        version,
        verdict,
        problem,
        server_args,
    })
}

/// Plans the lane the flags describe.
pub async fn plan(args: &StartArgs) -> Result<Plan, StartError> {
    let target = target_of(args)?;
    let cwd = runtime::resolve_cwd(args.cwd.as_deref()).map_err(RuntimeError::from)?;
    if let Some(id) = &args.parent_thread_id {
        record::check_id(id).map_err(StartError::ParentId)?;
    }
    let hooks_config = read_hooks_config(args).map_err(RuntimeError::from)?;
    let checked = check_codex(args).await?;
    let lane_id = format!("{}-{}", record::now_ms(), std::process::id());
    let (parent, parent_home, unsafe_hint) = plan_parent(args);
    if let Some(hint) = unsafe_hint {
        let home = user_codex_home();
        let mut rec = new_record(args, &checked, &lane_id, cwd, target, home, parent);
        let blocked = fail(&mut rec, FailureCode::UnsafeParentThreadState, hint);
        return Ok(Plan::Blocked(Box::new(blocked)));
    }
    let home = match (args.hermetic, parent_home) {
        (true, Some(home)) => home,
        (true, None) => record::state_root().join("review-homes").join(&lane_id),
        (false, _) => user_codex_home(),
    };
    let mut rec = new_record(args, &checked, &lane_id, cwd, target, home, parent);
    if let Some((code, hint)) = checked.problem.clone() {
        let code = if code.is_empty() { None } else { Some(code) };
        rec.status = ReviewStatus::Failed;
        rec.outcome.failure_code = code.and_then(FailureCode::from_name);
        rec.outcome.failure_hint = Some(hint);
        return Ok(Plan::Refused(Box::new(rec)));
    }
    let files = LaneFiles {
        dir: process::lane_dir(&lane_id)?,
    };
    let spec = LaneSpec {
        lane_id,
        record: rec,
        policy: args.policy.config(),
        server_args: checked.server_args,
        hooks_config,
        review_deadline_ms: args.review_deadline_ms,
        request_timeout_ms: args.request_timeout_ms,
    };
    Ok(Plan::Launch(Box::new(spec), files))
}

/// `--hooks-config`: the file's text and its folder (what `${HOOKS_DIR}` stands for).
fn read_hooks_config(args: &StartArgs) -> Result<Option<(String, PathBuf)>, UsageError> {
    let Some(path) = &args.hooks_config else {
        return Ok(None);
    };
    crate::hooks::read_config(path)
        .map(Some)
        .map_err(|source| UsageError::FlagPath {
            flag: "--hooks-config",
            path: path.clone(),
            source,
        })
}

/// The parent facts; the home of the parent's own record (for a hermetic reuse); and, for
/// `--parent-mode reuse`, why the parent must not be reused (a live review on it). With `auto`
/// the host finds such a parent unusable (another server writes it) and starts a fresh thread.
fn plan_parent(args: &StartArgs) -> (ParentFacts, Option<PathBuf>, Option<String>) {
    let parent = ParentFacts {
        thread_id: args.parent_thread_id.clone(),
        mode: args.parent_mode,
        decision: String::new(),
    };
    let Some(id) = args
        .parent_thread_id
        .clone()
        .filter(|_| parent.mode != ParentMode::Fresh)
    else {
        return (parent, None, None);
    };
    if let Some((_, live)) = crate::review::lifecycle::live_review_on(&id) {
        let hint = format!(
            "parent thread {id} has a live review (lane host pid {})",
            live.transport.host_pid.unwrap_or(0)
        );
        let refuse = (parent.mode == ParentMode::Reuse).then_some(hint);
        let home = Some(live.codex_home).filter(|_| live.hermetic == args.hermetic);
        return (parent, home, refuse);
    }
    let found = record::locate(&id, None)
        .ok()
        .and_then(|p| ReviewRecord::load(&p).ok())
        .filter(|r| r.hermetic == args.hermetic);
    (parent, found.map(|r| r.codex_home), None)
}

fn fail(rec: &mut ReviewRecord, code: FailureCode, hint: String) -> ReviewRecord {
    rec.status = ReviewStatus::Failed;
    rec.outcome.failure_code = Some(code);
    rec.outcome.failure_hint = Some(hint);
    rec.terminal_at_ms = Some(record::now_ms());
    rec.clone()
}

fn new_record(
    args: &StartArgs,
    checked: &Checked,
    lane_id: &str,
    cwd: PathBuf,
    target: crate::review::target::ReviewTarget,
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
        hermetic: args.hermetic,
        parent,
        codex: CodexFacts {
            path: checked.bin.clone(),
            version: checked.version.clone(),
            compatibility_verdict: checked.verdict,
        },
        transport: TransportFacts {
            selected: SelectedTransport::Websocket,
            selection_reason: "cas-managed loopback websocket lane (detached host; status, wait and interrupt reconnect through the record)".into(),
            orphan_ttl_seconds: args.orphan_ttl_seconds,
            ..TransportFacts::default()
        },
        hook_policy: args.hooks,
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

/// Runs the native-review fallback after a failed lane bootstrap and reports it as such.
pub async fn with_fallback(mut rec: ReviewRecord, args: &StartArgs) -> ReviewRecord {
    let timeout = Duration::from_millis(args.timeout_ms.min(args.review_deadline_ms));
    let mock = if rec.hermetic {
        Some(MockModel::start().await)
    } else {
        None
    };
    let home = match &mock {
        Some(mock) => {
            let home = record::state_root()
                .join("review-homes")
                .join(format!("{}-native", rec.lane_id));
            let prepared = std::fs::create_dir_all(home.join("work"))
                .map_err(|e| e.to_string())
                .and_then(|()| {
                    launch::write_hermetic_config(&home, &mock.base_url()).map_err(|e| {
                        std::error::Error::source(&e)
                            .map_or_else(|| e.to_string(), ToString::to_string)
                    })
                });
            if let Err(e) = prepared {
                rec.fallback = Some(record::FallbackFacts {
                    transport: fallback::NATIVE_TRANSPORT.into(),
                    error_text: format!("{}: {e}", home.display()),
                    ..Default::default()
                });
                return rec;
            }
            home
        }
        None => rec.codex_home.clone(),
    };
    let facts =
        fallback::native_review(&rec.codex.path, &home, &rec.cwd, &rec.target, timeout).await;
    rec.transport.selected = SelectedTransport::NativeReview;
    rec.transport.selection_reason = "the websocket lane did not come up and --fallback native-review was given: `codex review` ran in the foreground (not a lane result, no handle)".into();
    rec.fallback = Some(facts);
    rec
}

/// The target the flags name.
fn target_of(args: &StartArgs) -> Result<ReviewTarget, StartError> {
    if let Some(branch) = &args.base {
        return Ok(ReviewTarget::BaseBranch {
            branch: branch.clone(),
        });
    }
    if let Some(sha) = &args.commit {
        return Ok(ReviewTarget::Commit {
            sha: sha.clone(),
            title: args.title.clone(),
        });
    }
    if let Some(value) = &args.custom_instructions {
        return Ok(ReviewTarget::Custom {
            instructions: target::custom_instructions(value).map_err(StartError::Target)?,
        });
    }
    Ok(ReviewTarget::UncommittedChanges)
}

fn io_error(path: &std::path::Path, source: std::io::Error) -> RuntimeError {
    RuntimeError::Io {
        path: path.to_owned(),
        source,
    }
}
