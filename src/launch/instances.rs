//! Starting isolated app-server instances for the control lanes, hermetic or as the user has them.
//!
//! Hermetic instances get a CODEX_HOME copied from a template that one codex initialised once
//! per run (sqlite databases and helpers already created), each copy with its own installation
//! id; all of them use one mock model. Instances of the user's runtime are isolated too: each
//! gets its own CODEX_HOME seeded with the user's `config.toml` and `auth.json`, or
//! `--state-dir DIR/<client>` when given. With `--url` an instance is one more connection to a
//! server cas does not control.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tempfile::TempDir;

use super::files::prepare;
use super::home::{copy_home, seed_home, user_codex_home, write_hermetic_config};
use super::{HermeticHome, MockModel, ServerSpec};
use crate::errors::LaunchError;
use crate::protocol::ClientInfo;
use crate::session::{
    InboxLimits, NotificationTap, ServerRequestHandler, Session, DEFAULT_MAX_IN_FLIGHT,
};
use crate::transcript::TapFactory;
use crate::transport::{self, Connection};

/// How long a server may take to print its banner or accept a connection, by default.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(20);

/// How long the template codex may take to start and answer `initialize`.
const STARTUP_DEADLINE: Duration = Duration::from_secs(20);

/// What bounds each instance's connection: its connect deadline and its inbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// How long a `--url` connect, or a websocket server's banner and connect, may take.
    pub connect_timeout: Duration,
    /// What each session keeps of notifications nobody took.
    pub inbox: InboxLimits,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        ConnectionLimits {
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            inbox: InboxLimits::default(),
        }
    }
}

/// How cas reaches codex.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Transport {
    /// JSONL on the child's stdin/stdout.
    Stdio,
    /// A loopback websocket with a capability token.
    Ws,
}

impl Transport {
    /// `stdio` or `ws`.
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::Stdio => "stdio",
            Transport::Ws => "ws",
        }
    }
}

/// Where each instance's CODEX_HOME comes from.
enum Homes {
    /// Copies of an initialised template; the mock model answers turns.
    Hermetic {
        template: HermeticHome,
        mock: MockModel,
    },
    /// Fresh homes seeded from the user's CODEX_HOME (config and auth only).
    Seeded { user_home: PathBuf },
    /// A config-only hermetic home per instance; the mock model answers turns.
    HermeticFresh { mock: MockModel },
    /// The user's own CODEX_HOME, shared and left as it is.
    AsIs { home: PathBuf },
}

/// What starts instances: the real codex, or a websocket URL cas does not control.
pub enum Source {
    /// cas starts one codex per instance.
    Codex {
        /// The codex binary.
        bin: PathBuf,
        /// How cas talks to the servers: stdio or websocket.
        transport: Transport,
        /// The cwd for servers and threads.
        cwd: PathBuf,
        /// Extra `app-server` arguments.
        extra_args: Vec<String>,
        /// A hooks.json to install (and trust) in every hermetic home, with the folder that
        /// `${HOOKS_DIR}` in it stands for.
        hooks: Option<(String, PathBuf)>,
        /// Per-instance homes go here (`--state-dir`), else into temporary folders under `scratch`.
        state_dir: Option<PathBuf>,
        /// Where temporary homes go (never the system temp dir).
        scratch: PathBuf,
        /// Hermetic or the user's runtime.
        homes: HomesSetup,
    },
    /// Each instance is a connection to this server.
    Url {
        /// The `ws://` URL.
        url: String,
        /// The bearer token, if the server wants one.
        token: Option<String>,
    },
}

/// Which homes to set up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HomesSetup {
    /// Template copies and the mock model.
    Hermetic,
    /// Fresh hermetic homes (config only) and the mock model: cheaper for a few instances.
    HermeticFresh,
    /// Seeded from the user's CODEX_HOME.
    UserRuntime,
    /// The user's CODEX_HOME itself, as it is (the smoke check of their runtime).
    UserHomeAsIs,
}

/// Starts instances from a source; holds what they share (template, mock model).
pub struct Launcher {
    source: Source,
    homes: Option<Homes>,
    limits: ConnectionLimits,
    /// Gives each instance's connection a frame tap (the lanes' `--event-log`).
    taps: Option<TapFactory>,
}

/// A started instance: its session and what must outlive it.
pub struct Instance {
    /// The handshaken session.
    pub session: Session,
    /// Its CODEX_HOME, removed on drop when temporary.
    pub home: Option<InstanceHome>,
}

