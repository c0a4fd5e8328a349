//! Turning the shared runtime flags into a ready [`Launcher`], for the control lanes.
//!
//! Resolves codex (and asks its version), or reads the `--url` token; sets up hermetic homes
//! or seeded user homes. Anything wrong here is a usage or setup problem: exit 2.

use serde_json::{json, Value};
use std::path::PathBuf;

use crate::cli::RuntimeArgs;
use crate::hermetic;
use crate::instances::{user_codex_home, HomesSetup, Launcher, Source, Transport};
use crate::launch::{self, CodexLocator};

/// From this many hermetic instances on, a template home initialised once and copied pays
/// for itself; below it every instance initialises its own fresh home.
pub const TEMPLATE_MIN_INSTANCES: usize = 4;

/// A prepared runtime and what the output says about it.
pub struct Runtime {
    /// Starts instances.
    pub launcher: Launcher,
    /// `{path, version}` of the codex used, or null with `--url`.
    pub codex: Value,
    /// stdio or ws.
    pub transport: Transport,
    /// Whether homes are hermetic.
    pub hermetic: bool,
    /// The server and thread cwd.
    pub cwd: PathBuf,
}

/// Prepares the runtime the flags describe; `as_is` uses the user's CODEX_HOME itself
/// (smoke_check) instead of isolated copies of its config (the fanout lanes).
pub async fn prepare(
    args: &RuntimeArgs,
    state_dir: Option<PathBuf>,
    instances: usize,
    as_is: bool,
) -> Result<Runtime, String> {
    let cwd = match &args.cwd {
        Some(dir) => dir
            .canonicalize()
            .map_err(|e| format!("--cwd {}: {e}", dir.display()))?,
        None => std::env::current_dir().map_err(|e| format!("current directory: {e}"))?,
    };
    if let Some(url) = &args.url {
        if state_dir.is_some() {
            return Err(
                "--state-dir needs a server cas starts; it does not apply with --url".into(),
            );
        }
        if !url.starts_with("ws://") && !url.starts_with("wss://") {
            return Err(format!("--url {url:?} is not a ws:// URL"));
        }
        let token = match &args.token_file {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| format!("--token-file {}: {e}", path.display()))?;
                Some(text.trim().to_owned())
                    .filter(|t| !t.is_empty())
                    .ok_or("--token-file is empty")?
                    .into()
            }
            None => None,
        };
        let launcher = Launcher::prepare(Source::Url {
            url: url.clone(),
            token,
        })
        .await
        .map_err(|e| e.to_string())?;
        return Ok(Runtime {
            launcher,
            codex: Value::Null,
            transport: Transport::Ws,
            hermetic: false,
            cwd,
        });
    }
    let bin = CodexLocator::from_env(args.codex_bin.clone())
        .resolve()
        .map_err(|e| e.to_string())?;
    let scratch = hermetic::default_root();
    let version_home = if args.hermetic {
        scratch.join("version-probe")
    } else {
        user_codex_home()
    };
    std::fs::create_dir_all(&version_home)
        .map_err(|e| format!("{}: {e}", version_home.display()))?;
    let source = Source::Codex {
        bin: bin.clone(),
        transport: args.transport,
        cwd: cwd.clone(),
        extra_args: Vec::new(),
        state_dir,
        scratch,
        homes: match (args.hermetic, instances >= TEMPLATE_MIN_INSTANCES) {
            (true, true) => HomesSetup::Hermetic,
            (true, false) => HomesSetup::HermeticFresh,
            (false, _) if as_is => HomesSetup::UserHomeAsIs,
            (false, _) => HomesSetup::UserRuntime,
        },
    };
    // The version probe and the shared setup (mock model, template) overlap.
    let (version, launcher) = tokio::join!(
        launch::codex_version(&bin, &version_home),
        Launcher::prepare(source)
    );
    let version = version.map_err(|e| e.to_string())?;
    let launcher = launcher.map_err(|e| e.to_string())?;
    Ok(Runtime {
        launcher,
        codex: json!({"path": bin, "version": version}),
        transport: args.transport,
        hermetic: args.hermetic,
        cwd,
    })
}
