//! Starting `codex app-server` owned by cas: one command builder, one banner parser.
//!
//! A stdio server is a child whose stdin/stdout carry JSONL. A websocket server binds
//! `ws://127.0.0.1:0`, requires a capability token kept in a 0600 file in a private folder of
//! cas's (never in CODEX_HOME), and its port is read from the stderr banner
//! (`listening on: ws://…`) within a deadline. A managed server (the review lane's) is the same
//! websocket server with its stderr appended to a log file and `PR_SET_PDEATHSIG`, so it dies
//! with the process that started it.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use tokio::process::Command;
use tokio::time::Instant;

use super::files::{new_token, prepare, write_private};
use crate::errors::{LaunchError, TransportError};
use crate::transport::{self, ChildProcess, Connection};

/// How to start one `codex app-server`.
#[derive(Debug, Clone)]
pub struct ServerSpec {
    /// The codex binary.
    pub bin: PathBuf,
    /// The CODEX_HOME to give it.
    pub codex_home: PathBuf,
    /// Its working directory (thread/start without cwd uses it).
    pub cwd: PathBuf,
    /// Extra arguments after `app-server`, e.g. `--disable hooks`.
    pub extra_args: Vec<String>,
    /// Extra environment variables of the server process (a scenario's `[server] env`).
    pub env: Vec<(String, String)>,
}

/// The URL of a websocket server's `listening on: ws://…` banner line, if `line` is one.
pub fn parse_banner(line: &str) -> Option<String> {
    let url = line.trim().strip_prefix("listening on: ")?.trim();
    url.starts_with("ws://").then(|| url.to_owned())
}

impl ServerSpec {
    /// The command: `app-server`, the websocket flags when `ws_token_file` is given, then the
    /// extra arguments; CODEX_HOME, `RUST_LOG=warn` and the cwd set.
    pub fn std_command(&self, ws_token_file: Option<&Path>) -> std::process::Command {
        let mut command = std::process::Command::new(&self.bin);
        command.arg("app-server");
        if let Some(token_file) = ws_token_file {
            command
                .args([
                    "--listen",
                    "ws://127.0.0.1:0",
                    "--ws-auth",
                    "capability-token",
                    "--ws-token-file",
                ])
                .arg(token_file);
        }
        command
            .args(&self.extra_args)
            .env("CODEX_HOME", &self.codex_home)
            .env("RUST_LOG", "warn")
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .current_dir(&self.cwd);
        command
    }

    /// [`ServerSpec::std_command`] as a tokio command.
    fn command(&self, ws_token_file: Option<&Path>) -> Command {
        Command::from(self.std_command(ws_token_file))
    }

    /// Starts the server on stdio and connects to it.
    pub fn spawn_stdio(&self) -> Result<Connection, LaunchError> {
        let connection = transport::stdio::spawn(self.command(None), "codex app-server")?;
        tracing::debug!(
            pid = ?connection.child().and_then(|c| c.pid()),
            home = %self.codex_home.display(),
            transport = "stdio",
            "codex app-server spawned"
        );
        Ok(connection)
    }

    /// Starts the server on `ws://127.0.0.1:0` with a capability token and waits for its banner.
    pub async fn spawn_ws(&self, banner_deadline: Duration) -> Result<WsServer, LaunchError> {
        let token = new_token()?;
        // The token file lives in a private folder of cas's, not in CODEX_HOME (which may be
        // the user's own); codex reads it at startup, and the folder goes with the server.
        let token_dir = tempfile::Builder::new()
            .prefix("cas-ws-token-")
            .tempdir()
            .map_err(|source| LaunchError::Prepare {
                what: "a folder for the websocket token".into(),
                source,
            })?;
        let token_file = token_dir.path().join("token");
        write_private(&token_file, &token)?;
        let command = self.command(Some(&token_file));
        let (child, _stdin, _stdout) = ChildProcess::spawn(command, "codex app-server")?;
        tracing::debug!(pid = ?child.pid(), home = %self.codex_home.display(), transport = "ws", "codex app-server spawned");
        let deadline = Instant::now() + banner_deadline;
        match child.stderr().wait_for(deadline, parse_banner).await {
            Some(url) => {
                tracing::debug!(pid = ?child.pid(), %url, "codex app-server listening");
                Ok(WsServer {
                    child,
                    url,
                    token,
                    _token_dir: token_dir,
                })
            }
            None => {
                let _ = child.shutdown(Duration::from_millis(100)).await;
                Err(LaunchError::NoBanner {
                    after: banner_deadline,
                    stderr_tail: child.stderr().tail(20),
                })
            }
        }
    }

