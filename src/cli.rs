//! The command line: clap definitions and dispatch, nothing else.
//!
//! Subcommands are snake_case with kebab-case aliases. Exit codes: 0 all good, 1 a check or
//! verdict failed, 2 cas could not run (usage, missing codex, spawn failure).

use clap::{Parser, Subcommand};
use serde_json::Value;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use crate::hooks::HookPolicy;
use crate::launch::Transport;
use crate::policy::{ApprovalChoice, ElicitationAction, PermissionsChoice, PolicyConfig};
use crate::retry::BackoffSchedule;

use crate::commands;

/// Codex App-Server Control: drive, check and conformance-test codex app-servers.
#[derive(Debug, Parser)]
#[command(name = "cas", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run one scenario on one target and print its verdict.
    Conformance(ConformanceArgs),
    /// Prove a runtime is reachable: handshake, features, threads, turns, steer, interrupt.
    #[command(name = "smoke_check", alias = "smoke-check")]
    SmokeCheck(SmokeCheckArgs),
    /// Run one method on one instance (instance_runner with one instance and one sample).
    Request(RequestArgs),
    /// Run one method on N parallel, isolated instances and report each.
    #[command(name = "instance_runner", alias = "instance-runner")]
    InstanceRunner(InstanceRunnerArgs),
    /// The protocol surface of a codex, and what differs between two.
    Schema(SchemaArgs),
    /// What cas and the resolved codex can do together: versions, verdicts, runnable scenarios.
    Capabilities(CapabilitiesArgs),
    /// Code reviews on a detached, persisted websocket lane: start, status, wait, interrupt.
    #[command(name = "review_session", alias = "review-session")]
    ReviewSession(commands::review_session::ReviewSessionArgs),
    /// Measure cas against a no-framework client on the same servers (the README's figures).
    Bench(BenchArgs),
    /// Serve the fake app-server scripted by a scenario file (used by the fake-stdio target).
    #[command(name = "fake_server", hide = true, alias = "fake-server")]
    FakeServer(FakeServerArgs),
    /// An st-compatible claim ledger command line (`cas st claim --file F …`).
    #[command(name = "st", hide = true)]
    St(commands::st::StArgs),
}

/// Flags of `cas conformance`.
#[derive(Debug, clap::Args)]
pub struct ConformanceArgs {
    /// A scenario name (snake or kebab case) or a scenario file; repeatable. Default: every
    /// scenario that is not a negative twin and has a way to run on the target.
    #[arg(long = "scenario")]
    pub scenarios: Vec<String>,
    /// fake-stdio, fake-ws, codex-stdio or codex-ws (codex targets are always hermetic).
    #[arg(long, default_value = "codex-ws")]
    pub target: String,
    /// The workspace the smoke preflight starts its thread in (default: the current folder).
    #[arg(long)]
    pub cwd: Option<PathBuf>,
    /// Print exactly one JSON document (the suite report) on stdout.
    #[arg(long)]
    pub json: bool,
    /// Also write the report as JUnit XML to this file.
    #[arg(long)]
    pub junit: Option<PathBuf>,
    /// The folder of scenario files (default: the scenarios shipped inside cas).
    #[arg(long)]
    pub scenarios_dir: Option<PathBuf>,
    /// Do not run the smoke preflight.
    #[arg(long)]
    pub skip_smoke_check: bool,
    /// Keep every scenario's workspace, passing ones too (failing ones are always kept).
    #[arg(long)]
    pub keep_temp: bool,
    /// Drive this `st` binary for the claim-ledger steps instead of cas's own ledger.
    #[arg(long)]
    pub st_binary: Option<PathBuf>,
    /// The codex binary (default: CAS_CODEX_BIN, the project install, then PATH).
    #[arg(long)]
    pub codex_bin: Option<PathBuf>,
    /// Override the scenarios' hook policy (also passed to the smoke preflight).
    #[arg(long, value_enum)]
    pub hooks: Option<HookPolicy>,
}

