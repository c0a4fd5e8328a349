//! Every error type of the cas library, in one place.
//!
//! Messages are lower case with the offending value embedded; causes live in `#[source]` and are
//! not repeated in the message; hints stand on their own line as "(hint: …)". A protocol
//! violation by a server is never one of these: it is data in a verdict or a command's output.

use std::path::PathBuf;
use std::time::Duration;

use crate::jsonrpc::RpcError;
use crate::protocol::ErrorClass;

mod codes;
mod scenario;
mod setup;
pub use codes::FailureCoded;
pub use scenario::*;
pub use setup::*;

/// A line or frame that is not a JSON-RPC message (declared beside the codec that raises it).
pub use crate::jsonrpc::DecodeError;

/// An error shown with its causes: the message, then `: cause` for each `source()` in turn.
///
/// Messages do not repeat their cause, so this is how an error is put in front of a user or
/// into output: `format!("{}", Chain(&e))`.
#[derive(Clone, Copy)]
pub struct Chain<'a>(pub &'a dyn std::error::Error);

impl std::fmt::Display for Chain<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)?;
        let mut cause = self.0.source();
        while let Some(e) = cause {
            write!(f, ": {e}")?;
            cause = e.source();
        }
        Ok(())
    }
}

/// A connection that could not be made or broke.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    /// A child process could not be started.
    #[error("could not start {program}")]
    Spawn {
        /// The program that was run.
        program: String,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },
    /// A websocket connection could not be opened.
    #[error("could not connect to {url}")]
    Connect {
        /// The URL dialled.
        url: String,
        /// What the websocket handshake said.
        #[source]
        source: WsError,
    },
    /// The token cannot be sent as an `Authorization` header.
    #[error("could not connect to {url}: token is not a valid header value")]
    BadToken {
        /// The URL dialled.
        url: String,
    },
    /// A websocket connection did not open before its deadline.
    #[error("connecting to {url} took longer than {after:?}")]
    ConnectTimeout {
        /// The URL dialled.
        url: String,
        /// The deadline that passed.
        after: Duration,
    },
    /// The peer is gone; nothing more can be sent.
    #[error("connection closed: {reason}")]
    Closed {
        /// Why, as far as cas knows.
        reason: String,
    },
    /// A child process was started without one of its stdio pipes.
    #[error("{program}: no {pipe} pipe")]
    NoPipe {
        /// The program that was run.
        program: String,
        /// `stdin`, `stdout` or `stderr`.
        pipe: &'static str,
    },
    /// Local I/O failed while setting up a transport.
    #[error("{what}")]
    Io {
        /// What was being done.
        what: String,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },
}

/// A websocket handshake that failed: tungstenite's error, shown with the HTTP status and body
/// when the upgrade was refused.
///
/// tungstenite's messages already include their cause, so this reports no `source()` and
/// [`Chain`] prints the cause once.
#[derive(Debug, thiserror::Error)]
#[error("{}", describe_ws_error(.0))]
pub struct WsError(pub tokio_tungstenite::tungstenite::Error);

fn describe_ws_error(error: &tokio_tungstenite::tungstenite::Error) -> String {
    use tokio_tungstenite::tungstenite::Error;
    match error {
        Error::Http(response) => {
            let body = response.body().as_deref().unwrap_or_default();
            format!(
                "upgrade refused with HTTP {}: {}",
                response.status().as_u16(),
                String::from_utf8_lossy(body)
            )
        }
        other => other.to_string(),
    }
}

/// A session-level failure: the wait ended without an answer, or the client misused the lifecycle.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// No answer came before the deadline.
    #[error("no response to {method} within {after:?}")]
    Timeout {
        /// The method that got no answer.
        method: String,
        /// The deadline that passed.
        after: Duration,
    },
    /// The connection closed while waiting.
    #[error("connection closed while waiting for {waiting_for}: {reason}")]
    Closed {
        /// What was being waited for.
        waiting_for: String,
        /// Why the connection closed, as far as cas knows.
        reason: String,
    },
    /// `initialize` was called twice on one session; cas never sends it twice.
    #[error("this session is already initialized (or initializing); cas sends initialize once per session")]
    AlreadyInitialized,
    /// The server answered a lifecycle request with an error.
    #[error("{method} refused ({class}): {error}")]
    Refused {
        /// The method refused.
        method: String,
        /// What kind of refusal it is.
        class: ErrorClass,
        /// The error as sent.
        error: Box<RpcError>,
    },
    /// The server answered with a result cas cannot read.
    #[error("unreadable {method} result: {reason}")]
    BadResult {
        /// The method answered.
        method: String,
        /// What is missing or wrong.
        reason: String,
    },
}

