//! The flag groups several commands share: where the server comes from, how cas answers server
//! requests, and overload retry; plus the JSON-object value parser.

use serde_json::Value;
use std::path::PathBuf;
use std::time::Duration;

use crate::errors::Chain;
use crate::hooks::HookPolicy;
use crate::launch::{ConnectionLimits, Transport, DEFAULT_CONNECT_TIMEOUT};
use crate::policy::{ApprovalChoice, ElicitationAction, PermissionsChoice, PolicyConfig};
use crate::retry::BackoffSchedule;
use crate::runtime::{RuntimeConfig, UserHome};
use crate::session::InboxLimits;

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
    #[arg(long, default_value_t = 30_000, value_parser = clap::value_parser!(u64).range(1..))]
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
    /// How long a `--url` connect, or a `--transport ws` server's banner and connect, may
    /// take, in milliseconds (default 20000).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    pub connect_timeout_ms: Option<u64>,
    /// The largest inbound line or websocket message, in bytes; a longer line is skipped while
    /// it streams and counted in `oversizedLines` (default: CAS_MAX_MESSAGE_BYTES, else 64 MiB).
    #[arg(long, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1024..))]
    pub max_message_bytes: Option<usize>,
    /// Notifications a session keeps for later steps, at most; past it the oldest are dropped
    /// and counted in `droppedNotifications` (lanes that await none keep none).
    #[arg(long, default_value_t = crate::session::DEFAULT_MAX_BUFFERED_NOTIFICATIONS,
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    pub max_buffered_notifications: usize,
    /// The memory those notifications may take, in bytes (estimated), at most.
    #[arg(long, default_value_t = crate::session::DEFAULT_MAX_BUFFERED_NOTIFICATION_BYTES,
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1024..))]
    pub max_buffered_notification_bytes: usize,
    /// Print exactly one JSON document on stdout.
    #[arg(long)]
    pub json: bool,
    /// Write every frame sent and received, the server's stderr and (hermetic, one instance)
    /// the mock model's requests to this NDJSON file (`cas transcript show` reads it);
    /// instance_runner writes one file per instance, `PATH` with `-<i>` before the extension.
    #[arg(long, value_name = "PATH")]
    pub event_log: Option<PathBuf>,
    /// Do not check the codex's protocol surface first (the verdict is then `unchecked`).
    #[arg(long)]
    pub skip_compat: bool,
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

/// Parses a flag value as a JSON object with the library's parser, for clap.
///
/// clap shows only an error's own message, so the error handed back holds the causes too.
pub fn parse_json_object(text: &str) -> Result<Value, Box<dyn std::error::Error + Send + Sync>> {
    crate::fanout::lane::parse_json_object(text).map_err(|e| Chain(&e).to_string().into())
}

impl RuntimeArgs {
    /// The runtime config these flags describe, for a lane of `instances` instances.
    pub fn config(
        &self,
        state_dir: Option<PathBuf>,
        instances: usize,
        user_home: UserHome,
    ) -> RuntimeConfig {
        RuntimeConfig {
            cwd: self.cwd.clone(),
            codex_bin: self.codex_bin.clone(),
            url: self.url.clone(),
            token_file: self.token_file.clone(),
            transport: self.transport,
            hermetic: self.hermetic,
            hooks: self.hooks,
            hooks_config: self.hooks_config.clone(),
            experimental_api: self.experimental_api,
            state_dir,
            instances,
            user_home,
            event_log: self.event_log.clone(),
            skip_compat: self.skip_compat,
            limits: self.limits(),
            max_message_bytes: self.max_message_bytes,
            connect_timeout_set: self.connect_timeout_ms.is_some(),
        }
    }

    /// The connection limits these flags describe.
    pub fn limits(&self) -> ConnectionLimits {
        ConnectionLimits {
            connect_timeout: self
                .connect_timeout_ms
                .map_or(DEFAULT_CONNECT_TIMEOUT, Duration::from_millis),
            inbox: InboxLimits {
                max_notifications: self.max_buffered_notifications,
                max_bytes: self.max_buffered_notification_bytes,
            },
        }
    }
}
