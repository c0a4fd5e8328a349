//! Driving one review over an initialized connection, whatever carries it.
//!
//! The [`Driver`] is the transport-independent part of a review lane: the session's policy,
//! hook tap and log, opening the thread, `review/start` (with fresh-parent materialization),
//! following the review to its end and classifying it into the record. The detached websocket
//! host (`lane`) and the in-process stdio lane (`stdio_lane`) each bring a connection and a
//! way to be stopped, and share everything else.

use serde_json::json;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

use super::lane_io::{denied_approvals, LaneLog, LaneTap, LoggedPolicy};
use super::lane_protocol::{handshake, start_review};
use super::observe::{Change, ReviewStream};
use super::outcome::{classify, Observed};
use super::record::{self, ReviewRecord, ReviewStatus};
use super::thread::{open_thread, Early};
use crate::errors::{Chain, HandshakeError};
use crate::hooks::HookObserver;
use crate::launch::MockModel;
use crate::outcome::TurnStatus;
use crate::policy::{PolicyConfig, ServerRequestPolicy};
use crate::session::Session;
use crate::transport::Connection;

/// One review's protocol state: the record and what feeds it.
pub struct Driver {
    /// The record, saved at every status change once it has a thread id.
    pub record: ReviewRecord,
    /// The raw traffic log.
    pub log: Arc<LaneLog>,
    /// The hook observer (every notification passes it).
    pub hooks: Arc<HookObserver>,
    /// The server-request answers.
    pub policy: Arc<ServerRequestPolicy>,
    /// Each request's deadline.
    pub timeout: Duration,
    /// The review's own deadline, after which it is interrupted (`review_failed`).
    pub review_deadline_ms: u64,
}

impl Driver {
    /// A driver for `record`, logging hook runs to `hooks_log`.
    pub fn new(
        record: ReviewRecord,
        policy: PolicyConfig,
        hooks_log: PathBuf,
        request_timeout_ms: u64,
        review_deadline_ms: u64,
    ) -> Driver {
        Driver {
            record,
            log: Arc::new(LaneLog::default()),
            hooks: Arc::new(HookObserver::new(hooks_log)),
            policy: Arc::new(ServerRequestPolicy::new(policy)),
            timeout: Duration::from_millis(request_timeout_ms),
            review_deadline_ms,
        }
    }

    /// The mock model a hermetic review's server talks to; none for a review on the user's home.
    pub async fn hermetic_mock(&self) -> Option<MockModel> {
        if self.record.hermetic {
            Some(MockModel::start().await)
        } else {
            None
        }
    }

    /// Saves the record (errors are logged: the review goes on).
    pub fn save(&mut self) {
        if let Err(e) = self.record.save() {
            tracing::error!("saving the record: {}", Chain(&e));
        }
    }

    /// A session over `connection`, logged, answering server requests by the policy and
    /// passing every notification to the hook observer; then the handshake.
    pub async fn connect(&self, connection: Connection) -> Result<Session, HandshakeError> {
        self.log.record(&connection, "lane");
        let handler = Arc::new(LoggedPolicy {
            policy: self.policy.clone(),
        });
        let tap = Arc::new(LaneTap {
            hooks: self.hooks.clone(),
        });
        let session = Session::with_options(connection, handler, 32, Some(tap));
        handshake(&self.log, &session, self.timeout).await?;
        Ok(session)
    }

    /// Records a failure before the review ran; a record without a thread id keeps its log at
    /// `early_log`.
    pub fn fail_early(&mut self, e: Early, early_log: &Path) {
        let rec = &mut self.record;
        rec.status = ReviewStatus::Failed;
        rec.outcome.failure_code = Some(e.code);
        rec.outcome.failure_hint = Some(e.hint);
        rec.terminal_at_ms = Some(record::now_ms());
        rec.hook_summary = serde_json::to_value(self.hooks.summary(rec.hook_policy)).ok();
        if rec.review_thread_id.is_some() {
            self.save();
        } else {
            let _ = self.log.attach(early_log);
            self.record.event_log_path = Some(early_log.to_owned());
        }
    }

    /// Opens the thread and starts the review; the record is saved as running.
    pub async fn open_review(&mut self, session: &Session) -> Result<String, Early> {
        let rec = &mut self.record;
        let thread_id =
            open_thread(&self.log, session, &mut rec.parent, &rec.cwd, self.timeout).await?;
        rec.review_thread_id = Some(thread_id.clone());
        let log_path = record::records_dir(&rec.codex_home).join(format!("{thread_id}.ndjson"));
        if let Err(e) = self.log.attach(&log_path) {
            tracing::error!("{}: {e}", log_path.display());
        }
        rec.event_log_path = Some(log_path);
        let (target, timeout) = (&rec.target, self.timeout);
        let materialized = &mut rec.parent.materialized;
        let turn = start_review(
            &self.log,
            session,
            &thread_id,
            target,
            timeout,
            materialized,
        );
        let turn = turn.await?;
        self.record.review_turn_id = Some(turn.clone());
        self.record.status = ReviewStatus::Running;
        archive_previous(&self.record);
        self.save();
        Ok(turn)
    }

