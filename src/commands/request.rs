//! `cas request`: one method on one instance; `instance_runner --instances 1 --sample 1`.

use std::process::ExitCode;

use crate::cli::RequestArgs;

/// Runs the command.
pub async fn run(args: RequestArgs) -> ExitCode {
    super::instance_runner::fanout_command("request", &args, 1, 1).await
}
