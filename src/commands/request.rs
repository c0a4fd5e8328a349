//! `cas request`: one method on one instance; `instance_runner --instances 1 --sample 1`.

use std::process::ExitCode;

use super::args::{parse_json_object, PolicyArgs, RetryArgs, RuntimeArgs};
use serde_json::Value;
use std::path::PathBuf;

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

/// Runs the command.
pub async fn run(args: RequestArgs) -> ExitCode {
    super::instance_runner::fanout_command("request", &args, 1, 1).await
}
