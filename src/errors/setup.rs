//! The errors of setting a command up: flags, policy, runtime preparation, protocol surfaces,
//! the benchmark and review planning. Re-exported by [`crate::errors`]; the same rules apply.

use std::path::PathBuf;
use std::time::Duration;

use super::{LaunchError, ReviewError, SessionError, TransportError};

/// A protocol surface that could not be made or read.
#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    /// `codex app-server generate-json-schema` could not be run.
    #[error("generate-json-schema failed")]
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
    #[error("{}", path.display())]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },
    /// A scratch folder under `parent` could not be made.
    #[error("a folder under {}", parent.display())]
    TempDir {
        /// The folder it was to be made in.
        parent: PathBuf,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },
    /// The throwaway CODEX_HOME could not be made.
    #[error(transparent)]
    Home(std::io::Error),
    /// A schema file is not JSON.
    #[error("unexpected schema: {}", path.display())]
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
    #[error("{arg}")]
    Read {
        /// The side as given.
        arg: String,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },
    /// A `schema diff` side that looks like JSON but is no surface.
    #[error("{arg} is not a surface file")]
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
    #[error("{arg}")]
    Binary {
        /// The side as given.
        arg: String,
        /// Why.
        #[source]
        source: Box<SchemaError>,
    },
}

/// A flag value that should be a JSON object and is not.
#[derive(Debug, thiserror::Error)]
pub enum JsonObjectError {
    /// The text is not JSON.
    #[error("not JSON")]
    NotJson(#[source] serde_json::Error),
    /// The text is JSON, but not an object.
    #[error("expected a JSON object, got {0}")]
    NotObject(serde_json::Value),
}

/// A flag that names something cas cannot use; the command stops with exit 2.
#[derive(Debug, thiserror::Error)]
pub enum UsageError {
    /// A `--flag PATH` whose file or folder cannot be read.
    #[error("{flag} {}", path.display())]
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
    #[error("{flag} {}", path.display())]
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
    #[error("current directory")]
    CurrentDir(#[source] std::io::Error),
    /// `--url` is not a websocket URL.
    #[error("--url {0:?} is not a ws:// URL")]
    NotWebsocketUrl(String),
    /// `--state-dir` together with `--url`.
    #[error("--state-dir needs a server cas starts; it does not apply with --url")]
    StateDirWithUrl,
    /// `--connect-timeout-ms` where nothing connects over a websocket.
    #[error("--connect-timeout-ms applies to --url or --transport ws; with --transport stdio nothing connects")]
    ConnectTimeoutUnused,
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
    #[error("{}", path.display())]
    Io {
        /// The folder.
        path: PathBuf,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },
    /// The protocol surface of the codex could not be had.
    #[error("the protocol surface of {}", bin.display())]
    Surface {
        /// The codex binary.
        bin: PathBuf,
        /// Why generating it failed.
        #[source]
        source: SchemaError,
    },
}

/// Why `cas review_session start` could not plan a lane; the command stops with exit 2.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The codex could not be resolved, probed or checked, or a flag names something unusable.
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
    /// `--parent-thread-id` is not a plain thread id.
    #[error("--parent-thread-id")]
    ParentId(#[source] ReviewError),
    /// The review target cannot be read (e.g. `--custom-instructions @FILE`).
    #[error(transparent)]
    Target(super::InstructionsError),
    /// The lane's folder could not be made.
    #[error(transparent)]
    Review(#[from] ReviewError),
    /// The review target could not be checked: git is missing, failed to run or hung.
    #[error("checking the review target")]
    Git(#[from] GitError),
}

/// A git call that could not be made or did not end in time (as opposed to git's answer).
#[derive(Debug, thiserror::Error)]
pub enum GitError {
    /// No such git program (ENOENT when spawning it): cas checks the review target with git.
    #[error("{} not found (on PATH or at that path)\n(hint: install git; cas checks the review target with it)", program.display())]
    NotFound {
        /// The program cas tried to run.
        program: PathBuf,
    },
    /// git could not be run.
    #[error("running git {args}")]
    Run {
        /// The git arguments.
        args: String,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },
    /// git gave no answer before its deadline (it was killed).
    #[error("git {args} gave no answer within {deadline:?} in {}", cwd.display())]
    Timeout {
        /// The git arguments.
        args: String,
        /// Where git ran.
        cwd: PathBuf,
        /// The deadline.
        deadline: Duration,
    },
}

/// Why `cas bench` could not measure; the command stops with exit 2.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// The scratch folder could not be made.
    #[error("{}", path.display())]
    Scratch {
        /// The folder.
        path: PathBuf,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },
    /// The fake's scenario file could not be written.
    #[error(transparent)]
    WriteScenario(std::io::Error),
    /// The `cas instance_runner` child did not end before its deadline.
    #[error("cas instance_runner took longer than {0:?}")]
    RunTimeout(Duration),
    /// The `cas instance_runner` child could not be run.
    #[error("running cas")]
    RunCas(#[source] std::io::Error),
    /// The child's output is not JSON.
    #[error("cas output")]
    CasOutput(#[source] serde_json::Error),
    /// The child reported a failure.
    #[error("cas instance_runner failed: {0}")]
    CasFailed(serde_json::Value),
    /// A measuring task panicked or was cancelled.
    #[error(transparent)]
    Join(tokio::task::JoinError),
    /// The baseline client failed (`fanout` or the server's name).
    #[error("baseline {what}")]
    Baseline {
        /// Which baseline measurement.
        what: &'static str,
        /// What went wrong.
        #[source]
        source: BaselineError,
    },
    /// A hermetic home or codex launcher could not be prepared.
    #[error(transparent)]
    Launch(#[from] LaunchError),
    /// The running cas executable (measured against the baseline) cannot be found.
    #[error("cannot find the cas executable")]
    CasExecutable(#[source] std::io::Error),
    /// A `cas conformance` child of `cas bench suite` could not run the suite (exit 2).
    #[error("cas conformance could not run: {0}")]
    SuiteNotRun(String),
    /// `--requests` is not a multiple of `--window`.
    #[error("--requests ({requests}) must be a multiple of --window ({window})")]
    Window {
        /// The requests asked for.
        requests: u64,
        /// The window asked for.
        window: u64,
    },
    /// The fake server could not be spawned.
    #[error(transparent)]
    Transport(#[from] TransportError),
    /// The fake server's handshake failed.
    #[error(transparent)]
    Session(#[from] SessionError),
    /// Some of cas's requests failed.
    #[error("cas on {server}: {failures} requests failed")]
    Failures {
        /// The server measured.
        server: BenchServer,
        /// How many failed.
        failures: u64,
    },
}

/// Why `cas capabilities` could not say what codex can do; the command stops with exit 2.
#[derive(Debug, thiserror::Error)]
pub enum CapabilitiesError {
    /// codex could not be resolved or asked its version.
    #[error(transparent)]
    Launch(#[from] LaunchError),
    /// The scratch folder could not be made, or the protocol surface could not be had.
    #[error(transparent)]
    Schema(#[from] SchemaError),
    /// `--scenarios-dir` names no folder.
    #[error("--scenarios-dir {}: no such folder", .0.display())]
    NoScenariosDir(PathBuf),
}

/// The server one `cas bench` connection measures against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BenchServer {
    /// A hermetic-home `codex app-server`.
    Codex,
    /// `cas fake_server` with the bench scenario.
    Fake,
}

impl BenchServer {
    /// The server's name in the report, `codex` or `fake`.
    pub fn as_str(self) -> &'static str {
        match self {
            BenchServer::Codex => "codex",
            BenchServer::Fake => "fake",
        }
    }
}

impl std::fmt::Display for BenchServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why the baseline client of `cas bench` failed.
#[derive(Debug, thiserror::Error)]
pub enum BaselineError {
    /// Reading from or writing to the server failed, or it could not be started or waited for.
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// The spawned server had no piped stdin or stdout.
    #[error("no {0}")]
    NoPipe(&'static str),
    /// The server closed its stdout before the awaited response.
    #[error("server closed stdout")]
    ServerClosed,
    /// A fresh home could not be written.
    #[error(transparent)]
    Launch(#[from] LaunchError),
    /// One of the fanout's threads panicked.
    #[error("a baseline thread panicked")]
    ThreadPanicked,
}
