//! The command line: clap definitions and dispatch, nothing else.
//!
//! Subcommands are snake_case with kebab-case aliases. Exit codes: 0 all good, 1 a check or
//! verdict failed, 2 cas could not run (usage, missing codex, spawn failure).

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

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
    /// Serve the fake app-server scripted by a scenario file (used by the fake-stdio target).
    #[command(name = "fake_server", hide = true, alias = "fake-server")]
    FakeServer(FakeServerArgs),
}

/// Flags of `cas conformance`.
#[derive(Debug, clap::Args)]
pub struct ConformanceArgs {
    /// A scenario name (e.g. `handshake`) or a path to a scenario file.
    #[arg(long)]
    pub scenario: String,
    /// fake-stdio, fake-ws, codex-stdio or codex-ws.
    #[arg(long, default_value = "fake-stdio")]
    pub target: String,
    /// Print exactly one JSON document (the verdict) on stdout.
    #[arg(long)]
    pub json: bool,
    /// The folder of scenario files (default: ./scenarios, else the one cas was built with).
    #[arg(long)]
    pub scenarios_dir: Option<PathBuf>,
    /// The codex binary (default: CAS_CODEX_BIN, the project install, then PATH).
    #[arg(long)]
    pub codex_bin: Option<PathBuf>,
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

/// Parses the arguments and runs the command.
pub fn run() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
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
            Command::FakeServer(args) => commands::fake_server::run(args).await,
        }
    });
    // Server processes and sockets are owned by what the command dropped; do not wait on
    // blocking stdin readers left by the fake server.
    runtime.shutdown_timeout(std::time::Duration::from_millis(100));
    code
}
