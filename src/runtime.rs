//! Preparing a runtime for the control lanes: codex, compatibility, hook policy and homes.
//!
//! From a plain [`RuntimeConfig`] (no clap here) it resolves codex (and asks its version), or
//! reads the `--url` token; sets up hermetic homes or seeded user homes; and checks the codex's
//! protocol surface for what the command relies on. Anything wrong here is a [`RuntimeError`];
//! an incompatible codex is a [`Runtime`] whose [`Compatibility`] says so, for the command to
//! refuse. Nothing here prints.

use serde::Serialize;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::errors::{Chain, RuntimeError, UsageError};
use crate::hooks::{HookObserver, HookPolicy};
use crate::launch::ConnectionLimits;
use crate::launch::{self, CodexLocator};
use crate::launch::{user_codex_home, HomesSetup, Launcher, Source, Transport};
use crate::outcome::{CheckName, CompatibilityVerdict};
use crate::schema::compat::{self, Compatibility, Requirements};
use crate::transcript::EventLogs;

/// From this many hermetic instances on, a template home initialised once and copied pays
/// for itself; below it every instance initialises its own fresh home.
pub const TEMPLATE_MIN_INSTANCES: usize = 4;

/// Whose CODEX_HOME a non-hermetic runtime uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserHome {
    /// The user's CODEX_HOME itself (smoke_check).
    AsIs,
    /// Isolated copies of its config, one per instance (the fanout lanes).
    Isolated,
}

/// Where the app-server comes from and how to talk to it, as plain values.
#[derive(Debug, Clone)]
pub struct RuntimeConfig {
    /// The working directory for servers and threads (default: the current directory).
    pub cwd: Option<PathBuf>,
    /// The codex binary (default: CAS_CODEX_BIN, the project install, then PATH).
    pub codex_bin: Option<PathBuf>,
    /// A running websocket server to talk to instead of starting codex.
    pub url: Option<String>,
    /// With `url`: a file holding the bearer token.
    pub token_file: Option<PathBuf>,
    /// How cas talks to the codex it starts.
    pub transport: Transport,
    /// Fresh CODEX_HOMEs whose model is cas's mock.
    pub hermetic: bool,
    /// What cas lets codex's hooks do.
    pub hooks: HookPolicy,
    /// With `hermetic`: a hooks.json to install and trust in every home.
    pub hooks_config: Option<PathBuf>,
    /// Whether the client opts into `experimentalApi`.
    pub experimental_api: bool,
    /// Per-instance CODEX_HOMEs go to DIR/<client name> and are kept.
    pub state_dir: Option<PathBuf>,
    /// How many instances will be started.
    pub instances: usize,
    /// Whose home a non-hermetic runtime uses.
    pub user_home: UserHome,
    /// Where the lane's event log goes (`--event-log`), one file per instance when several.
    pub event_log: Option<PathBuf>,
    /// Skip the protocol-surface check (`--skip-compat`): the verdict is `unchecked`.
    pub skip_compat: bool,
    /// What bounds each connection: connect deadline and notification inbox.
    pub limits: ConnectionLimits,
    /// The cap on one inbound line or websocket message (`--max-message-bytes`), if set.
    pub max_message_bytes: Option<usize>,
    /// Whether `--connect-timeout-ms` was given (it needs a websocket to apply to).
    pub connect_timeout_set: bool,
}

/// The codex a runtime uses, as reports show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CodexInfo {
    /// The binary.
    pub path: PathBuf,
    /// What `codex --version` said.
    pub version: String,
}

/// A prepared runtime and what the output says about it.
pub struct Runtime {
    /// Starts instances.
    pub launcher: Launcher,
    /// The codex used, or none with `--url`.
    pub codex: Option<CodexInfo>,
    /// How cas talks to the servers it starts: stdio or websocket.
    pub transport: Transport,
    /// Whether homes are hermetic.
    pub hermetic: bool,
    /// The server and thread cwd.
    pub cwd: PathBuf,
    /// The compatibility verdict for the command, with what is missing, and
    /// `hooks_unsupported` when the codex cannot honour the hook policy.
    pub compatibility: Compatibility,
    /// What cas could not do about the hook policy, said instead of pretended.
    pub hooks_note: Option<String>,
}

