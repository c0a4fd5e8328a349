//! Review housekeeping: listing every recorded review with its processes checked, and stopping
//! one now (its host, then its server), instead of waiting for the orphan TTL.
//!
//! Both work from cas's index of records (`<state>/review_sessions`), so they also find reviews
//! whose records live in hermetic homes.

use serde::Serialize;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::lifecycle;
use super::process;
use super::record::{self, ReviewRecord, ReviewStatus};
use super::report::{self, Handle, Report};
use crate::errors::ReviewError;
use crate::outcome::FailureCode;

/// How long a stopped host gets to exit after SIGTERM before SIGKILL.
const HOST_GRACE: Duration = Duration::from_secs(2);

/// One review as `list` shows it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Listed {
    /// The review's handle.
    pub review_thread_id: String,
    /// Where the review stands (`null` when the record cannot be read).
    pub status: Option<ReviewStatus>,
    /// Its failure code so far.
    pub failure_code: Option<FailureCode>,
    /// Whether the lane host runs.
    pub host_alive: bool,
    /// Whether the managed server runs.
    pub server_alive: bool,
    /// Whether the lane's home is hermetic.
    pub hermetic: bool,
    /// The lane's id (its folder under cas's state folder).
    pub lane_id: Option<String>,
    /// When the review was created (ms since the epoch).
    pub created_at_ms: Option<u64>,
    /// When it ended.
    pub terminal_at_ms: Option<u64>,
    /// The record file.
    pub record_path: PathBuf,
    /// Why the record could not be read, when it could not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Every indexed review, oldest first, each record refreshed against its processes.
pub fn list() -> Vec<Listed> {
    let mut out: Vec<Listed> = indexed()
        .into_iter()
        .map(|entry| (entry.id, entry.record))
        .map(|(id, path)| match lifecycle::refresh(&path) {
            Ok(rec) => listed(id, path, &rec),
            Err(e) => Listed {
                review_thread_id: id,
                status: None,
                failure_code: None,
                host_alive: false,
                server_alive: false,
                hermetic: false,
                lane_id: None,
                created_at_ms: None,
                terminal_at_ms: None,
                record_path: path,
                error: Some(crate::errors::Chain(&e).to_string()),
            },
        })
        .collect();
    out.sort_by_key(|l| (l.created_at_ms.unwrap_or(0), l.review_thread_id.clone()));
    out
}

/// One entry of the index: a review's id, its link in the index and the record it points at.
pub(crate) struct Indexed {
    /// The review's id (`reviewThreadId`).
    pub id: String,
    /// The index's symlink, `<index>/<id>.json`.
    pub link: PathBuf,
    /// The record the link points at.
    pub record: PathBuf,
}

/// The entries the index names.
pub(crate) fn indexed() -> Vec<Indexed> {
    indexed_in(&record::index_dir())
}

/// The entries the index folder `index` names.
pub(crate) fn indexed_in(index: &Path) -> Vec<Indexed> {
    let Ok(entries) = std::fs::read_dir(index) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let id = name.strip_suffix(".json")?.to_owned();
            let link = e.path();
            let record = std::fs::read_link(&link).ok()?;
            (!id.starts_with('.')).then_some(Indexed { id, link, record })
        })
        .collect()
}

fn listed(id: String, path: PathBuf, rec: &ReviewRecord) -> Listed {
    let t = &rec.transport;
    Listed {
        review_thread_id: id,
        status: Some(rec.status),
        failure_code: rec.outcome.failure_code,
        host_alive: process::alive(t.host_pid, t.host_start_ticks),
        server_alive: process::alive(t.server_pid, t.server_start_ticks),
        hermetic: rec.hermetic,
        lane_id: Some(rec.lane_id.clone()),
        created_at_ms: Some(rec.created_at_ms),
        terminal_at_ms: rec.terminal_at_ms,
        record_path: path,
        error: None,
    }
}

/// Stops a review now: its host (SIGTERM, then SIGKILL after a grace period) and its server;
/// a review that had not ended is recorded as `review_transport_lost`.
pub async fn stop(handle: &Handle) -> Result<Report, ReviewError> {
    let path = record::locate(&handle.review_thread_id, handle.codex_home.as_deref())?;
    let rec = ReviewRecord::load(&path)?;
    let t = rec.transport.clone();
    if process::signal(t.host_pid, t.host_start_ticks, libc::SIGTERM) {
        let deadline = Instant::now() + HOST_GRACE;
        while process::alive(t.host_pid, t.host_start_ticks) && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        process::signal(t.host_pid, t.host_start_ticks, libc::SIGKILL);
    }
    // With the host gone, refreshing ends the server and records a review that had not ended.
    let mut rec = lifecycle::refresh(&path)?;
    if process::signal(t.server_pid, t.server_start_ticks, libc::SIGKILL) {
        rec.transport.server_reaped_at_ms = Some(record::now_ms());
        rec.save()?;
    }
    Ok(report::waited(rec, path, false))
}
