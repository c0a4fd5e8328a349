//! What a review_session command reports, and `status`, `wait` and `interrupt` by handle.
//!
//! Every form prints the same document (see [`super::outcome::document`]); a [`Report`] holds
//! what that document is made of and judges the exit: the review's success when the command
//! waited for its end, else only whether a failure code was reported so far.

use serde_json::Value;
use std::path::PathBuf;
use std::time::Duration;

use super::lifecycle;
use super::outcome;
use super::record::{self, ReviewRecord};
use crate::errors::ReviewError;

/// A review as one command reports it.
#[derive(Debug, Clone)]
pub struct Report {
    /// The record as it stands.
    pub record: ReviewRecord,
    /// Where the record was read from (else the document names where it would be).
    pub path: Option<PathBuf>,
    /// Whether a wait ran out before the review ended (`wait_timed_out`).
    pub timed_out: bool,
    /// Whether the command asked for the review's result (`wait`, `start --wait`, a fallback)
    /// rather than its health so far.
    pub need_result: bool,
}

impl Report {
    /// The output document.
    pub fn document(&self) -> Value {
        outcome::document(&self.record, self.path.as_deref(), self.timed_out)
    }

    /// Whether the command exits 0: the review succeeded when the result was asked for and the
    /// review ended (or the wait ran out), else no failure code so far.
    pub fn ok(&self) -> bool {
        let (code, _) = outcome::reported_failure(&self.record, self.timed_out);
        let waited = self.need_result && (self.record.status.is_terminal() || self.timed_out);
        if waited {
            outcome::succeeded(&self.record, code)
        } else {
            code.is_none()
        }
    }
}

/// A review named by its handle.
#[derive(Debug, Clone)]
pub struct Handle {
    /// The review's handle (`reviewThreadId`).
    pub review_thread_id: String,
    /// Look for the record in this CODEX_HOME only (default: $CODEX_HOME, then cas's index).
    pub codex_home: Option<PathBuf>,
}

impl Handle {
    fn locate(&self) -> Result<PathBuf, ReviewError> {
        record::locate(&self.review_thread_id, self.codex_home.as_deref())
    }
}

/// The review's state as recorded, with its processes checked.
pub fn status(handle: &Handle) -> Result<Report, ReviewError> {
    let path = handle.locate()?;
    let rec = lifecycle::refresh(&path)?;
    Ok(waited(rec, path, false))
}

/// Waits up to `timeout` for the review to end.
pub async fn wait(handle: &Handle, timeout: Duration) -> Result<Report, ReviewError> {
    let path = handle.locate()?;
    let (rec, timed_out) = lifecycle::wait(&path, timeout).await?;
    Ok(waited(rec, path, timed_out))
}

/// Interrupts a live review, then waits up to `timeout` for its end to be recorded.
pub async fn interrupt(handle: &Handle, timeout: Duration) -> Result<Report, ReviewError> {
    let path = handle.locate()?;
    let (rec, timed_out) = lifecycle::interrupt(&path, timeout).await?;
    Ok(waited(rec, path, timed_out))
}

/// The report of a command that asked for the review's result.
pub(crate) fn waited(record: ReviewRecord, path: PathBuf, timed_out: bool) -> Report {
    Report {
        record,
        path: Some(path),
        timed_out,
        need_result: true,
    }
}
