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
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::signal::unix::{signal, Signal, SignalKind};

use super::drive::Driver;
use super::process;
use super::record::{self, ReviewRecord};
use super::thread::{early, Early};
use crate::errors::{Chain, LaunchError, ReviewError, TransportError};
use crate::launch::{self, ManagedServer, MockModel, ServerSpec};
use crate::outcome::FailureCode;
use crate::policy::PolicyConfig;
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

impl LaneSpec {
    /// The driver of this review, its record naming this process as the host and `files`'s
    /// server log as the server's stderr; the review is interrupted after `deadline_ms`.
    pub(super) fn driver(&self, files: &LaneFiles, deadline_ms: u64) -> Driver {
        let mut rec = self.record.clone();
        rec.transport.host_pid = Some(std::process::id());
        rec.transport.host_start_ticks = process::start_ticks(std::process::id());
        rec.transport.stderr_log_path = Some(files.server_log());
        Driver::new(
            rec,
            self.policy.clone(),
            files.dir.join("hooks.ndjson"),
            self.request_timeout_ms,
            deadline_ms,
        )
    }

    /// Points the hermetic home of `rec` at `mock` and installs the hooks (nothing without a
    /// mock); a failure is `code` with the step's hint.
    pub(super) async fn prepare_home(
        &self,
        rec: &ReviewRecord,
        mock: Option<&MockModel>,
        code: FailureCode,
    ) -> Result<(), Early> {
        match mock {
            Some(mock) => prepare_hermetic(rec, &self.hooks_config, mock)
                .await
                .map_err(|e| early(code, bootstrap_hint(&e))),
            None => Ok(()),
        }
    }

    /// The `app-server` of the review in `rec`: its codex, home and folder, with the extra
    /// arguments.
    pub(super) fn server_spec(&self, rec: &ReviewRecord) -> ServerSpec {
        ServerSpec {
            bin: rec.codex.path.clone(),
            codex_home: rec.codex_home.clone(),
            cwd: rec.cwd.clone(),
            extra_args: self.server_args.clone(),
            env: Vec::new(),
        }
    }
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
    driver: Driver,
    server: Option<ManagedServer>,
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
        lane.driver.record.transport.server_reaped_at_ms = Some(record::now_ms());
        let _ = std::fs::remove_file(lane.files.token());
        if lane.driver.record.review_thread_id.is_some() {
            lane.driver.save();
        }
    }
    tracing::info!(code, "review lane host done");
    code
}

impl Lane {
    fn new(spec: LaneSpec, files: LaneFiles) -> Lane {
        let mut driver = spec.driver(&files, spec.review_deadline_ms);
        driver.record.transport.token_file_path = Some(files.token());
        Lane {
            spec,
            files,
            driver,
            server: None,
        }
    }

    fn ready(&self) {
        let text = serde_json::to_string_pretty(&self.driver.record).unwrap_or_default();
        if let Err(e) = record::write_atomic(&self.files.ready(), &text) {
            tracing::error!("writing the ready file: {}", Chain(&e));
        }
    }

    async fn run(&mut self, term: &mut Signal) -> u8 {
        let mock = self.driver.hermetic_mock().await;
        let opened = match self.bootstrap(mock.as_ref()).await {
            Ok(session) => match self.driver.open_review(&session).await {
                Ok(turn) => Ok((session, turn)),
                Err(e) => Err(e),
            },
            Err(e) => Err(e),
        };
        let (session, turn) = match opened {
            Ok(pair) => pair,
            Err(e) => {
                self.driver.fail_early(e, &self.files.early_log());
                self.ready();
                return 1;
            }
        };
        self.ready();
        let stopped = async {
            term.recv().await;
            "the lane host was stopped (SIGTERM) before the review ended".to_owned()
        };
        self.driver.follow(&session, &turn, stopped).await;
        self.linger(term).await;
        session.shutdown(Duration::from_millis(200)).await;
        drop(mock);
        0
    }

    /// Mock model and home (hermetic), token, server, connection and handshake.
    async fn bootstrap(&mut self, mock: Option<&MockModel>) -> Result<Session, Early> {
        let rec = &self.driver.record;
        let code = FailureCode::WebsocketBootstrapFailed;
        self.spec.prepare_home(rec, mock, code).await?;
        let bootstrap = |e: String| early(code, e);
        let token = launch::new_token().map_err(|e| bootstrap(Chain(&e).to_string()))?;
        launch::write_private(&self.files.token(), &token)
            .map_err(|e| bootstrap(Chain(&e).to_string()))?;
        let server = self
            .spec
            .server_spec(rec)
            .spawn_managed(
                &self.files.token(),
                &self.files.server_log(),
                STARTUP_DEADLINE,
            )
            .await
            .map_err(|e| bootstrap(bootstrap_hint(&e)))?;
        tracing::info!(pid = server.pid, url = %server.url, "managed server listening");
        let t = &mut self.driver.record.transport;
        t.server_pid = Some(server.pid);
        t.server_start_ticks = process::start_ticks(server.pid);
        t.listen_url = Some(server.url.clone());
        let url = server.url.clone();
        self.server = Some(server);
        let connection = crate::transport::ws::connect(&url, Some(&token), STARTUP_DEADLINE)
            .await
            .map_err(|e| bootstrap(Chain(&e).to_string()))?;
        self.driver
            .connect(connection)
            .await
            .map_err(|e| bootstrap(format!("initialize over {url}: {}", Chain(&e))))
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
        let ttl = Duration::from_secs(self.driver.record.transport.orphan_ttl_seconds);
        tokio::select! {
            _ = tokio::time::sleep(ttl) => {}
            _ = term.recv() => {}
        }
    }
}

/// Points a hermetic home at this process's mock model (config and work folder) and
/// installs the trusted hooks, if any.
async fn prepare_hermetic(
    rec: &ReviewRecord,
    hooks_config: &Option<(String, PathBuf)>,
    mock: &MockModel,
) -> Result<(), LaunchError> {
    let home = &rec.codex_home;
    let work = home.join("work");
    std::fs::create_dir_all(&work).map_err(|source| LaunchError::Prepare {
        what: work.display().to_string(),
        source,
    })?;
    launch::write_hermetic_config(home, &mock.base_url())?;
    if let Some((json, dir)) = hooks_config {
        launch::install_and_trust(&rec.codex.path, home, &rec.cwd, json, dir)
            .await
            .map_err(|source| LaunchError::Hooks {
                what: "hooks".into(),
                source,
            })?;
    }
    Ok(())
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
pub(super) fn bootstrap_hint(e: &LaunchError) -> String {
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