    /// Follows the review to its end, the review deadline, or `stop` (which says why the
    /// transport is gone), and records the outcome.
    pub async fn follow(
        &mut self,
        session: &Session,
        turn: &str,
        stop: impl Future<Output = String>,
    ) {
        let thread = self.record.review_thread_id.clone().unwrap_or_default();
        let mut stream = ReviewStream::new(&thread, turn);
        let deadline = Instant::now() + Duration::from_millis(self.review_deadline_ms);
        let mut lost = None;
        let mut overdue = false;
        tokio::pin!(stop);
        loop {
            let next = tokio::select! {
                n = session.await_notification("review notifications", Duration::from_secs(1), |_| true) => n,
                why = &mut stop => { lost = Some(why); break; }
            };
            match next {
                Ok(n) => match stream.feed(&n) {
                    Change::Started => {
                        self.record.review_started_turn_id = stream.started_turn_id.clone();
                        self.save();
                    }
                    Change::Ended(_) => break,
                    Change::Error => {
                        self.record.outcome.codex_errors = stream.errors;
                        self.record.outcome.last_codex_error = stream.last_error.clone();
                        self.save();
                    }
                    Change::Nothing => {}
                },
                Err(crate::errors::SessionError::Timeout { .. }) => {}
                Err(e) => {
                    lost = Some(format!("the managed server connection was lost: {e}"));
                    break;
                }
            }
            if Instant::now() >= deadline || stream.keeps_failing() {
                overdue = true;
                let params = json!({"threadId": thread, "turnId": stream.started_turn_id.as_deref().unwrap_or(turn)});
                let _ = self
                    .log
                    .request(session, "turn/interrupt", params, Duration::from_secs(5))
                    .await;
                break;
            }
        }
        self.conclude(&stream, lost, overdue);
    }

    fn conclude(&mut self, stream: &ReviewStream, lost: Option<String>, overdue: bool) {
        let hooks = self.hooks.summary(self.record.hook_policy);
        let result = stream.result();
        let observed = Observed {
            turn_status: stream.turn_status.clone(),
            turn_error: stream.turn_error.clone(),
            transport_lost: lost.clone(),
            approvals_denied: denied_approvals(&self.policy),
            hook_code: hooks.failure_code,
            has_result: result.is_some(),
        };
        let (mut code, mut hint) = classify(&observed);
        if overdue {
            code = Some(crate::outcome::FailureCode::ReviewFailed);
            hint = Some(stream.overdue_hint(self.review_deadline_ms));
        }
        let rec = &mut self.record;
        rec.status = match (lost.is_some(), stream.turn_status.as_ref()) {
            (true, _) => ReviewStatus::TransportLost,
            (false, Some(TurnStatus::Completed)) => ReviewStatus::Completed,
            (false, Some(TurnStatus::Interrupted)) => ReviewStatus::Interrupted,
            _ => ReviewStatus::Failed,
        };
        rec.outcome.failure_code = code;
        rec.outcome.failure_hint = hint;
        rec.outcome.turn_status = stream.turn_status.clone();
        rec.outcome.review_text = stream.review_text.clone();
        if let Some((result, source)) = result {
            rec.outcome.result = Some(result);
            rec.outcome.result_source = Some(source.to_owned());
        }
        rec.hook_summary = serde_json::to_value(&hooks).ok();
        rec.server_requests = self
            .policy
            .records()
            .iter()
            .filter_map(|r| serde_json::to_value(r).ok())
            .collect();
        rec.terminal_at_ms = Some(record::now_ms());
        self.save();
    }
}

/// A reused thread already has a record (its earlier review): keep it as
/// `<id>.<its review turn id>.json` before the new review takes the id's place.
fn archive_previous(current: &ReviewRecord) {
    let Some(path) = current.path() else { return };
    let Ok(previous) = ReviewRecord::load(&path) else {
        return;
    };
    let (Some(id), Some(turn)) = (&previous.review_thread_id, &previous.review_turn_id) else {
        return;
    };
    if previous.lane_id != current.lane_id {
        let kept = path.with_file_name(format!("{id}.{turn}.json"));
        if let Err(e) = std::fs::rename(&path, &kept) {
            tracing::error!("keeping {}: {e}", path.display());
        }
    }
}
