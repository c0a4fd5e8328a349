//! Every error type of the cas library, in one place.
//!
//! Messages are lower case with the offending value embedded; causes live in `#[source]` and are
//! not repeated in the message; hints stand on their own line as "(hint: …)". A protocol
//! violation by a server is never one of these: it is data in a verdict or a command's output.

use std::path::PathBuf;
use std::time::Duration;

use crate::jsonrpc::RpcError;
use crate::protocol::ErrorClass;

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
    /// The codex cannot honour the hook policy asked for.
    #[error("hooks_unsupported: {0}")]
    HooksUnsupported(String),
    /// The mock model server could not start.
    #[error("mock model server: {0}")]
    MockModel(String),
    /// Starting the process or connecting to it failed.
    #[error(transparent)]
    Transport(#[from] TransportError),
}

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

/// A protocol surface that could not be made or read.
#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    /// `codex app-server generate-json-schema` could not be run.
    #[error("generate-json-schema failed: {0}")]
    Spawn(#[source] std::io::Error),
    /// `codex app-server generate-json-schema` gave no result before its deadline.
    #[error("generate-json-schema failed: no result within 60s")]
    Timeout,
    /// `codex app-server generate-json-schema` exited unsuccessfully.
    #[error("generate-json-schema failed: {status}: {stderr}")]
    Failed {
        /// How it exited.
        status: std::process::ExitStatus,
        /// What it wrote to stderr, trimmed.
        stderr: String,
    },
    /// A file or folder could not be read or made.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },
    /// A scratch folder under `parent` could not be made.
    #[error("a folder under {}: {source}", parent.display())]
    TempDir {
        /// The folder it was to be made in.
        parent: PathBuf,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },
    /// The throwaway CODEX_HOME could not be made.
    #[error("{0}")]
    Home(#[source] std::io::Error),
    /// A schema file is not JSON.
    #[error("unexpected schema: {}: {source}", path.display())]
    Shape {
        /// The file.
        path: PathBuf,
        /// What the JSON parser said.
        #[source]
        source: serde_json::Error,
    },
    /// The codex's version could not be asked.
    #[error(transparent)]
    Version(#[from] LaunchError),
    /// A `schema diff` side that cannot be read.
    #[error("{arg}: {source}")]
    Read {
        /// The side as given.
        arg: String,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },
    /// A `schema diff` side that looks like JSON but is no surface.
    #[error("{arg} is not a surface file: {source}")]
    NotSurface {
        /// The side as given.
        arg: String,
        /// What the JSON parser said.
        #[source]
        source: serde_json::Error,
    },
    /// A saved surface of another surface version.
    #[error("{arg} has surface version {found}, this cas reads {expected} (regenerate it with `cas schema surface --json`)")]
    SurfaceVersion {
        /// The side as given.
        arg: String,
        /// Its surface version.
        found: u32,
        /// The one this cas reads.
        expected: u32,
    },
    /// A `schema diff` side that is a folder or something else.
    #[error("{0} is neither a surface file nor a codex binary")]
    NeitherFileNorBinary(String),
    /// The surface of a `schema diff` side's binary could not be had.
    #[error("{arg}: {source}")]
    Binary {
        /// The side as given.
        arg: String,
        /// Why.
        #[source]
        source: Box<SchemaError>,
    },
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

/// A flag value that should be a JSON object and is not.
#[derive(Debug, thiserror::Error)]
pub enum JsonObjectError {
    /// The text is not JSON (the parser's words are part of the message users see).
    #[error("not JSON: {0}")]
    NotJson(#[source] serde_json::Error),
    /// The text is JSON, but not an object.
    #[error("expected a JSON object, got {0}")]
    NotObject(serde_json::Value),
}

/// A flag that names something cas cannot use; the command stops with exit 2.
#[derive(Debug, thiserror::Error)]
pub enum UsageError {
    /// A `--flag PATH` whose file or folder cannot be read (the OS's words are shown too).
    #[error("{flag} {}: {source}", path.display())]
    FlagPath {
        /// The flag, e.g. `--cwd`.
        flag: &'static str,
        /// The path it named.
        path: PathBuf,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },
    /// A `--flag PATH` whose file is not a JSON object.
    #[error("{flag} {}: {source}", path.display())]
    FlagJson {
        /// The flag, e.g. `--params-file`.
        flag: &'static str,
        /// The path it named.
        path: PathBuf,
        /// Why the text is not a JSON object.
        #[source]
        source: JsonObjectError,
    },
    /// The current directory cannot be read.
    #[error("current directory: {0}")]
    CurrentDir(#[source] std::io::Error),
    /// `--url` is not a websocket URL.
    #[error("--url {0:?} is not a ws:// URL")]
    NotWebsocketUrl(String),
    /// `--state-dir` together with `--url`.
    #[error("--state-dir needs a server cas starts; it does not apply with --url")]
    StateDirWithUrl,
    /// `--token-file` holds nothing but whitespace.
    #[error("--token-file is empty")]
    EmptyTokenFile,
    /// A flag value breaks a rule of the policy.
    #[error(transparent)]
    Policy(#[from] PolicyError),
}

/// A server-request policy whose JSON carriers or flags do not fit together.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    /// `--request-user-input-response-json` is not an answers map.
    #[error("--request-user-input-response-json must be {{\"answers\": {{\"<questionId>\": {{\"answers\": [\"…\"]}}}}}}, got {0}")]
    UserInputShape(serde_json::Value),
    /// `--dynamic-tool-response-json` is not a tool-call response.
    #[error("--dynamic-tool-response-json must be {{\"contentItems\": [{{\"type\": \"inputText\", \"text\": \"…\"}}], \"success\": true|false}}, got {0}")]
    ToolResponseShape(serde_json::Value),
    /// `--elicitation-content-json` is not an object.
    #[error("--elicitation-content-json must be a JSON object, got {0}")]
    ElicitationContentShape(serde_json::Value),
    /// Accepting elicitations without saying what content to send.
    #[error(
        "--elicitation-action accept needs --elicitation-content-json (cas never makes up consent)"
    )]
    AcceptWithoutContent,
}

/// Why a runtime could not be prepared; the command stops with exit 2.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    /// A flag names something cas cannot use.
    #[error(transparent)]
    Usage(#[from] UsageError),
    /// codex could not be resolved, asked its version, or started.
    #[error(transparent)]
    Launch(#[from] LaunchError),
    /// A folder cas needs could not be made.
    #[error("{}: {source}", path.display())]
    Io {
        /// The folder.
        path: PathBuf,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },
    /// The protocol surface of the codex could not be had.
    #[error("the protocol surface of {}: {source}", bin.display())]
    Surface {
        /// The codex binary.
        bin: PathBuf,
        /// Why generating it failed.
        #[source]
        source: SchemaError,
    },
}

/// Why hooks cannot be switched off on servers of this codex.
#[derive(Debug, thiserror::Error)]
pub enum HooksDisableError {
    /// `codex app-server --help` did not answer within its deadline.
    #[error("`codex app-server --help` did not answer")]
    HelpTimeout,
    /// `codex app-server --help` could not be run.
    #[error("`codex app-server --help`: {0}")]
    Help(#[source] std::io::Error),
    /// The app-server takes no `--disable` flag.
    #[error("its app-server has no --disable flag")]
    NoDisableFlag,
    /// `codex features list` has no hooks feature under either name.
    #[error("`codex features list` knows neither `hooks` nor `codex_hooks`")]
    NoHooksFeature,
}

/// Why `cas review_session start` could not plan a lane; the command stops with exit 2.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The codex could not be resolved, probed or checked, or a flag names something unusable.
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
    /// `--parent-thread-id` is not a plain thread id.
    #[error("--parent-thread-id: {0}")]
    ParentId(#[source] ReviewError),
    /// The review target cannot be read (e.g. `--custom-instructions @FILE`).
    #[error("{0}")]
    Target(String),
    /// The lane's folder could not be made.
    #[error(transparent)]
    Review(#[from] ReviewError),
}

/// Why `cas bench` could not measure; the command stops with exit 2.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// The scratch folder could not be made.
    #[error("{}: {source}", path.display())]
    Scratch {
        /// The folder.
        path: PathBuf,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },
    /// The fake's scenario file could not be written.
    #[error("{0}")]
    WriteScenario(#[source] std::io::Error),
    /// The `cas instance_runner` child did not end before its deadline.
    #[error("cas instance_runner took longer than {0:?}")]
    RunTimeout(Duration),
    /// The `cas instance_runner` child could not be run.
    #[error("running cas: {0}")]
    RunCas(#[source] std::io::Error),
    /// The child's output is not JSON.
    #[error("cas output: {0}")]
    CasOutput(#[source] serde_json::Error),
    /// The child reported a failure.
    #[error("cas instance_runner failed: {0}")]
    CasFailed(serde_json::Value),
    /// A measuring task panicked or was cancelled.
    #[error("{0}")]
    Join(#[source] tokio::task::JoinError),
    /// The baseline client failed (`fanout` or the server's name).
    #[error("baseline {what}: {source}")]
    Baseline {
        /// Which baseline measurement.
        what: &'static str,
        /// What went wrong.
        #[source]
        source: std::io::Error,
    },
    /// A hermetic home or codex launcher could not be prepared.
    #[error(transparent)]
    Launch(#[from] LaunchError),
    /// An instance did not start.
    #[error("{0}")]
    Start(String),
    /// The fake server could not be spawned.
    #[error(transparent)]
    Transport(#[from] TransportError),
    /// The fake server's handshake failed.
    #[error(transparent)]
    Session(#[from] SessionError),
    /// Some of cas's requests failed.
    #[error("cas on {server}: {failures} requests failed")]
    Failures {
        /// `codex` or `fake`.
        server: &'static str,
        /// How many failed.
        failures: u64,
    },
}