/// Flags of `cas fake_server`.
#[derive(Debug, clap::Args)]
pub struct FakeServerArgs {
    /// The scenario file whose `[fake]` table scripts the server.
    #[arg(long)]
    pub scenario: PathBuf,
    /// The scenarios folder, where a twin's original is found (default: the file's folder).
    #[arg(long)]
    pub scenarios_dir: Option<PathBuf>,
    /// `stdio://` (default) or `ws://127.0.0.1:0`.
    #[arg(long, default_value = "stdio://")]
    pub listen: String,
    /// For websocket: require this file's (trimmed) content as the bearer token.
    #[arg(long)]
    pub ws_token_file: Option<PathBuf>,
}

/// Where the app-server comes from, and how to talk to it (shared by the control lanes).
#[derive(Debug, Clone, clap::Args)]
pub struct RuntimeArgs {
    /// The working directory for servers and threads (default: the current directory).
    #[arg(long)]
    pub cwd: Option<PathBuf>,
    /// The codex binary (default: CAS_CODEX_BIN, the project install, then PATH).
    #[arg(long)]
    pub codex_bin: Option<PathBuf>,
    /// Talk to this running websocket server instead of starting codex (cas controls nothing there).
    #[arg(long)]
    pub url: Option<String>,
    /// With --url: a file holding the bearer token.
    #[arg(long, requires = "url")]
    pub token_file: Option<PathBuf>,
    /// How cas talks to the codex it starts.
    #[arg(long, value_enum, default_value = "stdio")]
    pub transport: Transport,
    /// Give each server a fresh CODEX_HOME whose model is cas's mock on 127.0.0.1 (no network, no tokens).
    #[arg(long, conflicts_with = "url")]
    pub hermetic: bool,
    /// The deadline of each request, in milliseconds.
    #[arg(long, default_value_t = 30_000)]
    pub request_timeout_ms: u64,
    /// A notification method the server should not send (repeatable).
    #[arg(long = "opt-out-notification-method")]
    pub opt_out_notification_methods: Vec<String>,
    /// Send `capabilities.experimentalApi = true`.
    #[arg(long)]
    pub experimental_api: bool,
    /// What cas lets codex's hooks do: run as configured (observed), off on servers cas starts,
    /// or required (a lane that sees no hook run fails with hook_not_observed).
    #[arg(long, value_enum, default_value = "inherit")]
    pub hooks: HookPolicy,
    /// With --hermetic: a hooks.json to install and trust in every home cas creates
    /// (`${HOOKS_DIR}` in it stands for the file's own folder).
    #[arg(long, requires = "hermetic")]
    pub hooks_config: Option<PathBuf>,
    /// Print exactly one JSON document on stdout.
    #[arg(long)]
    pub json: bool,
}

/// How cas answers server requests.
#[derive(Debug, Clone, clap::Args)]
pub struct PolicyArgs {
    /// Command approvals.
    #[arg(long, value_enum, default_value = "decline")]
    pub exec_approval: ApprovalChoice,
    /// File-change approvals.
    #[arg(long, value_enum, default_value = "decline")]
    pub file_approval: ApprovalChoice,
    /// Decline every approval and deny every permission, whatever else is set.
    #[arg(long)]
    pub read_only: bool,
    /// Permission requests.
    #[arg(long, value_enum, default_value = "deny")]
    pub permissions_approval: PermissionsChoice,
    /// The whole answer to item/tool/requestUserInput (default: the first option per question).
    #[arg(long, value_parser = parse_json_object)]
    pub request_user_input_response_json: Option<Value>,
    /// MCP elicitations.
    #[arg(long, value_enum, default_value = "decline")]
    pub elicitation_action: ElicitationAction,
    /// The content sent when accepting an elicitation.
    #[arg(long, value_parser = parse_json_object)]
    pub elicitation_content_json: Option<Value>,
    /// The whole answer to item/tool/call (default: success=false).
    #[arg(long, value_parser = parse_json_object)]
    pub dynamic_tool_response_json: Option<Value>,
}

