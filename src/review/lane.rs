//! The lane host: the detached process that owns one review's server from start to reaping.
//!
//! `cas review_session start` writes a [`LaneSpec`] into a private lane folder and starts
//! `cas review_session host --lane-dir DIR` detached. The host starts the mock model (hermetic
//! runs), the websocket server (`ws://127.0.0.1:0`, capability token in a 0600 file), connects,
//! opens the thread (fresh or the parent), sends `review/start`, and writes the record at every
//! status change: running, then the terminal result. It writes `ready.json` once the review has
//! its thread id (or failed before), which is what `start` waits for. After the review ends the
//! server is an orphan: it is kept for `orphanTtlSeconds` (so the handle can still be inspected
//! live), then reaped, and the host exits. SIGTERM reaps at once. A review that outlives the
//! lane's own deadline is interrupted and reported as `review_failed`.

use serde::{Deserialize, Serialize};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::signal::unix::{signal, Signal, SignalKind};
use tokio::time::Instant;

use super::lane_io::{denied_approvals, LaneLog, LaneTap, LoggedPolicy};
use super::lane_protocol::{handshake, start_review};
use super::observe::{Change, ReviewStream};
use super::outcome::{classify, Observed};
use super::process;
use super::record::{self, ReviewRecord, ReviewStatus};
use super::thread::{early, open_thread, Early};
use crate::errors::{Chain, LaunchError, ReviewError, TransportError};
use crate::hooks::HookObserver;
use crate::launch::{self, ManagedServer, MockModel, ServerSpec};
use crate::outcome::{FailureCode, TurnStatus};
use crate::policy::{PolicyConfig, ServerRequestPolicy};
use crate::session::Session;

/// How long the server may take to print its banner and accept the connection.
const STARTUP_DEADLINE: Duration = Duration::from_secs(20);

/// Everything the host needs, written by `start` as `spec.json` in the lane folder.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LaneSpec {
    /// The lane id (its folder's name).
    pub lane_id: String,
    /// The initial record (status `starting`, no thread id yet).
    pub record: ReviewRecord,
    /// The server-request answers.
    pub policy: PolicyConfig,
    /// Extra `app-server` arguments (`--disable hooks` for `--hooks off`).
    pub server_args: Vec<String>,
    /// A hooks.json to install and trust in a hermetic home, with its folder.
    pub hooks_config: Option<(String, PathBuf)>,
    /// The review's own deadline, after which the host interrupts it.
    pub review_deadline_ms: u64,
    /// The deadline of each request.
    pub request_timeout_ms: u64,
}

/// The files of a lane folder.
pub struct LaneFiles {
    /// The folder.
    pub dir: PathBuf,
}

impl LaneFiles {
    /// `spec.json`.
    pub fn spec(&self) -> PathBuf {
        self.dir.join("spec.json")
    }
    /// `ready.json`: the record once the review has its thread id, or failed before.
    pub fn ready(&self) -> PathBuf {
        self.dir.join("ready.json")
    }
    /// The host's own stderr.
    pub fn host_log(&self) -> PathBuf {
        self.dir.join("host.log")
    }
    /// The server's stderr.
    pub fn server_log(&self) -> PathBuf {
        self.dir.join("codex-app-server.stderr.log")
    }
    /// The capability token (0600).
    pub fn token(&self) -> PathBuf {
        self.dir.join("token")
    }
    /// The NDJSON log of a lane that never got a thread id.
    pub fn early_log(&self) -> PathBuf {
        self.dir.join("lane.ndjson")
    }
}

/// One running lane.
struct Lane {
    spec: LaneSpec,
    files: LaneFiles,
    record: ReviewRecord,
    log: Arc<LaneLog>,
    hooks: Arc<HookObserver>,
    policy: Arc<ServerRequestPolicy>,
    server: Option<ManagedServer>,
    timeout: Duration,
}

/// Runs the host for the lane in `dir`; returns the process exit code.
///
/// The host logs through the process's one tracing subscriber, whose stderr is the lane's
/// `host.log` (see `process::spawn_host`: `info` unless the user set `RUST_LOG`; no ANSI
/// colours, since the log is not a terminal).
pub async fn host(dir: &Path) -> u8 {
    let files = LaneFiles {
        dir: dir.to_owned(),
    };
    let spec = match read_spec(&files.spec()) {
        Ok(spec) => spec,
        Err(e) => {
            tracing::error!("{}", Chain(&e));
            return 2;
        }
    };
    let mut term = match signal(SignalKind::terminate()) {
        Ok(s) => s,
        Err(e) => {
            tracing::error!("SIGTERM handler: {e}");
            return 2;
        }
    };
    tracing::info!(lane = %spec.lane_id, "review lane host started");
    let mut lane = Lane::new(spec, files);
    let code = lane.run(&mut term).await;
    if let Some(server) = lane.server.as_mut() {
        server.reap(Duration::from_secs(3)).await;
        tracing::info!(pid = server.pid, "managed server reaped");
        lane.record.transport.server_reaped_at_ms = Some(record::now_ms());
        let _ = std::fs::remove_file(lane.files.token());
        if lane.record.review_thread_id.is_some() {
            lane.save();
        }
    }
    tracing::info!(code, "review lane host done");
    code
}

