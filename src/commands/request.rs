//! `cas request`: one method on one instance; `instance_runner --instances 1 --sample 1`.

use serde_json::Value;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use super::args::{parse_json_object, PolicyArgs, RetryArgs, RuntimeArgs};
use crate::fanout::lane::LaneConfig;
use crate::fanout::FanoutPlan;
use crate::outcome::CheckName;
use crate::runtime::UserHome;
use crate::session::InboxLimits;

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
    #[arg(long, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    pub max_in_flight: Option<usize>,
}

impl RequestArgs {
    /// The lane these flags describe, as `check`, on `instances` instances with `sample` requests each.
    pub fn lane_config(&self, check: CheckName, instances: usize, sample: usize) -> LaneConfig {
        let runtime = &self.runtime;
        let mut config = runtime.config(self.state_dir.clone(), instances, UserHome::Isolated);
        // The lane awaits no notification: its sessions keep none (hooks see them as they come).
        config.limits.inbox = InboxLimits::keep_none();
        LaneConfig {
            check,
            runtime: config,
            params_json: self.params_json.clone(),
            params_file: self.params_file.clone(),
            plan: FanoutPlan {
                instances,
                method: self.method.clone(),
                params: Value::Null,
                sample,
                client_prefix: self.client_prefix.clone(),
                experimental_api: runtime.experimental_api,
                opt_out_notification_methods: runtime.opt_out_notification_methods.clone(),
                policy: self.policy.config(),
                retry: self.retry.schedule(),
                retry_seed: self.retry.retry_seed,
                request_timeout: Duration::from_millis(runtime.request_timeout_ms),
                max_in_flight: self.max_in_flight,
            },
        }
    }
}

/// Runs the command.
pub async fn run(args: RequestArgs) -> ExitCode {
    super::lane_output::run(
        args.lane_config(CheckName::Request, 1, 1),
        args.runtime.json,
    )
    .await
}