impl Runtime {
    /// Whether the codex lacks something the command relies on.
    pub fn incompatible(&self) -> bool {
        self.compatibility.verdict == CompatibilityVerdict::Incompatible
    }
}

/// What a control lane relies on, given its config (experimental opt-in, hooks).
pub fn requirements(
    config: &RuntimeConfig,
    command: CheckName,
    method: Option<&str>,
) -> Requirements {
    let mut needs = Requirements::of(command, method);
    needs.experimental_api = config.experimental_api;
    if config.hooks_config.is_some() {
        needs = needs.with_hook_setup();
    }
    needs
}

/// The hook policy actually in force: `off` cannot be applied to a `--url` server cas does not
/// own (the output says so in `hooksNote`), so there it is observed as `inherit`.
pub fn effective_hook_policy(config: &RuntimeConfig) -> HookPolicy {
    match (config.hooks, &config.url) {
        (HookPolicy::Off, Some(_)) => HookPolicy::Inherit,
        (policy, _) => policy,
    }
}

/// A hook observer logging to `$XDG_STATE_HOME/cas/hook-logs/<check>-<ms>-<pid>.ndjson`.
pub fn hook_observer(check: CheckName) -> Arc<HookObserver> {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0);
    let dir = launch::paths::hook_logs_dir();
    let path = dir.join(format!("{check}-{ms}-{}.ndjson", std::process::id()));
    Arc::new(HookObserver::new(path))
}

/// Opens the lane's `--event-log` files, when asked for: `per_instance` gives each instance its
/// own file (instance_runner); a file or folder that cannot be made is a usage error.
pub fn open_event_logs(
    config: &RuntimeConfig,
    check: CheckName,
    per_instance: bool,
) -> Result<Option<Arc<EventLogs>>, UsageError> {
    let Some(path) = &config.event_log else {
        return Ok(None);
    };
    EventLogs::open(path, check.as_str(), per_instance)
        .map(|logs| Some(Arc::new(logs)))
        .map_err(|source| UsageError::FlagPath {
            flag: "--event-log",
            path: path.clone(),
            source,
        })
}

/// Lets the event logs see every instance the runtime starts from now on (and, for one
/// instance, the mock model's requests).
pub fn attach_event_logs(rt: &mut Runtime, logs: Option<&Arc<EventLogs>>) {
    let Some(logs) = logs else {
        return;
    };
    rt.launcher.set_tap_factory(logs.factory());
    if let (Some(mock), Some(tap)) = (rt.launcher.mock_model(), logs.model_tap()) {
        mock.tap_requests(tap);
    }
}

/// The `--cwd` flag made absolute (it must exist), else the current directory.
pub fn resolve_cwd(flag: Option<&Path>) -> Result<PathBuf, UsageError> {
    match flag {
        Some(dir) => dir.canonicalize().map_err(|source| UsageError::FlagPath {
            flag: "--cwd",
            path: dir.to_owned(),
            source,
        }),
        None => std::env::current_dir().map_err(UsageError::CurrentDir),
    }
}

/// Prepares the runtime the config describes.
pub async fn prepare(
    config: &RuntimeConfig,
    needs: &Requirements,
) -> Result<Runtime, RuntimeError> {
    let cwd = resolve_cwd(config.cwd.as_deref())?;
    if config.connect_timeout_set && config.url.is_none() && config.transport == Transport::Stdio {
        return Err(UsageError::ConnectTimeoutUnused.into());
    }
    if let Some(bytes) = config.max_message_bytes {
        crate::transport::set_max_message_bytes(bytes);
    }
    let mut runtime = match &config.url {
        Some(url) => prepare_url(config, url, cwd).await,
        None => prepare_codex(config, needs, cwd).await,
    }?;
    runtime.launcher.set_limits(config.limits);
    Ok(runtime)
}