impl PolicyArgs {
    /// The policy these flags describe.
    pub fn config(&self) -> PolicyConfig {
        PolicyConfig {
            exec_approval: self.exec_approval,
            file_approval: self.file_approval,
            read_only: self.read_only,
            permissions_approval: self.permissions_approval,
            request_user_input_response: self.request_user_input_response_json.clone(),
            elicitation_action: self.elicitation_action,
            elicitation_content: self.elicitation_content_json.clone(),
            dynamic_tool_response: self.dynamic_tool_response_json.clone(),
        }
    }
}

/// Overload (-32001) retry.
#[derive(Debug, Clone, clap::Args)]
pub struct RetryArgs {
    /// Retries after the first attempt.
    #[arg(long, default_value_t = 5)]
    pub max_retries: u32,
    /// The first backoff ceiling, in ms (doubles per retry; full jitter).
    #[arg(long, default_value_t = 50)]
    pub backoff_base_ms: u64,
    /// The cap on any one backoff, in ms.
    #[arg(long, default_value_t = 2_000)]
    pub backoff_max_ms: u64,
    /// No retry starts after this many ms.
    #[arg(long, default_value_t = 30_000)]
    pub retry_deadline_ms: u64,
    /// Seed the jitter for reproducible delays.
    #[arg(long)]
    pub retry_seed: Option<u64>,
}

impl RetryArgs {
    /// The schedule these flags describe.
    pub fn schedule(&self) -> BackoffSchedule {
        BackoffSchedule {
            max_retries: self.max_retries,
            base: Duration::from_millis(self.backoff_base_ms),
            max: Duration::from_millis(self.backoff_max_ms),
            total_deadline: Duration::from_millis(self.retry_deadline_ms),
        }
    }
}

/// Flags of `cas smoke_check`.
#[derive(Debug, Clone, clap::Args)]
pub struct SmokeCheckArgs {
    /// Where the server comes from.
    #[command(flatten)]
    pub runtime: RuntimeArgs,
    /// Resume and use this existing thread instead of starting one.
    #[arg(long)]
    pub thread_id: Option<String>,
}

/// Flags of `cas request`.
#[derive(Debug, Clone, clap::Args)]
pub struct RequestArgs {
    /// Where the server comes from.
    #[command(flatten)]
    pub runtime: RuntimeArgs,
    /// Answers to server requests.
    #[command(flatten)]
    pub policy: PolicyArgs,
    /// Overload retry.
    #[command(flatten)]
    pub retry: RetryArgs,
    /// The method to call.
    #[arg(long, default_value = "thread/list")]
    pub method: String,
    /// The params as a JSON object (default: `{"cursor":null,"limit":1}` for thread/list, else `{}`).
    #[arg(long, value_parser = parse_json_object, conflicts_with = "params_file")]
    pub params_json: Option<Value>,
    /// A file holding the params as a JSON object.
    #[arg(long)]
    pub params_file: Option<PathBuf>,
    /// Client names are `<prefix>-<i>`.
    #[arg(long, default_value = "cas-instance")]
    pub client_prefix: String,
    /// Per-instance CODEX_HOMEs go to DIR/<client name> and are kept (default: temporary, isolated).
    #[arg(long)]
    pub state_dir: Option<PathBuf>,
    /// Requests in flight per connection at most.
    #[arg(long)]
    pub max_in_flight: Option<usize>,
}

/// Flags of `cas instance_runner`.
#[derive(Debug, Clone, clap::Args)]
pub struct InstanceRunnerArgs {
    /// Everything `cas request` takes.
    #[command(flatten)]
    pub request: RequestArgs,
    /// How many instances, started and run in parallel.
    #[arg(long, default_value_t = 12, value_parser = clap::value_parser!(u32).range(1..=256))]
    pub instances: u32,
    /// Requests per instance.
    #[arg(long, default_value_t = 3)]
    pub sample: u32,
}