/// A per-instance CODEX_HOME.
pub enum InstanceHome {
    /// Removed when dropped.
    Temporary(TempDir),
    /// Kept (`--state-dir`).
    Kept(PathBuf),
}

impl Instance {
    /// Shuts the server down, then lets go of its home (a temporary home is removed only
    /// after the server is gone).
    pub async fn shutdown(self, grace: Duration) -> Option<String> {
        let Instance { session, home } = self;
        let fate = session.shutdown(grace).await;
        drop(home);
        fate
    }
}

impl InstanceHome {
    /// The home's path.
    pub fn path(&self) -> &Path {
        match self {
            InstanceHome::Temporary(dir) => dir.path(),
            InstanceHome::Kept(path) => path,
        }
    }
}

impl Launcher {
    /// Prepares shared state: for hermetic runs the mock model and the initialised template.
    pub async fn prepare(source: Source) -> Result<Launcher, LaunchError> {
        let homes = match &source {
            Source::Url { .. } => None,
            Source::Codex {
                bin,
                scratch,
                homes: HomesSetup::Hermetic,
                ..
            } => {
                let mock = MockModel::start().await;
                let template = HermeticHome::create(scratch, &mock.base_url())?;
                initialise_template(bin, &template).await?;
                Some(Homes::Hermetic { template, mock })
            }
            Source::Codex {
                homes: HomesSetup::HermeticFresh,
                ..
            } => Some(Homes::HermeticFresh {
                mock: MockModel::start().await,
            }),
            Source::Codex {
                homes: HomesSetup::UserHomeAsIs,
                ..
            } => Some(Homes::AsIs {
                home: user_codex_home(),
            }),
            Source::Codex {
                homes: HomesSetup::UserRuntime,
                ..
            } => Some(Homes::Seeded {
                user_home: user_codex_home(),
            }),
        };
        Ok(Launcher {
            source,
            homes,
            limits: ConnectionLimits::default(),
            taps: None,
        })
    }

    /// Sets what bounds the connections of instances started from now on.
    pub fn set_limits(&mut self, limits: ConnectionLimits) {
        self.limits = limits;
    }

    /// What bounds the connections of instances started from now on.
    pub fn limits(&self) -> ConnectionLimits {
        self.limits
    }

    /// Lets `taps` give each instance started from now on a frame tap, before its handshake.
    pub fn set_tap_factory(&mut self, taps: TapFactory) {
        self.taps = Some(taps);
    }

    /// The mock model hermetic instances answer turns with.
    pub fn mock_model(&self) -> Option<&MockModel> {
        match &self.homes {
            Some(Homes::Hermetic { mock, .. } | Homes::HermeticFresh { mock }) => Some(mock),
            _ => None,
        }
    }

    /// The transport instances use.
    pub fn transport(&self) -> Transport {
        match &self.source {
            Source::Codex { transport, .. } => *transport,
            Source::Url { .. } => Transport::Ws,
        }
    }

    /// Starts instance `client.name`, connects, and performs the handshake.
    pub async fn start(
        &self,
        client: &ClientInfo,
        handler: Arc<dyn ServerRequestHandler>,
        max_in_flight: Option<usize>,
        timeout: Duration,
        tap: Option<Arc<dyn NotificationTap>>,
    ) -> Result<Instance, LaunchError> {
        let (connection, home) = self.connect(&client.name).await?;
        if let Some(tap) = self.taps.as_ref().and_then(|taps| taps(&client.name)) {
            connection.attach_tap(tap);
        }
        let session = Session::with_limits(
            connection,
            handler,
            max_in_flight.unwrap_or(DEFAULT_MAX_IN_FLIGHT),
            tap,
            self.limits.inbox,
        );
        if let Err(source) = session.initialize(client, timeout).await {
            let stderr = session
                .child()
                .map(|c| c.stderr().tail(5))
                .unwrap_or_default();
            session.shutdown(Duration::from_millis(500)).await;
            tracing::info!(instance = %client.name, error = %source, "instance handshake failed");
            return Err(LaunchError::Initialize {
                stderr,
                error: source,
            });
        }
        tracing::debug!(instance = %client.name, "instance started");
        Ok(Instance { session, home })
    }

