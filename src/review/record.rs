//! The review record: everything cas knows about one review, persisted where any process finds it.
//!
//! A record lives at `$CODEX_HOME/cas/review_sessions/<reviewThreadId>.json`, beside the
//! NDJSON log of its lane. Every write is atomic (a temp file in the same folder, fsync, rename,
//! fsync of the folder) and mode 0600, so a reader sees the old record or the new one, never a
//! torn one. An index of symlinks under cas's state folder (`$XDG_STATE_HOME/cas/review_sessions`)
//! makes a record findable by its id alone, whichever CODEX_HOME (the user's or a hermetic one)
//! holds it.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::io::Write;
use std::path::{Path, PathBuf};

use super::target::ReviewTarget;
use crate::errors::ReviewError;
use crate::hooks::HookPolicy;
use crate::outcome::{CompatibilityVerdict, FailureCode, TurnStatus};

/// The record format version.
pub const RECORD_VERSION: u32 = 1;

/// Where a review stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReviewStatus {
    /// The lane is being set up; no review turn yet.
    Starting,
    /// `review/start` was accepted; the review turn is live.
    Running,
    /// The review turn completed.
    Completed,
    /// The review turn was interrupted.
    Interrupted,
    /// The review turn failed, or the review never started.
    Failed,
    /// The lane lost its server (or its host) before the review ended.
    TransportLost,
}

impl ReviewStatus {
    /// Whether the review is over.
    pub fn is_terminal(self) -> bool {
        !matches!(self, ReviewStatus::Starting | ReviewStatus::Running)
    }
}

/// How the review thread relates to a parent thread.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum ParentMode {
    /// Reuse the parent when it is materialized and safe, else a fresh thread.
    #[default]
    Auto,
    /// Always a fresh thread (the parent id is only recorded).
    Fresh,
    /// Review inline on the parent thread; refuse an unsafe or unmaterialized parent.
    Reuse,
}

/// The parent thread and what cas decided about it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ParentFacts {
    /// `--parent-thread-id`.
    pub thread_id: Option<String>,
    /// `--parent-mode`.
    pub mode: ParentMode,
    /// What was done and why, e.g. `reused parent thread`.
    pub decision: String,
    /// Whether cas ran a bootstrap turn on the thread so that codex would accept `review/start`
    /// (a thread with no rollout yet, on a codex that needs one).
    #[serde(default)]
    pub materialized: bool,
}

/// The transport a review ran on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum SelectedTransport {
    /// The detached websocket lane.
    #[default]
    #[serde(rename = "websocket")]
    Websocket,
    /// `codex review` in the foreground, after the lane failed to come up.
    #[serde(rename = "native-review")]
    NativeReview,
    /// A stdio `app-server` inside `start --wait` (a codex without the websocket flags).
    #[serde(rename = "stdio")]
    Stdio,
}

/// The lane's transport and its managed server.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TransportFacts {
    /// `websocket` (the lane), `stdio` (the in-process lane) or `native-review` (the fallback).
    pub selected: SelectedTransport,
    /// Why.
    pub selection_reason: String,
    /// The server's listen URL, once known.
    pub listen_url: Option<String>,
    /// The server's pid, once started.
    pub server_pid: Option<u32>,
    /// The server's start time in clock ticks since boot (guards against a reused pid).
    pub server_start_ticks: Option<u64>,
    /// The detached lane host's pid (the `start --wait` process itself on the stdio lane).
    pub host_pid: Option<u32>,
    /// The host's start time in clock ticks since boot.
    pub host_start_ticks: Option<u64>,
    /// The server's stderr log.
    pub stderr_log_path: Option<PathBuf>,
    /// The 0600 capability-token file (in cas's state folder, never in CODEX_HOME).
    pub token_file_path: Option<PathBuf>,
    /// How long the server outlives the end of its review before it is reaped.
    pub orphan_ttl_seconds: u64,
    /// When the server was reaped (ms since the epoch).
    pub server_reaped_at_ms: Option<u64>,
}

/// The codex the lane runs.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CodexFacts {
    /// The resolved binary.
    pub path: PathBuf,
    /// Its version.
    pub version: String,
    /// `compatible` or `incompatible` for review_session.
    pub compatibility_verdict: CompatibilityVerdict,
    /// Why the verdict is `incompatible`, one reason a line (empty when compatible).
    #[serde(default)]
    pub compatibility_reasons: Vec<String>,
}