/// `cas schema …`.
#[derive(Debug, Clone, clap::Args)]
pub struct SchemaArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: SchemaCommand,
}

/// The schema subcommands.
#[derive(Debug, Clone, Subcommand)]
pub enum SchemaCommand {
    /// Print the normalized protocol surface of a codex.
    Surface {
        /// The codex binary (default: CAS_CODEX_BIN, the project install, then PATH).
        #[arg(long)]
        codex_bin: Option<PathBuf>,
        /// Include experimental methods (flagged as such).
        #[arg(long)]
        experimental: bool,
        /// Print the surface as JSON (the format `schema diff` reads).
        #[arg(long)]
        json: bool,
    },
    /// Compare two surfaces; each side is a codex binary or a saved surface file.
    Diff {
        /// The old side.
        a: String,
        /// The new side.
        b: String,
        /// Print exactly one JSON document.
        #[arg(long)]
        json: bool,
    },
}

/// Flags of `cas capabilities`.
#[derive(Debug, Clone, clap::Args)]
pub struct CapabilitiesArgs {
    /// The codex binary (default: CAS_CODEX_BIN, the project install, then PATH).
    #[arg(long)]
    pub codex_bin: Option<PathBuf>,
    /// The folder of scenario files (default: ./scenarios, else the one cas was built with).
    #[arg(long)]
    pub scenarios_dir: Option<PathBuf>,
    /// Print exactly one JSON document.
    #[arg(long)]
    pub json: bool,
}

/// Flags of `cas bench`.
#[derive(Debug, Clone, clap::Args)]
pub struct BenchArgs {
    /// The codex binary (default: CAS_CODEX_BIN, the project install, then PATH).
    #[arg(long)]
    pub codex_bin: Option<PathBuf>,
    /// Instance counts for the fanout comparison.
    #[arg(long, value_delimiter = ',', default_value = "1,4,12")]
    pub instances: Vec<usize>,
    /// Runs per figure; the median is reported.
    #[arg(long, default_value_t = 5)]
    pub runs: usize,
    /// Requests per one-connection run.
    #[arg(long, default_value_t = 2000)]
    pub requests: u64,
    /// Requests in flight in the windowed one-connection mode.
    #[arg(long, default_value_t = 16)]
    pub window: u64,
    /// Print exactly one JSON document on stdout.
    #[arg(long)]
    pub json: bool,
}

/// Parses a flag value as a JSON object.
pub fn parse_json_object(text: &str) -> Result<Value, String> {
    let value: Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
    if value.is_object() {
        Ok(value)
    } else {
        Err(format!("expected a JSON object, got {value}"))
    }
}

/// Parses the arguments and runs the command.
pub fn run() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cas: could not start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    let code = runtime.block_on(async {
        match cli.command {
            Command::Conformance(args) => commands::conformance::run(args).await,
            Command::SmokeCheck(args) => commands::smoke_check::run(args).await,
            Command::Request(args) => commands::request::run(args).await,
            Command::InstanceRunner(args) => commands::instance_runner::run(args).await,
            Command::Bench(args) => commands::bench::run(args).await,
            Command::ReviewSession(args) => commands::review_session::run(args).await,
            Command::Schema(args) => commands::schema::run(args).await,
            Command::Capabilities(args) => commands::capabilities::run(args).await,
            Command::FakeServer(args) => commands::fake_server::run(args).await,
            Command::St(args) => commands::st::run(args),
        }
    });
    // Server processes and sockets are owned by what the command dropped; do not wait on
    // blocking stdin readers left by the fake server.
    runtime.shutdown_timeout(std::time::Duration::from_millis(100));
    code
}
