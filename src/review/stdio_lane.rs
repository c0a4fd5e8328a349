//! The stdio lane: `start --wait` reviewing on a stdio `app-server` in its own process.
//!
//! Chosen when the codex lacks a flag the websocket lane needs (see [`super::select`]). No
//! host is detached and no server outlives the command: the mock model (hermetic runs) and the
//! server are this process's, the server's pid is registered with [`crate::interrupt`], and the
//! whole run is guarded, so SIGINT or SIGTERM stops the server, then the record is concluded
//! as `review_transport_lost` with the signal named. The record is written as the websocket
//! host writes it (keyed by reviewThreadId, running then terminal), with this process as its
//! `hostPid`: a `status` that finds the process gone before a terminal result concludes it
//! `review_transport_lost` too. The review's deadline is the smaller of `--timeout-ms` and
//! `--review-deadline-ms`, since nothing could wait on it later.

use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

use super::drive::Driver;
use super::lane::{bootstrap_hint, LaneFiles, LaneSpec};
use super::process;
use super::record::{self, ReviewRecord, ReviewStatus};
use super::thread::{early, Early};
use crate::errors::Chain;
use crate::interrupt::Interrupted;
use crate::launch::MockModel;
use crate::outcome::FailureCode;
use crate::session::Session;

/// How many stderr lines of the server are kept in its log.
const STDERR_LINES: usize = 200;

/// Runs the review of `spec` on a stdio server to its end; on SIGINT or SIGTERM the server is
/// stopped first and the record (if the review had started) concluded, and the signal returned.
pub async fn run(
    spec: LaneSpec,
    files: LaneFiles,
    wait_ms: u64,
) -> Result<ReviewRecord, Interrupted> {
    let started: Mutex<Option<PathBuf>> = Mutex::new(None);
    match crate::interrupt::guard(review(spec, files, wait_ms, &started)).await {
        Ok(rec) => Ok(rec),
        Err(signal) => {
            let path = started.lock().unwrap_or_else(|p| p.into_inner()).take();
            if let Some(path) = path {
                conclude_interrupted(&path, signal);
            }
            Err(signal)
        }
    }
}

/// Mock model, server, handshake, review; the server is ended and its stderr kept either way.
async fn review(
    spec: LaneSpec,
    files: LaneFiles,
    wait_ms: u64,
    started: &Mutex<Option<PathBuf>>,
) -> ReviewRecord {
    let mut driver = spec.driver(&files, spec.review_deadline_ms.min(wait_ms));
    let mock = driver.hermetic_mock().await;
    let session = match open(&mut driver, &spec, mock.as_ref()).await {
        Ok(session) => session,
        Err(e) => {
            driver.fail_early(e, &files.early_log());
            return driver.record;
        }
    };
    let turn = match driver.open_review(&session).await {
        Ok(turn) => turn,
        Err(e) => {
            end_server(&mut driver, session, &files).await;
            driver.fail_early(e, &files.early_log());
            return driver.record;
        }
    };
    *started.lock().unwrap_or_else(|p| p.into_inner()) = driver.record.path();
    driver.follow(&session, &turn, std::future::pending()).await;
    end_server(&mut driver, session, &files).await;
    driver.save();
    drop(mock);
    driver.record
}

/// The hermetic home, the stdio server and the handshake.
async fn open(
    driver: &mut Driver,
    spec: &LaneSpec,
    mock: Option<&MockModel>,
) -> Result<Session, Early> {
    let code = FailureCode::StdioBootstrapFailed;
    let failed = |hint: String| early(code, hint);
    let rec = &driver.record;
    spec.prepare_home(rec, mock, code).await?;
    let connection = spec
        .server_spec(rec)
        .spawn_stdio()
        .map_err(|e| failed(bootstrap_hint(&e)))?;
    let child = connection.child().cloned();
    if let Some(pid) = child.as_ref().and_then(|c| c.pid()) {
        let t = &mut driver.record.transport;
        t.server_pid = Some(pid);
        t.server_start_ticks = process::start_ticks(pid);
    }
    driver.connect(connection).await.map_err(|e| {
        let tail = child.map(|c| c.stderr().tail(15)).unwrap_or_default();
        failed(format!(
            "initialize over stdio: {}; stderr tail:\n{tail}",
            Chain(&e)
        ))
    })
}

/// Ends the server, keeps its stderr tail in the lane folder, and records the reaping.
async fn end_server(driver: &mut Driver, session: Session, files: &LaneFiles) {
    let tail = session.child().map(|c| c.stderr().tail(STDERR_LINES));
    session.shutdown(Duration::from_millis(500)).await;
    if let Some(tail) = tail {
        if let Err(e) = std::fs::write(files.server_log(), tail) {
            tracing::error!("{}: {e}", files.server_log().display());
        }
    }
    driver.record.transport.server_reaped_at_ms = Some(record::now_ms());
}

/// Concludes the record at `path` as `review_transport_lost` after `signal` stopped the run.
fn conclude_interrupted(path: &std::path::Path, signal: Interrupted) {
    let Ok(mut rec) = ReviewRecord::load(path) else {
        return;
    };
    if rec.status.is_terminal() {
        return;
    }
    rec.status = ReviewStatus::TransportLost;
    rec.outcome.failure_code = Some(FailureCode::ReviewTransportLost);
    rec.outcome.failure_hint = Some(format!(
        "cas was interrupted by {} before the review ended; its stdio server was stopped",
        signal.name()
    ));
    rec.transport.server_reaped_at_ms = Some(record::now_ms());
    rec.terminal_at_ms = Some(record::now_ms());
    if let Err(e) = rec.save() {
        tracing::error!("saving the interrupted record: {}", Chain(&e));
    }
}