/// One finding of a review.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Finding {
    /// The title, e.g. `[P1] Division by zero`.
    pub title: String,
    /// The explanation.
    pub body: String,
    /// The model's confidence, 0..1.
    pub confidence_score: Option<f64>,
    /// 0 (most urgent) to 3.
    pub priority: Option<i64>,
    /// Where, as the model said.
    pub code_location: Option<Value>,
}

/// The structured review result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReviewResult {
    /// The findings, in the model's order.
    pub findings: Vec<Finding>,
    /// e.g. `patch is correct` / `patch is incorrect`.
    pub overall_correctness: Option<String>,
    /// The summary.
    pub overall_explanation: String,
    /// The model's confidence in the verdict, 0..1.
    pub overall_confidence_score: Option<f64>,
}

/// How the review ended, as classified by cas.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OutcomeFacts {
    /// The blocking failure, if any.
    pub failure_code: Option<FailureCode>,
    /// What happened, in words.
    pub failure_hint: Option<String>,
    /// The structured result, parsed from the model's review JSON.
    pub result: Option<ReviewResult>,
    /// Where the structured result came from.
    pub result_source: Option<String>,
    /// The rendered review text of the `exitedReviewMode` item.
    pub review_text: Option<String>,
    /// The review turn's final status as the server reported it.
    pub turn_status: Option<TurnStatus>,
    /// How many `error` notifications codex sent for the review so far.
    #[serde(default)]
    pub codex_errors: u32,
    /// The last of them, in codex's words.
    #[serde(default)]
    pub last_codex_error: Option<String>,
}

/// A native-review fallback run (never a lane result).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FallbackFacts {
    /// `codex review` (stdio, no app-server).
    pub transport: String,
    /// Its exit code (`null` when it was killed or did not start).
    pub exit_code: Option<i32>,
    /// Its stdout.
    pub output_text: String,
    /// Its stderr (tail).
    pub error_text: String,
}

/// Everything cas knows about one review.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReviewRecord {
    /// [`RECORD_VERSION`].
    pub schema_version: u32,
    /// The handle: the thread the review runs on (`null` only for a lane that never got one).
    pub review_thread_id: Option<String>,
    /// The turn id of the `review/start` response (T1), which the review is keyed on.
    pub review_turn_id: Option<String>,
    /// The id of the review's `turn/started` (T2, whose `rootTurnId` is T1).
    pub review_started_turn_id: Option<String>,
    /// The lane's id (its folder under cas's state folder).
    pub lane_id: String,
    /// Where the review stands.
    pub status: ReviewStatus,
    /// What is reviewed.
    pub target: ReviewTarget,
    /// The repository reviewed (the thread's cwd).
    pub cwd: PathBuf,
    /// The CODEX_HOME of the lane's server.
    pub codex_home: PathBuf,
    /// Whether that home is a hermetic one (mock model).
    pub hermetic: bool,
    /// The parent thread.
    pub parent: ParentFacts,
    /// The codex.
    pub codex: CodexFacts,
    /// The transport and the managed server.
    pub transport: TransportFacts,
    /// The hook policy in force.
    pub hook_policy: HookPolicy,
    /// The lane's hookSummary, once the review ended.
    pub hook_summary: Option<Value>,
    /// Server requests answered during the review (method and answer name, never bodies).
    pub server_requests: Vec<Value>,
    /// The NDJSON log of the lane's raw requests and responses.
    pub event_log_path: Option<PathBuf>,
    /// Created (ms since the epoch).
    pub created_at_ms: u64,
    /// Last written.
    pub updated_at_ms: u64,
    /// When the review ended.
    pub terminal_at_ms: Option<u64>,
    /// How it ended.
    pub outcome: OutcomeFacts,
    /// The native-review fallback, when one ran.
    pub fallback: Option<FallbackFacts>,
}

/// Milliseconds since the epoch.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// `$CODEX_HOME/cas/review_sessions`.
pub fn records_dir(codex_home: &Path) -> PathBuf {
    codex_home.join("cas/review_sessions")
}

/// cas's state folder: `$XDG_STATE_HOME/cas`, `~/.local/state/cas`, or `./.cas`.
pub fn state_root() -> PathBuf {
    crate::launch::paths::state_dir()
}

/// The index of records by id: `<state>/review_sessions`.
pub fn index_dir() -> PathBuf {
    index_in(&state_root())
}

