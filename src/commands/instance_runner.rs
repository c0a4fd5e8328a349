//! `cas instance_runner`: one method on N parallel, isolated instances, each reported.
//!
//! Exit codes as `cas request` (see `lane_output`).

use std::process::ExitCode;

use super::request::RequestArgs;
use crate::outcome::CheckName;

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
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..))]
    pub sample: u32,
}

/// Runs the command.
pub async fn run(args: InstanceRunnerArgs) -> ExitCode {
    let config = args.request.lane_config(
        CheckName::InstanceRunner,
        args.instances as usize,
        args.sample as usize,
    );
    super::lane_output::run(config, args.request.runtime.json).await
}
