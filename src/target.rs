//! Starting what a conformance run talks to: the fake (stdio child or in-process websocket) or
//! the real codex (stdio or websocket) with a fresh CODEX_HOME and the mock model.
//!
//! A [`Launched`] target owns everything it started; the connection owns the server process,
//! the guard owns the mock model, the temporary home and the fake listener. Shut the session
//! down first, then drop the guard.

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::process::Command;

use crate::errors::LaunchError;
use crate::fake::script::FakeScript;
use crate::fake::ws_server::FakeWsServer;
use crate::hooks::HookPolicy;
use crate::launch::{
    self, CodexLocator, HermeticHome, MockModel, ModelScript, ServerExtras, ServerSpec,
};
use crate::transport::{self, Connection};

mod template;
pub use template::CodexTemplate;

/// How long a websocket server may take to print its banner, and a connection to open.
const STARTUP_DEADLINE: Duration = Duration::from_secs(15);

/// A target a scenario runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum TargetName {
    /// `cas fake_server` as a child process over stdio.
    FakeStdio,
    /// The fake server on a loopback websocket, in-process.
    FakeWs,
    /// The real `codex app-server` over stdio, hermetic.
    CodexStdio,
    /// The real `codex app-server` on a loopback websocket with a capability token, hermetic.
    CodexWs,
    /// No server at all: ledger and other local steps only.
    Local,
}

impl TargetName {
    /// All four, in trial order.
    pub const ALL: [TargetName; 4] = [
        TargetName::FakeStdio,
        TargetName::FakeWs,
        TargetName::CodexStdio,
        TargetName::CodexWs,
    ];

    /// The kebab-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            TargetName::FakeStdio => "fake-stdio",
            TargetName::FakeWs => "fake-ws",
            TargetName::CodexStdio => "codex-stdio",
            TargetName::CodexWs => "codex-ws",
            TargetName::Local => "local",
        }
    }

    /// Parses a kebab-case name.
    pub fn parse(name: &str) -> Option<TargetName> {
        TargetName::ALL
            .into_iter()
            .chain([TargetName::Local])
            .find(|t| t.as_str() == name)
    }

    /// Whether the target is the real codex.
    pub fn is_codex(self) -> bool {
        matches!(self, TargetName::CodexStdio | TargetName::CodexWs)
    }
}

impl std::fmt::Display for TargetName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a run needs to start targets.
#[derive(Debug, Clone)]
pub struct TargetEnv {
    /// The `cas` binary, for the stdio fake (`cas fake_server --scenario PATH`).
    pub cas_bin: PathBuf,
    /// Where to find codex.
    pub codex: CodexLocator,
    /// Where hermetic CODEX_HOMEs go (never under the system temp dir).
    pub scratch_root: PathBuf,
    /// Where each scenario run's scratch workspace is made.
    pub workspace_root: PathBuf,
    /// Keep workspaces of passing runs too (failing runs always keep theirs).
    pub keep_temp: bool,
    /// Drive this `st` binary for ledger steps instead of cas's own ledger.
    pub st_binary: Option<PathBuf>,
    /// A codex home initialised once for the run; codex targets start from copies of it.
    pub codex_template: Option<Arc<CodexTemplate>>,
    /// Keep every run's transcript here too (failing runs keep theirs in the workspace).
    pub transcript_dir: Option<PathBuf>,
}

/// The codex a run used.
#[derive(Debug, Clone, PartialEq)]
pub struct CodexInfo {
    /// The binary.
    pub path: PathBuf,
    /// Its `--version`, e.g. `0.169.0`.
    pub version: String,
}

/// Everything a started target holds that must live as long as the connection.
#[derive(Default)]
pub struct TargetGuard {
    _mock: Option<MockModel>,
    _home: Option<HermeticHome>,
    _fake_ws: Option<FakeWsServer>,
}

impl TargetGuard {
    /// The mock model a codex target talks to (none on the fake targets).
    pub fn mock_model(&self) -> Option<&MockModel> {
        self._mock.as_ref()
    }
}

/// A started target.
pub struct Launched {
    /// The connection to the server.
    pub connection: Connection,
    /// What must outlive the connection.
    pub guard: TargetGuard,
    /// Run-specific paths to redact from the verdict.
    pub redact_paths: Vec<String>,
    /// The codex used, for codex targets.
    pub codex: Option<CodexInfo>,
    /// Where more client connections can be opened (websocket targets).
    pub endpoint: Option<WsEndpoint>,
}

/// A websocket server's address and the capability token it was started with.
#[derive(Clone)]
pub struct WsEndpoint {
    /// The listen URL, e.g. `ws://127.0.0.1:40123`.
    pub url: String,
    /// The bearer token it requires.
    pub token: String,
}

impl std::fmt::Debug for WsEndpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WsEndpoint")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

/// What a target needs to know of the scenario it runs: its file, its fake script, its hooks.
#[derive(Debug, Clone, Copy)]
pub struct ScenarioServer<'a> {
    /// The scenario file (the stdio fake reads it itself).
    pub path: &'a Path,
    /// The scenarios folder, where a twin's original is found.
    pub dir: &'a Path,
    /// The `[fake]` script the fake servers follow.
    pub fake: &'a FakeScript,
    /// What codex's hooks may do on a codex target.
    pub hook_policy: HookPolicy,
    /// A hooks.json (and the folder `${HOOKS_DIR}` stands for) to install and trust.
    pub hooks_config: Option<&'a (String, PathBuf)>,
    /// The mock model's scripted answers (codex targets).
    pub model: &'a ModelScript,
    /// Environment, config keys, home files and args for the server (codex targets).
    pub extras: &'a ServerExtras,
}