/// The index of records by id under the state folder `state`.
pub fn index_in(state: &Path) -> PathBuf {
    state.join("review_sessions")
}

/// Refuses an id that is not a plain thread id (it becomes a file name).
pub fn check_id(id: &str) -> Result<(), ReviewError> {
    let plain = !id.is_empty()
        && id.len() <= 128
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if plain {
        Ok(())
    } else {
        Err(ReviewError::BadId(id.to_owned()))
    }
}

impl ReviewRecord {
    /// Where this record lives (`None` before the review has a thread id).
    pub fn path(&self) -> Option<PathBuf> {
        let id = self.review_thread_id.as_ref()?;
        Some(records_dir(&self.codex_home).join(format!("{id}.json")))
    }

    /// Writes the record atomically (mode 0600) and indexes it by id.
    pub fn save(&mut self) -> Result<PathBuf, ReviewError> {
        self.updated_at_ms = now_ms();
        let path = self.path().ok_or(ReviewError::NoThreadId)?;
        let text = serde_json::to_string_pretty(self).map_err(|source| ReviewError::Encode {
            what: "the record",
            source,
        })?;
        write_atomic(&path, &text)?;
        index(&path)?;
        Ok(path)
    }

    /// Reads a record.
    pub fn load(path: &Path) -> Result<ReviewRecord, ReviewError> {
        let text = std::fs::read_to_string(path).map_err(|e| ReviewError::io(path.display(), e))?;
        serde_json::from_str(&text).map_err(|source| ReviewError::BadRecord {
            path: path.to_owned(),
            source,
        })
    }
}

/// Writes `text` to `path` through a 0600 temp file in the same folder, fsynced and renamed.
pub fn write_atomic(path: &Path, text: &str) -> Result<(), ReviewError> {
    let io = |e: std::io::Error| ReviewError::io(path.display(), e);
    let dir = path.parent().ok_or_else(|| {
        io(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "no folder",
        ))
    })?;
    std::fs::create_dir_all(dir).map_err(io)?;
    // tempfile creates the file with mode 0600 and a unique name, so writers never collide.
    let mut tmp = tempfile::Builder::new()
        .prefix(".record-")
        .tempfile_in(dir)
        .map_err(io)?;
    tmp.write_all(text.as_bytes()).map_err(io)?;
    tmp.as_file().sync_all().map_err(io)?;
    tmp.persist(path).map_err(|e| io(e.error))?;
    if let Ok(folder) = std::fs::File::open(dir) {
        let _ = folder.sync_all();
    }
    Ok(())
}

/// Points `<index>/<id>.json` at the record (replacing an older link atomically).
fn index(record: &Path) -> Result<(), ReviewError> {
    let (Some(name), dir) = (record.file_name(), index_dir()) else {
        return Ok(());
    };
    let io = |e: std::io::Error| ReviewError::io(format_args!("indexing {}", record.display()), e);
    std::fs::create_dir_all(&dir).map_err(io)?;
    let link = dir.join(name);
    if std::fs::read_link(&link).is_ok_and(|t| t == record) {
        return Ok(());
    }
    let tmp = dir.join(format!(".link-{}-{}", std::process::id(), now_ms()));
    std::os::unix::fs::symlink(record, &tmp).map_err(io)?;
    std::fs::rename(&tmp, &link).map_err(io)
}

/// Finds the record of `id`: in `codex_home` when given, else in the user's CODEX_HOME, else
/// through the index (which also finds records in hermetic homes).
pub fn locate(id: &str, codex_home: Option<&Path>) -> Result<PathBuf, ReviewError> {
    check_id(id)?;
    let file = format!("{id}.json");
    let mut looked = Vec::new();
    let homes = match codex_home {
        Some(home) => vec![home.to_owned()],
        None => vec![crate::launch::user_codex_home()],
    };
    for home in homes {
        let path = records_dir(&home).join(&file);
        if path.is_file() {
            return Ok(path);
        }
        looked.push(path.display().to_string());
    }
    if codex_home.is_none() {
        let link = index_dir().join(&file);
        if let Ok(target) = std::fs::read_link(&link) {
            if target.is_file() {
                return Ok(target);
            }
        }
        looked.push(link.display().to_string());
    }
    Err(ReviewError::NotFound {
        id: id.to_owned(),
        looked: looked.join(", "),
    })
}