/// The review lane's handshake (`initialize`, then `initialized`) did not complete.
#[derive(Debug, thiserror::Error)]
pub enum HandshakeError {
    /// The server answered `initialize` with an error.
    #[error("refused: {0}")]
    Refused(Box<RpcError>),
    /// No answer came, or `initialized` could not be sent.
    #[error(transparent)]
    Session(#[from] SessionError),
}

/// Finding, probing or starting the real codex failed.
#[derive(Debug, thiserror::Error)]
pub enum LaunchError {
    /// No codex binary was found anywhere cas looks.
    #[error("no codex binary found (looked at: {looked})\n(hint: run scripts/install-codex, or pass --codex-bin / set CAS_CODEX_BIN)")]
    CodexNotFound {
        /// The places tried, in order.
        looked: String,
    },
    /// A codex binary named explicitly does not exist or is not executable.
    #[error("codex binary {path} (from {origin}) does not exist or is not executable")]
    CodexNotExecutable {
        /// The path given.
        path: PathBuf,
        /// Where the path came from (flag, environment, install).
        origin: &'static str,
    },
    /// `codex --version` failed or printed something unexpected.
    #[error("`{path} --version` failed: {}", reason.trim_end().trim_end_matches(':'))]
    Version {
        /// The binary asked.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// `codex --version` could not be run.
    #[error("`{path} --version` failed")]
    VersionRun {
        /// The binary asked.
        path: PathBuf,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },
    /// The websocket server did not print its listen address in time.
    #[error("codex app-server printed no `listening on: ws://…` line within {after:?}; stderr tail:\n{stderr_tail}")]
    NoBanner {
        /// The deadline that passed.
        after: Duration,
        /// The last lines the server wrote to stderr.
        stderr_tail: String,
    },
    /// A file or directory for the server could not be prepared.
    #[error("could not prepare {what}")]
    Prepare {
        /// What was being prepared.
        what: String,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },
    /// A hermetic home's `config.toml` could not be read back to merge a scenario's keys.
    #[error("could not read {path} to merge the scenario's config keys")]
    Config {
        /// The config file.
        path: PathBuf,
        /// What the TOML parser said.
        #[source]
        source: Box<toml::de::Error>,
    },
    /// `codex app-server --help` did not answer within its deadline.
    #[error("`codex app-server --help` did not answer")]
    HelpTimeout,
    /// `codex app-server --help` could not be run.
    #[error("`codex app-server --help`")]
    Help {
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },
    /// A lane needs an `app-server` launch flag this codex does not list in its `--help`.
    #[error("this codex's app-server does not accept {flag} (incompatible_codex: {needed_for})")]
    MissingLaunchFlag {
        /// The flag, e.g. `--ws-token-file`.
        flag: &'static str,
        /// What needed it, e.g. `a websocket server with a capability token`.
        needed_for: &'static str,
    },
    /// The codex's app-server lists no `--disable` flag, so hooks cannot be turned off.
    #[error("its app-server has no --disable flag")]
    NoDisableFlag,
    /// `codex features list` names no hooks feature, so hooks cannot be turned off.
    #[error("`codex features list` knows neither `hooks` nor `codex_hooks`")]
    NoHooksFeature,
    /// A scenario wants hooks off on a codex that knows no hooks feature.
    #[error("could not prepare hooks off (hooks_unsupported: this codex knows no hooks feature)")]
    HooksOffUnsupported,
    /// Installing or trusting hooks in a home failed.
    #[error("could not prepare {what}")]
    Hooks {
        /// What was being prepared.
        what: String,
        /// What the hooks setup said.
        #[source]
        source: HooksSetupError,
    },
    /// The template home's codex did not complete the handshake.
    #[error("could not prepare the template CODEX_HOME (stderr: {stderr})")]
    Template {
        /// The last lines the template's server wrote to stderr.
        stderr: String,
        /// Why the handshake failed.
        #[source]
        source: SessionError,
    },
    /// An instance's server did not complete the handshake.
    ///
    /// The one variant whose message carries its cause: the server's stderr tail follows the
    /// cause, which a cause chain cannot put after it, so the cause is not also a `#[source]`.
    #[error("initialize: {error}{}", stderr_note(.stderr))]
    Initialize {
        /// The last lines the server wrote to stderr (may be empty).
        stderr: String,
        /// Why the handshake failed.
        error: SessionError,
    },
    /// A managed server exited before its pid was known.
    #[error("the server exited at once")]
    ExitedAtOnce,
    /// A managed server exited before printing its banner.
    #[error("codex app-server exited ({status}) before listening; stderr tail:\n{stderr_tail}")]
    ExitedEarly {
        /// How it ended.
        status: std::process::ExitStatus,
        /// The last lines it wrote to stderr.
        stderr_tail: String,
    },
    /// The local target runs no server.
    #[error("could not prepare a server on the local target (it has none)")]
    NoServer,
    /// Starting the process or connecting to it failed.
    #[error(transparent)]
    Transport(#[from] TransportError),
}

/// `; stderr: TAIL` when the tail has text, else nothing.
fn stderr_note(stderr: &str) -> String {
    match stderr.trim() {
        "" => String::new(),
        tail => format!("; stderr: {tail}"),
    }
}

/// A review session that cas could not find, read or keep (as opposed to a review that failed).
#[derive(Debug, thiserror::Error)]
pub enum ReviewError {
    /// A review thread id that is not a plain id.
    #[error("{0:?} is not a review thread id (letters, digits, '-' and '_' only)")]
    BadId(String),
    /// No record of that review anywhere cas looks.
    #[error("no review record for {id} (looked at: {looked})\n(hint: pass --codex-home when the review ran with another CODEX_HOME)")]
    NotFound {
        /// The id asked for.
        id: String,
        /// The places tried.
        looked: String,
    },
    /// A record that is not a review record.
    #[error("review record {path} is unreadable")]
    BadRecord {
        /// The file.
        path: PathBuf,
        /// What the JSON parser said.
        #[source]
        source: serde_json::Error,
    },
    /// A lane spec that is not one (`{path}`: the parser's words, as the host logs it).
    #[error("{path}")]
    BadSpec {
        /// The file.
        path: PathBuf,
        /// What the JSON parser said.
        #[source]
        source: serde_json::Error,
    },
    /// Local I/O for the lane failed.
    #[error("{what}")]
    Io {
        /// What was being done, usually the path.
        what: String,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },
    /// A record or lane spec could not be encoded as JSON.
    #[error("encoding {what}")]
    Encode {
        /// What was being encoded.
        what: &'static str,
        /// What serde said.
        #[source]
        source: serde_json::Error,
    },
    /// A record without a reviewThreadId has no file to be saved in.
    #[error("a record without a reviewThreadId")]
    NoThreadId,
    /// Interrupting the review failed for a reason cas states.
    #[error("interrupting the review: {reason}")]
    Interrupt {
        /// What went wrong.
        reason: String,
    },
    /// Interrupting the review failed on an error.
    #[error("interrupting the review")]
    InterruptFailed {
        /// What failed.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

/// `--custom-instructions` that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum InstructionsError {
    /// The instructions could not be read (from stdin, `-`, or a file, `@path`).
    #[error("--custom-instructions {from}")]
    Read {
        /// Where they were read from: `-: reading stdin` or `@path`.
        from: String,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },
    /// The instructions are empty or blank.
    #[error("--custom-instructions is empty")]
    Empty,
}

/// Installing and trusting hooks through a throwaway server failed.
#[derive(Debug, thiserror::Error)]
pub enum HooksSetupError {
    /// hooks.json could not be written into the home.
    #[error("writing hooks.json")]
    Install {
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },
    /// The throwaway server could not be started.
    #[error(transparent)]
    Spawn(#[from] Box<LaunchError>),
    /// The session with the throwaway server failed.
    #[error(transparent)]
    Session(#[from] SessionError),
    /// The server refused a request of the setup.
    #[error("{method} refused: {error}")]
    Refused {
        /// The method refused.
        method: &'static str,
        /// The error as sent.
        error: Box<RpcError>,
    },
    /// `hooks/list` reports errors in hooks.json.
    #[error("hooks/list reports errors: {0}")]
    Listed(serde_json::Value),
    /// The server lists no hooks at all.
    #[error("the server lists no hooks (is hooks.json well formed, and the hooks feature on?)")]
    NoHooks,
}

impl ReviewError {
    /// Local I/O on `what` (a path or an action) failed.
    pub fn io(what: impl std::fmt::Display, source: std::io::Error) -> ReviewError {
        ReviewError::Io {
            what: what.to_string(),
            source,
        }
    }
}

/// Why a check failed or an error as the text a user sees: a message and nothing else.
#[derive(Debug, PartialEq)]
pub(crate) struct Why(pub(crate) String);

#[cfg(test)]
impl Why {
    /// The error with its causes, as [`Chain`] prints it.
    pub(crate) fn of(error: &dyn std::error::Error) -> Why {
        Why(Chain(error).to_string())
    }
}

impl std::fmt::Display for Why {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::ops::Deref for Why {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}