    /// Starts a managed websocket server: token in `token_file`, stdin and stdout on
    /// /dev/null, stderr appended to `stderr_log`, SIGTERM when its parent dies. Waits up to
    /// `deadline` for the banner in that log.
    pub async fn spawn_managed(
        &self,
        token_file: &Path,
        stderr_log: &Path,
        deadline: Duration,
    ) -> Result<ManagedServer, LaunchError> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(stderr_log)
            .map_err(prepare(stderr_log))?;
        let start_len = log.metadata().map(|m| m.len()).unwrap_or(0);
        let mut command = self.command(Some(token_file));
        command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .kill_on_drop(true);
        // SAFETY: prctl(2) is async-signal-safe; the server gets SIGTERM when its parent dies.
        unsafe {
            command.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
                Ok(())
            });
        }
        let mut child = command.spawn().map_err(|source| TransportError::Spawn {
            program: self.bin.display().to_string(),
            source,
        })?;
        let pid = child.id().ok_or(LaunchError::ExitedAtOnce)?;
        tracing::debug!(pid, home = %self.codex_home.display(), transport = "ws", "managed codex app-server spawned");
        let url = wait_for_logged_banner(&mut child, stderr_log, start_len, deadline).await?;
        tracing::debug!(pid, %url, "managed codex app-server listening");
        Ok(ManagedServer { child, pid, url })
    }
}

/// A managed websocket server: the process (killed on drop), its pid and listen URL.
pub struct ManagedServer {
    /// The process (killed on drop).
    pub child: tokio::process::Child,
    /// Its pid.
    pub pid: u32,
    /// The listen URL from its banner.
    pub url: String,
}

impl ManagedServer {
    /// Ends the server: SIGTERM, up to `grace` to exit, then SIGKILL; reaped either way.
    pub async fn reap(&mut self, grace: Duration) {
        transport::shutdown::terminate(&mut self.child, grace).await;
    }
}

/// Polls `log` (from byte `from` on) for the banner until `deadline`, the child exits, or the
/// banner shows.
async fn wait_for_logged_banner(
    child: &mut tokio::process::Child,
    log: &Path,
    from: u64,
    deadline: Duration,
) -> Result<String, LaunchError> {
    let until = Instant::now() + deadline;
    loop {
        let text = std::fs::read(log).unwrap_or_default();
        let fresh = String::from_utf8_lossy(text.get(from as usize..).unwrap_or_default());
        if let Some(url) = fresh.lines().find_map(parse_banner) {
            return Ok(url);
        }
        if let Ok(Some(status)) = child.try_wait() {
            return Err(LaunchError::ExitedEarly {
                status,
                stderr_tail: tail(&fresh, 15),
            });
        }
        if Instant::now() >= until {
            let _ = child.start_kill();
            return Err(LaunchError::NoBanner {
                after: deadline,
                stderr_tail: tail(&fresh, 15),
            });
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// The last `n` lines of `text`.
pub fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// A websocket app-server cas started: the process, where it listens, and its token.
pub struct WsServer {
    /// The server process (owned; dies with the last handle).
    pub child: ChildProcess,
    /// The listen URL from the banner, e.g. `ws://127.0.0.1:37715`.
    pub url: String,
    /// The capability token to present as `Authorization: Bearer`.
    pub token: String,
    _token_dir: tempfile::TempDir,
}

impl WsServer {
    /// Opens a websocket connection that owns the server process.
    pub async fn connect(&self, deadline: Duration) -> Result<Connection, LaunchError> {
        let connection = transport::ws::connect(&self.url, Some(&self.token), deadline).await?;
        Ok(connection.with_child(self.child.clone()))
    }
}