impl Lane {
    fn new(spec: LaneSpec, files: LaneFiles) -> Lane {
        let mut rec = spec.record.clone();
        rec.transport.host_pid = Some(std::process::id());
        rec.transport.host_start_ticks = process::start_ticks(std::process::id());
        rec.transport.stderr_log_path = Some(files.server_log());
        rec.transport.token_file_path = Some(files.token());
        let hooks = Arc::new(HookObserver::new(files.dir.join("hooks.ndjson")));
        let timeout = Duration::from_millis(spec.request_timeout_ms);
        Lane {
            policy: Arc::new(ServerRequestPolicy::new(spec.policy.clone())),
            spec,
            files,
            record: rec,
            log: Arc::new(LaneLog::default()),
            hooks,
            server: None,
            timeout,
        }
    }

    fn save(&mut self) {
        if let Err(e) = self.record.save() {
            tracing::error!("saving the record: {}", Chain(&e));
        }
    }

    fn ready(&self) {
        let text = serde_json::to_string_pretty(&self.record).unwrap_or_default();
        if let Err(e) = record::write_atomic(&self.files.ready(), &text) {
            tracing::error!("writing the ready file: {}", Chain(&e));
        }
    }

    async fn run(&mut self, term: &mut Signal) -> u8 {
        let mock = if self.record.hermetic {
            Some(MockModel::start().await)
        } else {
            None
        };
        let opened = match self.bootstrap(mock.as_ref()).await {
            Ok(session) => match self.open_review(&session).await {
                Ok(turn) => Ok((session, turn)),
                Err(e) => Err(e),
            },
            Err(e) => Err(e),
        };
        let (session, turn) = match opened {
            Ok(pair) => pair,
            Err(e) => {
                self.fail_early(e);
                return 1;
            }
        };
        self.follow(&session, &turn, term).await;
        self.linger(term).await;
        session.shutdown(Duration::from_millis(200)).await;
        drop(mock);
        0
    }

    /// Records a failure before the review ran and tells `start`.
    fn fail_early(&mut self, e: Early) {
        let rec = &mut self.record;
        rec.status = ReviewStatus::Failed;
        rec.outcome.failure_code = Some(e.code);
        rec.outcome.failure_hint = Some(e.hint);
        rec.terminal_at_ms = Some(record::now_ms());
        rec.hook_summary = serde_json::to_value(self.hooks.summary(rec.hook_policy)).ok();
        if rec.review_thread_id.is_some() {
            self.save();
        } else {
            let _ = self.log.attach(&self.files.early_log());
            self.record.event_log_path = Some(self.files.early_log());
        }
        self.ready();
    }

    /// Mock model and home (hermetic), token, server, connection and handshake.
    async fn bootstrap(&mut self, mock: Option<&MockModel>) -> Result<Session, Early> {
        let home = self.record.codex_home.clone();
        if let Some(mock) = mock {
            self.prepare_hermetic(&home, mock)
                .await
                .map_err(|e| early(FailureCode::WebsocketBootstrapFailed, bootstrap_hint(&e)))?;
        }
        let bootstrap = |e: String| early(FailureCode::WebsocketBootstrapFailed, e);
        let token = launch::new_token().map_err(|e| bootstrap(Chain(&e).to_string()))?;
        launch::write_private(&self.files.token(), &token)
            .map_err(|e| bootstrap(Chain(&e).to_string()))?;
        let spec = ServerSpec {
            bin: self.record.codex.path.clone(),
            codex_home: home,
            cwd: self.record.cwd.clone(),
            extra_args: self.spec.server_args.clone(),
            env: Vec::new(),
        };
        let server = spec
            .spawn_managed(
                &self.files.token(),
                &self.files.server_log(),
                STARTUP_DEADLINE,
            )
            .await
            .map_err(|e| bootstrap(bootstrap_hint(&e)))?;
        tracing::info!(pid = server.pid, url = %server.url, "managed server listening");
        let t = &mut self.record.transport;
        t.server_pid = Some(server.pid);
        t.server_start_ticks = process::start_ticks(server.pid);
        t.listen_url = Some(server.url.clone());
        let url = server.url.clone();
        self.server = Some(server);
        let connection = crate::transport::ws::connect(&url, Some(&token), STARTUP_DEADLINE)
            .await
            .map_err(|e| bootstrap(Chain(&e).to_string()))?;
        self.log.record(&connection, "lane");
        let handler = Arc::new(LoggedPolicy {
            policy: self.policy.clone(),
        });
        let tap = Arc::new(LaneTap {
            hooks: self.hooks.clone(),
        });
        let session = Session::with_options(connection, handler, 32, Some(tap));
        handshake(&self.log, &session, self.timeout)
            .await
            .map_err(|e| bootstrap(format!("initialize over {url}: {}", Chain(&e))))?;
        Ok(session)
    }