/// A `--url` server: nothing to resolve, nothing checked.
async fn prepare_url(
    config: &RuntimeConfig,
    url: &str,
    cwd: PathBuf,
) -> Result<Runtime, RuntimeError> {
    if config.state_dir.is_some() {
        return Err(UsageError::StateDirWithUrl.into());
    }
    if !url.starts_with("ws://") && !url.starts_with("wss://") {
        return Err(UsageError::NotWebsocketUrl(url.to_owned()).into());
    }
    let token = match &config.token_file {
        Some(path) => Some(read_token(path)?),
        None => None,
    };
    let launcher = Launcher::prepare(Source::Url {
        url: url.to_owned(),
        token,
    })
    .await?;
    tracing::debug!(url, "prepared a --url runtime");
    Ok(Runtime {
        launcher,
        codex: None,
        transport: Transport::Ws,
        hermetic: false,
        cwd,
        compatibility: Compatibility::unchecked(),
        hooks_note: (config.hooks == HookPolicy::Off)
            .then(|| "--hooks off is not applied: cas does not control a --url server".to_owned()),
    })
}

/// The trimmed, non-empty content of `--token-file`.
fn read_token(path: &Path) -> Result<String, UsageError> {
    let text = std::fs::read_to_string(path).map_err(|source| UsageError::FlagPath {
        flag: "--token-file",
        path: path.to_owned(),
        source,
    })?;
    Some(text.trim().to_owned())
        .filter(|t| !t.is_empty())
        .ok_or(UsageError::EmptyTokenFile)
}

/// A codex cas starts: resolve, probe and check it while the shared setup is made.
async fn prepare_codex(
    config: &RuntimeConfig,
    needs: &Requirements,
    cwd: PathBuf,
) -> Result<Runtime, RuntimeError> {
    let bin = CodexLocator::from_env(config.codex_bin.clone()).resolve()?;
    let scratch = launch::paths::homes_dir();
    let version_home = version_home(config.hermetic)?;
    let HookSetup {
        hooks,
        server_args,
        unsupported: mut hooks_unsupported,
    } = hook_setup(config, &bin, &version_home).await?;
    let source = Source::Codex {
        bin: bin.clone(),
        transport: config.transport,
        cwd: cwd.clone(),
        extra_args: server_args,
        hooks,
        state_dir: config.state_dir.clone(),
        scratch,
        homes: homes_setup(config),
    };
    // The version probe and compatibility check overlap the shared setup (mock model, template).
    let (checked, launcher) = tokio::join!(
        checked_unless_skipped(config.skip_compat, &bin, &version_home, needs),
        Launcher::prepare(source)
    );
    let CodexCheck {
        version,
        mut compatibility,
        hook_notifications,
    } = checked?;
    let launcher = launcher?;
    if config.hooks != HookPolicy::Inherit && !hook_notifications {
        hooks_unsupported.get_or_insert(format!(
            "codex {version} sends no hook/started or hook/completed notifications"
        ));
    }
    if let Some(why) = hooks_unsupported {
        compatibility.refuse_hooks(format!("--hooks {}: {why}", config.hooks.as_str()));
    }
    tracing::debug!(bin = %bin.display(), %version, verdict = ?compatibility.verdict, "prepared a codex runtime");
    Ok(Runtime {
        launcher,
        codex: Some(CodexInfo { path: bin, version }),
        transport: config.transport,
        hermetic: config.hermetic,
        cwd,
        compatibility,
        hooks_note: None,
    })
}

/// What the hook policy and `--hooks-config` ask of the servers cas starts.
struct HookSetup {
    /// The hooks.json to install and trust, with the folder `${HOOKS_DIR}` stands for.
    hooks: Option<(String, PathBuf)>,
    /// The server flags that switch hooks off (`--hooks off`).
    server_args: Vec<String>,
    /// Why `--hooks off` cannot be honoured on this codex, if it cannot.
    unsupported: Option<String>,
}

