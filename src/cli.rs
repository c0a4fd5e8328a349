//! The command line: clap definitions and dispatch, nothing else.
//!
//! Subcommands are snake_case with kebab-case aliases. Exit codes: 0 all good, 1 a check or
//! verdict failed, 2 cas could not run (usage, missing codex, spawn failure). Each command's
//! flags live in its own module under `commands/`.

use clap::{Parser, Subcommand};
use std::process::ExitCode;

use crate::commands;

/// Codex App-Server Control: drive, check and conformance-test codex app-servers.
#[derive(Debug, Parser)]
#[command(name = "cas", version = version_text(), about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// What `cas --version` says: cas's version and the codex version it is pinned to.
pub fn version_text() -> &'static str {
    static TEXT: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    TEXT.get_or_init(|| {
        format!(
            "{} (pinned codex {})",
            env!("CARGO_PKG_VERSION"),
            crate::launch::PINNED_CODEX_VERSION
        )
    })
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the conformance suite (every selected scenario, live lines and a summary).
    Conformance(commands::conformance::ConformanceArgs),
    /// List every scenario: area, mode, targets, twins, group and applicability on the codex.
    List(commands::list::ListArgs),
    /// Prove a runtime is reachable: handshake, features, threads, turns, steer, interrupt.
    #[command(name = "smoke_check", alias = "smoke-check")]
    SmokeCheck(commands::smoke_check::SmokeCheckArgs),
    /// Run one method on one instance (instance_runner with one instance and one sample).
    Request(commands::request::RequestArgs),
    /// Run one method on N parallel, isolated instances and report each.
    #[command(name = "instance_runner", alias = "instance-runner")]
    InstanceRunner(commands::instance_runner::InstanceRunnerArgs),
    /// Scenario files: `validate` loads and checks them without running them.
    Scenario(commands::scenario::ScenarioArgs),
    /// The protocol surface of a codex, and what differs between two.
    Schema(commands::schema::SchemaArgs),
    /// What cas and the resolved codex can do together: versions, verdicts, runnable scenarios.
    Capabilities(commands::capabilities::CapabilitiesArgs),
    /// Code reviews on a detached, persisted websocket lane: start, status, wait, interrupt.
    #[command(name = "review_session", alias = "review-session")]
    ReviewSession(commands::review_session::ReviewSessionArgs),
    /// Measure cas against a no-framework client on the same servers (the README's figures).
    Bench(commands::bench::BenchArgs),
    /// Print a transcript or event log as a readable conversation (`cas transcript show FILE`).
    Transcript(commands::transcript::TranscriptArgs),
    /// Print the shell completion script for bash, zsh or fish.
    Completions(commands::completions::CompletionsArgs),
    /// Serve the fake app-server scripted by a scenario file (used by the fake-stdio target).
    #[command(name = "fake_server", hide = true, alias = "fake-server")]
    FakeServer(commands::fake_server::FakeServerArgs),
    /// Remove ended review lanes, kept homes and workspaces, and hook logs older than an age.
    Gc(commands::gc::GcArgs),
    /// An st-compatible claim ledger command line (`cas st claim --file F …`).
    #[command(name = "st", hide = true)]
    St(commands::st::StArgs),
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
    use commands::interrupted::{guarded, Finished};
    let finished = Finished::default();
    let code = runtime.block_on(async {
        match cli.command {
            Command::Conformance(args) => {
                let json = args.json;
                guarded(
                    "conformance",
                    json,
                    &finished,
                    commands::conformance::run(args, finished.clone()),
                )
                .await
            }
            Command::List(args) => commands::list::run(args).await,
            Command::SmokeCheck(args) => {
                let json = args.runtime.json;
                guarded(
                    "smoke_check",
                    json,
                    &finished,
                    commands::smoke_check::run(args),
                )
                .await
            }
            Command::Request(args) => {
                let json = args.runtime.json;
                guarded("request", json, &finished, commands::request::run(args)).await
            }
            Command::InstanceRunner(args) => {
                let json = args.request.runtime.json;
                guarded(
                    "instance_runner",
                    json,
                    &finished,
                    commands::instance_runner::run(args),
                )
                .await
            }
            Command::Bench(args) => {
                let json = args.json;
                guarded("bench", json, &finished, commands::bench::run(args)).await
            }
            Command::ReviewSession(args) => commands::review_session::run(args).await,
            Command::Scenario(args) => commands::scenario::run(args),
            Command::Schema(args) => commands::schema::run(args).await,
            Command::Capabilities(args) => commands::capabilities::run(args).await,
            Command::FakeServer(args) => commands::fake_server::run(args).await,
            Command::St(args) => commands::st::run(args),
            Command::Transcript(args) => commands::transcript::run(args),
            Command::Completions(args) => {
                commands::completions::run(args, <Cli as clap::CommandFactory>::command())
            }
            Command::Gc(args) => commands::gc::run(args),
        }
    });
    // Server processes and sockets are owned by what the command dropped; do not wait on
    // blocking stdin readers left by the fake server.
    runtime.shutdown_timeout(std::time::Duration::from_millis(100));
    code
}
