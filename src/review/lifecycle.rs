//! The lifecycle seen from any process: launch a lane, then status, wait and interrupt by id.
//!
//! Nothing here holds a connection across commands: every command reads the record, checks the
//! recorded processes (pid plus start time), and for `interrupt` reconnects to the managed
//! server with the token from its 0600 file. A record whose host died without a terminal
//! result is concluded as `review_transport_lost` by whoever notices first, and a server left
//! without its host is ended (it also dies with its host by `PR_SET_PDEATHSIG`).

use serde_json::json;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::time::Instant;

use super::lane::{LaneFiles, LaneSpec};
use super::lane_io::LaneLog;
use super::process;
use super::record::{self, ReviewRecord, ReviewStatus};
use crate::errors::ReviewError;
use crate::outcome::FailureCode;
use crate::protocol::ClientInfo;
use crate::session::Session;

/// How often waiters read the record again.
const POLL: Duration = Duration::from_millis(100);

/// Writes the spec, starts the detached host, and waits up to `startup` for its ready file:
/// the running record (with its thread id), or the record of a lane that failed before.
pub async fn launch(
    spec: &LaneSpec,
    files: &LaneFiles,
    startup: Duration,
) -> Result<ReviewRecord, ReviewError> {
    let text = serde_json::to_string_pretty(spec).map_err(|source| ReviewError::Encode {
        what: "the lane spec",
        source,
    })?;
    record::write_atomic(&files.spec(), &text)?;
    let pid = process::spawn_host(&files.dir, &files.host_log())?;
    let ticks = process::start_ticks(pid);
    let deadline = Instant::now() + startup;
    let failed = |hint: String| {
        let mut rec = spec.record.clone();
        rec.status = ReviewStatus::Failed;
        rec.transport.host_pid = Some(pid);
        rec.terminal_at_ms = Some(record::now_ms());
        rec.outcome.failure_code = Some(FailureCode::WebsocketBootstrapFailed);
        rec.outcome.failure_hint = Some(hint);
        rec
    };
    loop {
        if let Ok(text) = std::fs::read_to_string(files.ready()) {
            return serde_json::from_str(&text).map_err(|source| ReviewError::BadRecord {
                path: files.ready(),
                source,
            });
        }
        if !process::alive(Some(pid), ticks) && !files.ready().exists() {
            return Ok(failed(format!(
                "the lane host (pid {pid}) exited before the review started; host log tail:\n{}",
                process::file_tail(&files.host_log(), 15)
            )));
        }
        if Instant::now() >= deadline {
            process::signal(Some(pid), ticks, libc::SIGTERM);
            let hint = format!("the lane was not ready within {startup:?} (cas stopped its host)");
            return Ok(failed(hint));
        }
        tokio::time::sleep(POLL / 2).await;
    }
}

/// Reads a record and brings it up to date with the processes it names: a live review whose
/// host is gone becomes `review_transport_lost` (saved), and a server whose host is gone is
/// ended.
pub fn refresh(path: &Path) -> Result<ReviewRecord, ReviewError> {
    let rec = ReviewRecord::load(path)?;
    let t = &rec.transport;
    if process::alive(t.host_pid, t.host_start_ticks) {
        return Ok(rec);
    }
    // The host is gone for good: read again, so a terminal record it wrote just before
    // exiting is never overwritten.
    let mut rec = ReviewRecord::load(path)?;
    let t = &rec.transport;
    let killed = process::signal(t.server_pid, t.server_start_ticks, libc::SIGKILL);
    if killed {
        rec.transport.server_reaped_at_ms = Some(record::now_ms());
    }
    if !rec.status.is_terminal() {
        rec.status = ReviewStatus::TransportLost;
        rec.outcome.failure_code = Some(FailureCode::ReviewTransportLost);
        let host = match rec.transport.selected {
            super::record::SelectedTransport::Stdio => {
                "the `start --wait` process of the stdio lane"
            }
            _ => "the lane host",
        };
        rec.outcome.failure_hint = Some(format!(
            "{host} (pid {}) is gone and left no terminal result",
            rec.transport.host_pid.unwrap_or(0)
        ));
        rec.terminal_at_ms = Some(record::now_ms());
        rec.save()?;
    } else if killed {
        rec.save()?;
    }
    Ok(rec)
}

