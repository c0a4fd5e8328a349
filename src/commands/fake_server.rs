//! `cas fake_server` (hidden): serve the fake app-server scripted by a scenario file.
//!
//! On stdio it serves one client on its own stdin/stdout; a `crash` rule kills this process
//! with SIGKILL on the spot, which is what a crashed server looks like. On websocket it binds
//! `ws://127.0.0.1:0`, prints codex's banner (`listening on: ws://…`) to stderr and serves
//! until killed.

use std::process::ExitCode;
use std::sync::Arc;

use crate::errors::{Chain, ScenarioError};
use crate::fake::{self, script::FakeScript, ws_server::FakeWsServer, ServeEnd};
use std::path::PathBuf;

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

/// Runs the command.
pub async fn run(args: FakeServerArgs) -> ExitCode {
    let script = match read_script(&args) {
        Ok(s) => Arc::new(s),
        Err(e) => {
            eprintln!("cas fake_server: {}", Chain(&e));
            return ExitCode::from(2);
        }
    };
    match args.listen.as_str() {
        "stdio://" | "stdio" => serve_stdio(script).await,
        "ws://127.0.0.1:0" => serve_ws(script, &args).await,
        other => {
            eprintln!("cas fake_server: --listen {other:?} is not supported (use stdio:// or ws://127.0.0.1:0)");
            ExitCode::from(2)
        }
    }
}

/// The scenario's fake script, with a twin's script merged over its original's.
fn read_script(args: &FakeServerArgs) -> Result<FakeScript, ScenarioError> {
    let dir = match &args.scenarios_dir {
        Some(dir) => dir.clone(),
        None => args
            .scenario
            .parent()
            .map(ToOwned::to_owned)
            .unwrap_or_default(),
    };
    let scenario = crate::scenario::load(&dir, &args.scenario)?;
    Ok(scenario.fake)
}

async fn serve_stdio(script: Arc<FakeScript>) -> ExitCode {
    let connection = crate::transport::stdio::jsonl(
        "stdio:client".into(),
        tokio::io::stdin(),
        tokio::io::stdout(),
        || async { "client closed stdin".to_owned() },
    );
    match fake::serve(connection, script).await {
        ServeEnd::PeerClosed => ExitCode::SUCCESS,
        ServeEnd::Crash => {
            // SAFETY: kill(2) on our own pid with a valid signal number has no memory effects.
            unsafe {
                libc::kill(libc::getpid(), libc::SIGKILL);
            }
            ExitCode::from(137)
        }
    }
}

async fn serve_ws(script: Arc<FakeScript>, args: &FakeServerArgs) -> ExitCode {
    let token = match &args.ws_token_file {
        None => None,
        Some(path) => match std::fs::read_to_string(path) {
            Ok(t) if !t.trim().is_empty() => Some(t.trim().to_owned()),
            Ok(_) => {
                eprintln!("cas fake_server: token file {} is empty", path.display());
                return ExitCode::from(2);
            }
            Err(e) => {
                eprintln!(
                    "cas fake_server: cannot read token file {}: {e}",
                    path.display()
                );
                return ExitCode::from(2);
            }
        },
    };
    let never_announce = script.has(fake::script::Fault::NeverAnnounce);
    let server = match FakeWsServer::start(script, token).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("cas fake_server: {e}");
            return ExitCode::from(2);
        }
    };
    if !never_announce {
        eprintln!(
            "cas fake app-server (WebSockets)\n  listening on: {}",
            server.url()
        );
    }
    server.run_until_stopped().await;
    ExitCode::SUCCESS
}