/// Reads `--hooks-config` and, for `--hooks off`, the flags that switch this codex's hooks off.
async fn hook_setup(
    config: &RuntimeConfig,
    bin: &Path,
    version_home: &Path,
) -> Result<HookSetup, UsageError> {
    let hooks = read_hooks_config(config.hooks_config.as_deref())?;
    let disable = match config.hooks {
        HookPolicy::Off => launch::disable_hooks_args(bin, version_home).await,
        _ => Ok(Vec::new()),
    };
    let (server_args, unsupported) = match disable {
        Ok(extra) => (extra, None),
        Err(why) => (Vec::new(), Some(Chain(&why).to_string())),
    };
    Ok(HookSetup {
        hooks,
        server_args,
        unsupported,
    })
}

/// How homes are made for the config.
fn homes_setup(config: &RuntimeConfig) -> HomesSetup {
    match (config.hermetic, config.instances >= TEMPLATE_MIN_INSTANCES) {
        (true, true) => HomesSetup::Hermetic,
        (true, false) => HomesSetup::HermeticFresh,
        (false, _) if config.user_home == UserHome::AsIs => HomesSetup::UserHomeAsIs,
        (false, _) => HomesSetup::UserRuntime,
    }
}

/// What probing a codex found: its version, its fit for a command, whether it reports hooks.
#[derive(Debug, Clone)]
pub struct CodexCheck {
    /// What `codex --version` said.
    pub version: String,
    /// The codex's compatibility with what the command relies on.
    pub compatibility: Compatibility,
    /// Whether its protocol surface has the `hook/started` and `hook/completed` notifications.
    pub hook_notifications: bool,
}

/// The CODEX_HOME that `codex --version` and flag probes run in (made if missing): a scratch
/// home for hermetic runs, else the user's own.
pub fn version_home(hermetic: bool) -> Result<PathBuf, RuntimeError> {
    let home = if hermetic {
        launch::paths::homes_dir().join("version-probe")
    } else {
        user_codex_home()
    };
    create_dir(&home)?;
    Ok(home)
}

/// `--hooks-config`: the file's text and its folder (what `${HOOKS_DIR}` stands for).
pub fn read_hooks_config(path: Option<&Path>) -> Result<Option<(String, PathBuf)>, UsageError> {
    let Some(path) = path else {
        return Ok(None);
    };
    crate::hooks::read_config(path)
        .map(Some)
        .map_err(|source| UsageError::FlagPath {
            flag: "--hooks-config",
            path: path.to_owned(),
            source,
        })
}

/// Asks the codex at `bin` its version, and checks its protocol surface against `needs`.
pub async fn check_codex(
    bin: &Path,
    version_home: &Path,
    needs: &Requirements,
) -> Result<CodexCheck, RuntimeError> {
    let version = launch::codex_version(bin, version_home).await?;
    let surface_scratch = launch::paths::homes_dir().join("schema");
    create_dir(&surface_scratch)?;
    let surface = compat::surface_for(
        bin,
        &version,
        &compat::default_cache_dir(),
        &surface_scratch,
    )
    .await
    .map_err(|source| RuntimeError::Surface {
        bin: bin.to_owned(),
        source,
    })?;
    let hook_notifications = ["hook/started", "hook/completed"]
        .iter()
        .all(|m| surface.server_notifications.iter().any(|n| n.method == *m));
    Ok(CodexCheck {
        compatibility: compat::check(&surface, needs),
        version,
        hook_notifications,
    })
}

/// [`check_codex`], or with `skip` only the version probe: verdict `unchecked`, and the hook
/// notifications taken as present.
async fn checked_unless_skipped(
    skip: bool,
    bin: &Path,
    version_home: &Path,
    needs: &Requirements,
) -> Result<CodexCheck, RuntimeError> {
    if !skip {
        return check_codex(bin, version_home, needs).await;
    }
    Ok(CodexCheck {
        version: launch::codex_version(bin, version_home).await?,
        compatibility: Compatibility::unchecked(),
        hook_notifications: true,
    })
}

fn create_dir(path: &Path) -> Result<(), RuntimeError> {
    std::fs::create_dir_all(path).map_err(|source| RuntimeError::Io {
        path: path.to_owned(),
        source,
    })
}