/// Starts `target` for a scenario (whose `[fake]` script the fake uses).
pub async fn launch(
    target: TargetName,
    scenario: ScenarioServer<'_>,
    env: &TargetEnv,
) -> Result<Launched, LaunchError> {
    match target {
        TargetName::FakeStdio => {
            let mut command = Command::new(&env.cas_bin);
            command
                .arg("fake_server")
                .arg("--scenario")
                .arg(scenario.path)
                .arg("--scenarios-dir")
                .arg(scenario.dir)
                .env("RUST_LOG", "warn");
            let connection = transport::stdio::spawn(command, "cas fake_server")?;
            Ok(plain(connection))
        }
        TargetName::FakeWs => {
            let token = launch::new_token()?;
            let server =
                FakeWsServer::start(Arc::new(scenario.fake.clone()), Some(token.clone())).await?;
            let connection =
                transport::ws::connect(server.url(), Some(&token), STARTUP_DEADLINE).await?;
            let mut launched = plain(connection);
            launched.endpoint = Some(WsEndpoint {
                url: server.url().to_owned(),
                token,
            });
            launched.guard._fake_ws = Some(server);
            Ok(launched)
        }
        TargetName::CodexStdio | TargetName::CodexWs => launch_codex(target, scenario, env).await,
        TargetName::Local => Err(LaunchError::NoServer),
    }
}

fn plain(connection: Connection) -> Launched {
    Launched {
        connection,
        guard: TargetGuard::default(),
        redact_paths: Vec::new(),
        codex: None,
        endpoint: None,
    }
}

/// Fills a fresh codex home: a copy of the run's template when there is one (else codex makes
/// its files on first start), then the scenario's extras; returns the codex version.
async fn fill_home(
    env: &TargetEnv,
    bin: &Path,
    home: &HermeticHome,
    model_base_url: &str,
    scenario: &ScenarioServer<'_>,
) -> Result<String, LaunchError> {
    let template = env.codex_template.as_ref().filter(|t| t.serves(bin));
    if let Some(template) = template {
        template.copy_into(home, model_base_url)?;
    }
    scenario.extras.apply(home.path())?;
    match template {
        Some(template) => Ok(template.version().to_owned()),
        None => launch::codex_version(bin, home.path()).await,
    }
}

/// The `app-server` arguments for a hermetic codex target, from the flags its `--help` lists:
/// `--strict-config` where accepted, `--disable <hooks>` for hooks off; a websocket target on a
/// codex without the websocket flags, or hooks off without `--disable`, is refused naming it.
async fn server_args(
    bin: &Path,
    home: &Path,
    target: TargetName,
    hook_policy: HookPolicy,
) -> Result<Vec<String>, LaunchError> {
    let flags = launch::flags::probe_cached(bin, home).await?;
    if target == TargetName::CodexWs {
        flags.require_websocket()?;
    }
    let mut args = flags.base_args();
    if hook_policy == HookPolicy::Off {
        // A scenario's refusal names the scenario's wish (hooks off), not the probe.
        let off = launch::disable_hooks_args(bin, home)
            .await
            .map_err(|e| match e {
                LaunchError::NoHooksFeature => LaunchError::HooksOffUnsupported,
                e => e,
            })?;
        args.extend(off);
    }
    Ok(args)
}

async fn launch_codex(
    target: TargetName,
    scenario: ScenarioServer<'_>,
    env: &TargetEnv,
) -> Result<Launched, LaunchError> {
    let bin = env.codex.resolve()?;
    let mock = MockModel::start_scripted(scenario.model.clone()).await;
    let home = HermeticHome::create(&env.scratch_root, &mock.base_url())?;
    let version = fill_home(env, &bin, &home, &mock.base_url(), &scenario).await?;
    let extra_args = server_args(&bin, home.path(), target, scenario.hook_policy).await?;
    let spec = ServerSpec {
        bin: bin.clone(),
        codex_home: home.path().to_owned(),
        cwd: home.workdir(),
        extra_args: [extra_args, scenario.extras.args.clone()].concat(),
        env: scenario.extras.env.clone().into_iter().collect(),
    };
    if let Some((json, dir)) = scenario.hooks_config {
        launch::install_and_trust(&bin, home.path(), &spec.cwd, json, dir)
            .await
            .map_err(|source| LaunchError::Hooks {
                what: "installing and trusting the scenario's hooks".into(),
                source,
            })?;
    }
    let (connection, endpoint) = if target == TargetName::CodexWs {
        let server = spec.spawn_ws(STARTUP_DEADLINE).await?;
        let endpoint = WsEndpoint {
            url: server.url.clone(),
            token: server.token.clone(),
        };
        (server.connect(STARTUP_DEADLINE).await?, Some(endpoint))
    } else {
        (spec.spawn_stdio()?, None)
    };
    let mut redact_paths = vec![home.path().display().to_string()];
    if let Ok(real) = home.path().canonicalize() {
        redact_paths.push(real.display().to_string());
    }
    Ok(Launched {
        connection,
        guard: TargetGuard {
            _mock: Some(mock),
            _home: Some(home),
            _fake_ws: None,
        },
        redact_paths,
        codex: Some(CodexInfo { path: bin, version }),
        endpoint,
    })
}