/// Waits up to `timeout` for the review to end. `true` in the answer means the wait timed out:
/// the review goes on and the same id can be waited on again.
pub async fn wait(path: &Path, timeout: Duration) -> Result<(ReviewRecord, bool), ReviewError> {
    let deadline = Instant::now() + timeout;
    loop {
        let rec = refresh(path)?;
        if rec.status.is_terminal() {
            return Ok((rec, false));
        }
        if Instant::now() >= deadline {
            return Ok((rec, true));
        }
        tokio::time::sleep(POLL.min(deadline - Instant::now())).await;
    }
}

/// Interrupts a live review through a new connection to its managed server, then waits up to
/// `timeout` for the host to record the end. A review already over is returned as it is.
pub async fn interrupt(
    path: &Path,
    timeout: Duration,
) -> Result<(ReviewRecord, bool), ReviewError> {
    let rec = refresh(path)?;
    if rec.status.is_terminal() {
        return Ok((rec, false));
    }
    let log = match &rec.event_log_path {
        Some(p) => LaneLog::open(p).unwrap_or_default(),
        None => LaneLog::default(),
    };
    send_interrupt(&rec, &log, timeout).await?;
    wait(path, timeout).await
}

/// Asks the review's managed server to interrupt the review's active turn.
async fn send_interrupt(
    rec: &ReviewRecord,
    log: &LaneLog,
    timeout: Duration,
) -> Result<(), ReviewError> {
    let session = connect_managed(rec, log, timeout).await?;
    let sent = interrupt_active_turn(&session, rec, log, timeout).await;
    session.shutdown(Duration::from_millis(200)).await;
    sent
}

/// A new initialized session on the record's managed server, with the token from its file.
async fn connect_managed(
    rec: &ReviewRecord,
    log: &LaneLog,
    timeout: Duration,
) -> Result<Session, ReviewError> {
    let t = &rec.transport;
    let (Some(url), Some(token_file)) = (&t.listen_url, &t.token_file_path) else {
        return Err(interrupt_failed(
            "the record names no managed server".into(),
        ));
    };
    let token = std::fs::read_to_string(token_file)
        .map_err(|e| interrupted_by(ReviewError::io(token_file.display(), e)))?;
    let connection = crate::transport::ws::connect(url, Some(token.trim()), timeout)
        .await
        .map_err(interrupted_by)?;
    log.record(&connection, "interrupt");
    let policy = std::sync::Arc::new(crate::policy::ServerRequestPolicy::default());
    let session = Session::start(connection, policy);
    let client = ClientInfo::named("cas-review-interrupt");
    session
        .initialize(&client, timeout)
        .await
        .map_err(interrupted_by)?;
    Ok(session)
}

/// Sends `turn/interrupt` for the review's turn, following codex once when it names another.
async fn interrupt_active_turn(
    session: &Session,
    rec: &ReviewRecord,
    log: &LaneLog,
    timeout: Duration,
) -> Result<(), ReviewError> {
    let thread = rec.review_thread_id.clone().unwrap_or_default();
    // The active turn is the review's T2 when its turn/started was seen, else T1; codex names
    // the active one when cas guesses wrong, and cas follows it once.
    let mut turn = rec
        .review_started_turn_id
        .clone()
        .or_else(|| rec.review_turn_id.clone())
        .unwrap_or_default();
    for _ in 0..2 {
        let params = json!({"threadId": thread, "turnId": turn});
        match log
            .request(session, "turn/interrupt", params, timeout)
            .await
        {
            Ok(Ok(_)) => break,
            Ok(Err(e)) => match e
                .message
                .strip_prefix("expected active turn id ")
                .and_then(|r| r.split(" but found ").nth(1))
            {
                Some(active) => turn = active.trim().to_owned(),
                None => {
                    let reason = format!("turn/interrupt refused: {}", e.message);
                    return Err(interrupt_failed(reason));
                }
            },
            Err(e) => return Err(interrupted_by(e)),
        }
    }
    Ok(())
}

/// Interrupting failed: `reason` in words.
fn interrupt_failed(reason: String) -> ReviewError {
    ReviewError::Interrupt { reason }
}

/// Interrupting failed on `source` (kept as the cause).
fn interrupted_by(source: impl std::error::Error + Send + Sync + 'static) -> ReviewError {
    ReviewError::InterruptFailed {
        source: Box::new(source),
    }
}

/// The record of `parent` when it names a review that is still live (its host alive).
pub fn live_review_on(parent: &str) -> Option<(PathBuf, ReviewRecord)> {
    let path = record::locate(parent, None).ok()?;
    let rec = refresh(&path).ok()?;
    (!rec.status.is_terminal()).then_some((path, rec))
}