    /// Opens the thread and starts the review; the record is saved as running.
    async fn open_review(&mut self, session: &Session) -> Result<String, Early> {
        let thread_id = open_thread(
            &self.log,
            session,
            &mut self.record.parent,
            &self.record.cwd,
            self.timeout,
        )
        .await?;
        self.record.review_thread_id = Some(thread_id.clone());
        let log_path =
            record::records_dir(&self.record.codex_home).join(format!("{thread_id}.ndjson"));
        if let Err(e) = self.log.attach(&log_path) {
            tracing::error!("{}: {e}", log_path.display());
        }
        self.record.event_log_path = Some(log_path);
        let turn = start_review(
            &self.log,
            session,
            &thread_id,
            &self.record.target,
            self.timeout,
        )
        .await?;
        self.record.review_turn_id = Some(turn.clone());
        self.record.status = ReviewStatus::Running;
        archive_previous(&self.record);
        self.save();
        self.ready();
        Ok(turn)
    }

    /// Follows the review to its end (or the lane's deadline, or SIGTERM) and records the outcome.
    async fn follow(&mut self, session: &Session, turn: &str, term: &mut Signal) {
        let thread = self.record.review_thread_id.clone().unwrap_or_default();
        let mut stream = ReviewStream::new(&thread, turn);
        let deadline = Instant::now() + Duration::from_millis(self.spec.review_deadline_ms);
        let mut lost = None;
        let mut overdue = false;
        loop {
            let next = tokio::select! {
                n = session.await_notification("review notifications", Duration::from_secs(1), |_| true) => n,
                _ = term.recv() => { lost = Some("the lane host was stopped (SIGTERM) before the review ended".to_owned()); break; }
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
            code = Some(FailureCode::ReviewFailed);
            hint = Some(stream.overdue_hint(self.spec.review_deadline_ms));
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

    /// Keeps the orphaned server for its TTL (no review is live any more), unless told to stop.
    async fn linger(&mut self, term: &mut Signal) {
        let alive = self
            .server
            .as_mut()
            .is_some_and(|s| matches!(s.child.try_wait(), Ok(None)));
        if !alive {
            return;
        }
        let ttl = Duration::from_secs(self.record.transport.orphan_ttl_seconds);
        tokio::select! {
            _ = tokio::time::sleep(ttl) => {}
            _ = term.recv() => {}
        }
    }
}

impl Lane {
    /// Points the hermetic home at this host's mock model (config and work folder) and
    /// installs the trusted hooks.
    async fn prepare_hermetic(&self, home: &Path, mock: &MockModel) -> Result<(), LaunchError> {
        let work = home.join("work");
        std::fs::create_dir_all(&work).map_err(|source| LaunchError::Prepare {
            what: work.display().to_string(),
            source,
        })?;
        launch::write_hermetic_config(home, &mock.base_url())?;
        if let Some((json, dir)) = &self.spec.hooks_config {
            let bin = &self.record.codex.path;
            launch::install_and_trust(bin, home, &self.record.cwd, json, dir)
                .await
                .map_err(|source| LaunchError::Hooks {
                    what: "hooks".into(),
                    source,
                })?;
        }
        Ok(())
    }
}

/// Reads the lane spec `start` wrote at `path`.
fn read_spec(path: &Path) -> Result<LaneSpec, ReviewError> {
    let text = std::fs::read_to_string(path).map_err(|e| ReviewError::io(path.display(), e))?;
    serde_json::from_str(&text).map_err(|source| ReviewError::BadSpec {
        path: path.to_owned(),
        source,
    })
}

/// A failed hermetic-home or server-start step as the failureHint words it: what was being
/// prepared (a path, `hooks`) or started, then the cause.
fn bootstrap_hint(e: &LaunchError) -> String {
    match e {
        LaunchError::Prepare { what, source } => format!("{what}: {}", Chain(source)),
        LaunchError::Hooks { what, source } => format!("{what}: {}", Chain(source)),
        LaunchError::Transport(TransportError::Spawn { program, source }) => {
            format!("starting {program}: {}", Chain(source))
        }
        LaunchError::NoBanner { after, stderr_tail } => format!(
            "codex app-server printed no `listening on: ws://…` within {after:?}; stderr tail:\n{stderr_tail}"
        ),
        other => Chain(other).to_string(),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::errors::HooksSetupError;

    #[test]
    fn bootstrap_hints_name_the_step_then_the_cause() {
        let os = || std::io::Error::other("permission denied");
        let work = LaunchError::Prepare {
            what: "/h/work".into(),
            source: os(),
        };
        assert_eq!(bootstrap_hint(&work), "/h/work: permission denied");
        let hooks = LaunchError::Hooks {
            what: "hooks".into(),
            source: HooksSetupError::Install { source: os() },
        };
        assert_eq!(
            bootstrap_hint(&hooks),
            "hooks: writing hooks.json: permission denied"
        );
    }
}
