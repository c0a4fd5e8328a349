//! Every error type of the cas library, in one place.
//!
//! Messages are lower case with the offending value embedded; causes live in `#[source]` and are
//! not repeated in the message; hints stand on their own line as "(hint: …)". A protocol
//! violation by a server is never one of these: it is data in a verdict or a command's output.

use std::path::PathBuf;
use std::time::Duration;

use crate::jsonrpc::RpcError;
use crate::protocol::ErrorClass;

mod setup;
pub use setup::*;

/// A line or frame that is not a JSON-RPC message.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    /// The text is not JSON.
    #[error("malformed JSON: {snippet}")]
    Json {
        /// The start of the offending text.
        snippet: String,
        /// What the JSON parser said.
        #[source]
        source: serde_json::Error,
    },
    /// The text is JSON but none of the four message shapes.
    #[error("not a JSON-RPC message ({reason}): {snippet}")]
    Shape {
        /// The start of the offending text.
        snippet: String,
        /// Why it is none of the four shapes.
        reason: &'static str,
    },
    /// A line that is not UTF-8 text.
    #[error("a line of {len} bytes that is not UTF-8")]
    NotUtf8 {
        /// Its length.
        len: usize,
    },
    /// A websocket binary frame, which the protocol does not use.
    #[error("binary websocket frame of {len} bytes")]
    BinaryFrame {
        /// Its length.
        len: usize,
    },
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
    #[error("could not connect to {url}: {reason}")]
    Connect {
        /// The URL dialled.
        url: String,
        /// What went wrong (HTTP status and body when the upgrade was refused).
        reason: String,
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
    #[error("`{path} --version` failed: {reason}")]
    Version {
        /// The binary asked.
        path: PathBuf,
        /// What went wrong.
        reason: String,
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
    /// `codex app-server --help` did not answer within its deadline.
    #[error("`codex app-server --help` did not answer")]
    HelpTimeout,
    /// `codex app-server --help` could not be run.
    #[error("`codex app-server --help`: {source}")]
    Help {
        /// What the OS said.
        #[source]
        source: std::io::Error,
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
    #[error("initialize: {source}{}", stderr_note(.stderr))]
    Initialize {
        /// The last lines the server wrote to stderr (may be empty).
        stderr: String,
        /// Why the handshake failed.
        #[source]
        source: SessionError,
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

/// What a hooks setup step reported (its message; the hooks module reports text).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct HooksSetupError(pub String);

/// A scenario file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    /// The file could not be read.
    #[error("could not read scenario {path}")]
    Read {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },
    /// The file is not valid scenario TOML.
    #[error("scenario {path} does not parse: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// What the TOML parser said, with line and column.
        message: String,
    },
    /// The file parses but breaks a rule of the format.
    #[error("scenario {path} is invalid: {reason}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// The rule broken.
        reason: String,
    },
    /// No scenario of that name exists.
    #[error("no scenario named {name:?} in {dir}\n(hint: known scenarios: {known})")]
    Unknown {
        /// The name asked for.
        name: String,
        /// The folder searched.
        dir: PathBuf,
        /// The names that do exist.
        known: String,
    },
}

/// A conformance run that cas could not carry out (as opposed to one that failed).
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The scenario is unusable.
    #[error(transparent)]
    Scenario(#[from] ScenarioError),
    /// The target could not be started.
    #[error(transparent)]
    Launch(#[from] LaunchError),
    /// The scenario does not list the target.
    #[error("scenario {scenario} does not run on target {target} (its targets: {targets})")]
    TargetNotListed {
        /// The scenario.
        scenario: String,
        /// The target asked for.
        target: String,
        /// The targets the scenario lists.
        targets: String,
    },
    /// A target name that cas does not know.
    #[error(
        "unknown target {0:?} (expected fake-stdio, fake-ws, codex-stdio, codex-ws or a ws:// URL)"
    )]
    UnknownTarget(String),
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
    #[error("review record {path} is unreadable: {reason}")]
    BadRecord {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// Local I/O for the lane failed.
    #[error("{0}")]
    Io(String),
}