    async fn connect(&self, name: &str) -> Result<(Connection, Option<InstanceHome>), LaunchError> {
        match &self.source {
            Source::Url { url, token } => Ok((
                transport::ws::connect(url, token.as_deref(), self.limits.connect_timeout).await?,
                None,
            )),
            Source::Codex {
                bin,
                transport,
                cwd,
                extra_args,
                state_dir,
                scratch,
                ..
            } => {
                let home = self.instance_home(name, state_dir.as_deref(), scratch)?;
                self.install_hooks(bin, home.path(), cwd).await?;
                let spec = ServerSpec {
                    bin: bin.clone(),
                    codex_home: home.path().to_owned(),
                    cwd: cwd.clone(),
                    extra_args: extra_args.clone(),
                    env: Vec::new(),
                };
                let connection = match transport {
                    Transport::Stdio => spec.spawn_stdio()?,
                    Transport::Ws => {
                        let deadline = self.limits.connect_timeout;
                        spec.spawn_ws(deadline).await?.connect(deadline).await?
                    }
                };
                Ok((connection, Some(home)))
            }
        }
    }

    /// In a hermetic home, installs the run's hooks.json and trusts it (freshly installed hooks
    /// are untrusted and silently skipped), before the instance's own server starts.
    async fn install_hooks(&self, bin: &Path, home: &Path, cwd: &Path) -> Result<(), LaunchError> {
        let hermetic = matches!(
            self.homes,
            Some(Homes::Hermetic { .. } | Homes::HermeticFresh { .. })
        );
        if let (
            true,
            Source::Codex {
                hooks: Some((json, dir)),
                ..
            },
        ) = (hermetic, &self.source)
        {
            super::install_and_trust(bin, home, cwd, json, dir)
                .await
                .map_err(|source| LaunchError::Hooks {
                    what: format!("installing and trusting the hooks in {}", home.display()),
                    source,
                })?;
        }
        Ok(())
    }

    fn instance_home(
        &self,
        name: &str,
        state_dir: Option<&Path>,
        scratch: &Path,
    ) -> Result<InstanceHome, LaunchError> {
        if let Some(Homes::AsIs { home }) = &self.homes {
            return Ok(InstanceHome::Kept(home.clone()));
        }
        let home = match state_dir {
            Some(dir) => {
                let path = dir.join(name);
                std::fs::create_dir_all(&path).map_err(prepare(&path))?;
                InstanceHome::Kept(path)
            }
            None => {
                std::fs::create_dir_all(scratch).map_err(prepare(scratch))?;
                let dir = tempfile::Builder::new()
                    .prefix("codex-home-")
                    .tempdir_in(scratch)
                    .map_err(prepare(scratch))?;
                InstanceHome::Temporary(dir)
            }
        };
        // A kept home from an earlier run keeps its state; only its model URL is renewed.
        let reused =
            matches!(home, InstanceHome::Kept(_)) && home.path().join("config.toml").exists();
        let link_skills = matches!(home, InstanceHome::Temporary(_));
        match &self.homes {
            Some(Homes::Hermetic { mock, .. }) if reused => {
                write_hermetic_config(home.path(), &mock.base_url())?
            }
            Some(Homes::Hermetic { template, .. }) => {
                copy_home(template.path(), home.path(), link_skills)?
            }
            Some(Homes::HermeticFresh { mock }) => {
                write_hermetic_config(home.path(), &mock.base_url())?
            }
            Some(Homes::Seeded { user_home }) => seed_home(user_home, home.path())?,
            Some(Homes::AsIs { .. }) | None => {}
        }
        Ok(home)
    }
}

/// Runs codex once in the template home so its databases and helpers exist before copying.
pub(crate) async fn initialise_template(
    bin: &Path,
    template: &HermeticHome,
) -> Result<(), LaunchError> {
    let spec = ServerSpec {
        bin: bin.to_owned(),
        codex_home: template.path().to_owned(),
        cwd: template.workdir(),
        extra_args: Vec::new(),
        env: Vec::new(),
    };
    let session = Session::start(
        spec.spawn_stdio()?,
        Arc::new(crate::policy::ServerRequestPolicy::default()),
    );
    let client = ClientInfo::named("cas-template");
    let result = session.initialize(&client, STARTUP_DEADLINE).await;
    let tail = session
        .child()
        .map(|c| c.stderr().tail(10))
        .unwrap_or_default();
    session.shutdown(Duration::from_secs(5)).await;
    result.map(|_| ()).map_err(|source| LaunchError::Template {
        stderr: tail.trim().to_owned(),
        source,
    })
}
