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

use crate::errors::LaunchError;
use crate::hermetic::HermeticHome;
use crate::launch::{self, ServerSpec};
use crate::mock_model::MockModel;
use crate::protocol::ClientInfo;
use crate::session::{NotificationTap, ServerRequestHandler, Session, DEFAULT_MAX_IN_FLIGHT};
use crate::transport::{self, Connection};

/// How long a server may take to print its banner or accept a connection.
const STARTUP_DEADLINE: Duration = Duration::from_secs(20);

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
        /// stdio or ws.
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
        Ok(Launcher { source, homes })
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
    ) -> Result<Instance, String> {
        let (connection, home) = self
            .connect(&client.name)
            .await
            .map_err(|e| e.to_string())?;
        let session = Session::with_options(
            connection,
            handler,
            max_in_flight.unwrap_or(DEFAULT_MAX_IN_FLIGHT),
            tap,
        );
        if let Err(e) = session.initialize(client, timeout).await {
            let tail = session
                .child()
                .map(|c| c.stderr().tail(5))
                .unwrap_or_default();
            session.shutdown(Duration::from_millis(500)).await;
            return Err(format!(
                "initialize: {e}{}",
                if tail.trim().is_empty() {
                    String::new()
                } else {
                    format!("; stderr: {}", tail.trim())
                }
            ));
        }
        Ok(Instance { session, home })
    }

    async fn connect(&self, name: &str) -> Result<(Connection, Option<InstanceHome>), LaunchError> {
        match &self.source {
            Source::Url { url, token } => Ok((
                transport::ws::connect(url, token.as_deref(), STARTUP_DEADLINE).await?,
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
                };
                let connection = match transport {
                    Transport::Stdio => spec.spawn_stdio()?,
                    Transport::Ws => {
                        spec.spawn_ws(STARTUP_DEADLINE)
                            .await?
                            .connect(STARTUP_DEADLINE)
                            .await?
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
            crate::hooks::install_and_trust(bin, home, cwd, json, dir)
                .await
                .map_err(|e| LaunchError::Prepare {
                    what: format!("installing and trusting the hooks in {}", home.display()),
                    source: std::io::Error::other(e),
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
                let config = home.path().join("config.toml");
                std::fs::write(&config, crate::hermetic::config_toml(&mock.base_url()))
                    .map_err(prepare(&config))?
            }
            Some(Homes::Hermetic { template, .. }) => {
                copy_home(template.path(), home.path(), link_skills)?
            }
            Some(Homes::HermeticFresh { mock }) => {
                let config = home.path().join("config.toml");
                std::fs::write(&config, crate::hermetic::config_toml(&mock.base_url()))
                    .map_err(prepare(&config))?
            }
            Some(Homes::Seeded { user_home }) => seed_home(user_home, home.path())?,
            Some(Homes::AsIs { .. }) | None => {}
        }
        Ok(home)
    }
}

fn prepare(path: &Path) -> impl FnOnce(std::io::Error) -> LaunchError + '_ {
    move |source| LaunchError::Prepare {
        what: path.display().to_string(),
        source,
    }
}

/// Runs codex once in the template home so its databases and helpers exist before copying.
async fn initialise_template(bin: &Path, template: &HermeticHome) -> Result<(), LaunchError> {
    let spec = ServerSpec {
        bin: bin.to_owned(),
        codex_home: template.path().to_owned(),
        cwd: template.workdir(),
        extra_args: Vec::new(),
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
    result.map(|_| ()).map_err(|e| LaunchError::Prepare {
        what: format!("the template CODEX_HOME (stderr: {})", tail.trim()),
        source: std::io::Error::other(e.to_string()),
    })
}

/// Copies a template home; the copy gets its own installation id. With
/// `link_skills` the bundled `skills/` folder (dozens of files codex only reads) is linked,
/// not copied: on a slow filesystem copying it dominated a 12-instance start. Homes that
/// outlive the run (and so the template) get a real copy.
pub fn copy_home(template: &Path, dest: &Path, link_skills: bool) -> Result<(), LaunchError> {
    std::fs::create_dir_all(dest).map_err(prepare(dest))?;
    for entry in std::fs::read_dir(template).map_err(prepare(template))? {
        let entry = entry.map_err(prepare(template))?;
        let target = dest.join(entry.file_name());
        if link_skills && entry.file_name() == "skills" {
            std::os::unix::fs::symlink(entry.path(), &target).map_err(prepare(&target))?;
        } else if entry.file_type().map_err(prepare(&target))?.is_dir() {
            copy_tree(&entry.path(), &target).map_err(prepare(&target))?;
        } else {
            std::fs::copy(entry.path(), &target).map_err(prepare(&target))?;
        }
    }
    let id = new_uuid().map_err(prepare(dest))?;
    std::fs::write(dest.join("installation_id"), id).map_err(prepare(dest))
}

fn copy_tree(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let kind = entry.file_type()?;
        let target = to.join(entry.file_name());
        if kind.is_dir() {
            copy_tree(&entry.path(), &target)?;
        } else if kind.is_symlink() {
            let link = std::fs::read_link(entry.path())?;
            let _ = std::fs::remove_file(&target);
            std::os::unix::fs::symlink(link, &target)?;
        } else {
            std::fs::copy(entry.path(), &target)?;
        }
    }
    Ok(())
}

/// The user's CODEX_HOME: `$CODEX_HOME`, else `~/.codex`.
pub fn user_codex_home() -> PathBuf {
    match std::env::var_os("CODEX_HOME").filter(|v| !v.is_empty()) {
        Some(home) => PathBuf::from(home),
        None => std::env::var_os("HOME")
            .map(PathBuf::from)
            .unwrap_or_default()
            .join(".codex"),
    }
}

/// Seeds an instance home with the user's `config.toml` and `auth.json`, when present.
fn seed_home(user_home: &Path, dest: &Path) -> Result<(), LaunchError> {
    for name in ["config.toml", "auth.json"] {
        let from = user_home.join(name);
        let to = dest.join(name);
        if from.is_file() && !to.exists() {
            std::fs::copy(&from, &to).map_err(prepare(&to))?;
        }
    }
    Ok(())
}

/// A random version-4 UUID.
pub fn new_uuid() -> std::io::Result<String> {
    let hex = launch::new_token().map_err(|e| std::io::Error::other(e.to_string()))?;
    let b = hex.as_bytes();
    let s = |r: std::ops::Range<usize>| String::from_utf8_lossy(&b[r]).into_owned();
    Ok(format!(
        "{}-{}-4{}-8{}-{}",
        s(0..8),
        s(8..12),
        s(13..16),
        s(17..20),
        s(20..32)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_copied_home_has_its_own_installation_id() {
        let root = tempfile::tempdir().unwrap();
        let template = root.path().join("t");
        std::fs::create_dir_all(template.join("sessions/2026")).unwrap();
        std::fs::write(template.join("config.toml"), "model = \"m\"\n").unwrap();
        std::fs::write(template.join("installation_id"), "same").unwrap();
        std::fs::write(template.join("sessions/2026/x"), "x").unwrap();
        std::fs::create_dir_all(template.join("skills/.system")).unwrap();
        std::fs::write(template.join("skills/.system/marker"), "m").unwrap();
        let (a, b) = (root.path().join("a"), root.path().join("b"));
        copy_home(&template, &a, true).unwrap();
        copy_home(&template, &b, false).unwrap();
        assert!(
            b.join("skills").is_dir()
                && !b
                    .join("skills")
                    .symlink_metadata()
                    .unwrap()
                    .file_type()
                    .is_symlink()
        );
        let id = |p: &Path| std::fs::read_to_string(p.join("installation_id")).unwrap();
        assert_ne!(id(&a), id(&b));
        assert_ne!(id(&a), "same");
        assert_eq!(id(&a).len(), 36);
        assert!(a.join("sessions/2026/x").is_file());
        assert!(a
            .join("skills")
            .symlink_metadata()
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(
            std::fs::read_to_string(a.join("skills/.system/marker")).unwrap(),
            "m"
        );
        assert_eq!(
            std::fs::read_to_string(a.join("config.toml")).unwrap(),
            "model = \"m\"\n"
        );
        std::fs::remove_dir_all(&a).unwrap();
        assert!(
            template.join("skills/.system/marker").is_file(),
            "removing a copy keeps the template"
        );
    }

    #[test]
    fn seeding_copies_config_and_auth_only() {
        let root = tempfile::tempdir().unwrap();
        let user = root.path().join("user");
        std::fs::create_dir_all(user.join("sessions")).unwrap();
        std::fs::write(user.join("config.toml"), "c").unwrap();
        std::fs::write(user.join("auth.json"), "{}").unwrap();
        let dest = root.path().join("dest");
        std::fs::create_dir_all(&dest).unwrap();
        seed_home(&user, &dest).unwrap();
        assert!(dest.join("config.toml").is_file() && dest.join("auth.json").is_file());
        assert!(!dest.join("sessions").exists());
    }
}
