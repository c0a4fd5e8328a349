//! Finding the real codex, asking its version, and starting `codex app-server` owned by cas.
//!
//! Resolution order: `--codex-bin` > `CAS_CODEX_BIN` > the project's install folder
//! (`scripts/install-codex`) > `PATH`. Every codex invocation runs with an explicit CODEX_HOME
//! (codex writes helper folders under `~/.codex` otherwise). The websocket server binds
//! `ws://127.0.0.1:0`, requires a capability token kept in a 0600 file in a private folder of
//! cas's (never in CODEX_HOME), and its port is read from the stderr banner within a deadline.

use std::ffi::OsString;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::process::Command;
use tokio::time::Instant;

use crate::errors::LaunchError;
use crate::transport::{self, ChildProcess, Connection};

/// The codex version cas is built and tested against.
pub const PINNED_CODEX_VERSION: &str = "0.169.0";

/// Where the project's install script puts codex, relative to the project root.
pub const INSTALL_DIR: &str = ".codex-install";

/// Where to look for codex, gathered in one place so nothing reads the environment behind the caller's back.
#[derive(Debug, Clone, Default)]
pub struct CodexLocator {
    /// `--codex-bin`.
    pub flag: Option<PathBuf>,
    /// `CAS_CODEX_BIN`.
    pub env_bin: Option<PathBuf>,
    /// Project roots whose `.codex-install/` may hold an install.
    pub project_roots: Vec<PathBuf>,
    /// The `PATH` to search last.
    pub path_var: Option<OsString>,
}

impl CodexLocator {
    /// A locator from the process environment, the crate's own folder and the current directory.
    pub fn from_env(flag: Option<PathBuf>) -> CodexLocator {
        let mut roots = vec![PathBuf::from(env!("CARGO_MANIFEST_DIR"))];
        if let Ok(cwd) = std::env::current_dir() {
            roots.push(cwd);
        }
        CodexLocator {
            flag,
            env_bin: std::env::var_os("CAS_CODEX_BIN")
                .filter(|v| !v.is_empty())
                .map(PathBuf::from),
            project_roots: roots,
            path_var: std::env::var_os("PATH"),
        }
    }

    /// Finds the codex binary, or says everywhere it looked.
    pub fn resolve(&self) -> Result<PathBuf, LaunchError> {
        for (given, origin) in [
            (&self.flag, "--codex-bin"),
            (&self.env_bin, "CAS_CODEX_BIN"),
        ] {
            if let Some(path) = given {
                return if is_executable(path) {
                    Ok(path.clone())
                } else {
                    Err(LaunchError::CodexNotExecutable {
                        path: path.clone(),
                        origin,
                    })
                };
            }
        }
        let mut looked = vec![
            "--codex-bin (not given)".to_owned(),
            "CAS_CODEX_BIN (not set)".to_owned(),
        ];
        for root in &self.project_roots {
            let dir = root.join(INSTALL_DIR);
            if let Some(found) = find_installed(&dir) {
                return Ok(found);
            }
            looked.push(dir.display().to_string());
        }
        if let Some(path_var) = &self.path_var {
            for dir in std::env::split_paths(path_var) {
                let candidate = dir.join("codex");
                if is_executable(&candidate) {
                    return Ok(candidate);
                }
            }
        }
        looked.push("PATH".to_owned());
        Err(LaunchError::CodexNotFound {
            looked: looked.join(", "),
        })
    }
}

/// The native binary inside an npm install: `node_modules/@openai/codex-*/vendor/*/bin/codex`.
fn find_installed(install_dir: &Path) -> Option<PathBuf> {
    let scope = install_dir.join("node_modules/@openai");
    let mut packages: Vec<PathBuf> = std::fs::read_dir(&scope)
        .ok()?
        .flatten()
        .map(|e| e.path())
        .collect();
    packages.sort();
    for package in packages {
        let Ok(targets) = std::fs::read_dir(package.join("vendor")) else {
            continue;
        };
        for target in targets.flatten() {
            let bin = target.path().join("bin/codex");
            if is_executable(&bin) {
                return Some(bin);
            }
        }
    }
    None
}

fn is_executable(path: &Path) -> bool {
    std::fs::metadata(path)
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

/// Runs `codex --version` (with `codex_home` as CODEX_HOME) and returns the version, e.g. `0.169.0`.
pub async fn codex_version(bin: &Path, codex_home: &Path) -> Result<String, LaunchError> {
    let fail = |reason: String| LaunchError::Version {
        path: bin.to_owned(),
        reason,
    };
    let mut command = Command::new(bin);
    command
        .arg("--version")
        .env("CODEX_HOME", codex_home)
        .kill_on_drop(true);
    let output = tokio::time::timeout(Duration::from_secs(20), command.output())
        .await
        .map_err(|_| fail("no answer within 20s".into()))?
        .map_err(|e| fail(e.to_string()))?;
    let text = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        return Err(fail(format!(
            "{}: {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        )));
    }
    // "codex-cli 0.169.0"
    text.split_whitespace()
        .nth(1)
        .map(str::to_owned)
        .ok_or_else(|| fail(format!("unexpected output {:?}", text.trim())))
}

/// How to start one `codex app-server`.
#[derive(Debug, Clone)]
pub struct ServerSpec {
    /// The codex binary.
    pub bin: PathBuf,
    /// The CODEX_HOME to give it.
    pub codex_home: PathBuf,
    /// Its working directory (thread/start without cwd uses it).
    pub cwd: PathBuf,
    /// Extra arguments after `app-server`, e.g. `--disable hooks`.
    pub extra_args: Vec<String>,
}

impl ServerSpec {
    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(&self.bin);
        command
            .arg("app-server")
            .args(args)
            .args(&self.extra_args)
            .env("CODEX_HOME", &self.codex_home)
            .env("RUST_LOG", "warn")
            .current_dir(&self.cwd);
        command
    }

    /// Starts the server on stdio and connects to it.
    pub fn spawn_stdio(&self) -> Result<Connection, LaunchError> {
        Ok(transport::stdio::spawn(
            self.command(&[]),
            "codex app-server",
        )?)
    }

    /// Starts the server on `ws://127.0.0.1:0` with a capability token and waits for its banner.
    pub async fn spawn_ws(&self, banner_deadline: Duration) -> Result<WsServer, LaunchError> {
        let token = new_token()?;
        // The token file lives in a private folder of cas's, not in CODEX_HOME (which may be
        // the user's own); codex reads it at startup, and the folder goes with the server.
        let token_dir = tempfile::Builder::new()
            .prefix("cas-ws-token-")
            .tempdir()
            .map_err(|source| LaunchError::Prepare {
                what: "a folder for the websocket token".into(),
                source,
            })?;
        let token_file = token_dir.path().join("token");
        write_private(&token_file, &token)?;
        let token_arg = token_file.display().to_string();
        let command = self.command(&[
            "--listen",
            "ws://127.0.0.1:0",
            "--ws-auth",
            "capability-token",
            "--ws-token-file",
            &token_arg,
        ]);
        let (child, _stdin, _stdout) = ChildProcess::spawn(command, "codex app-server")?;
        let deadline = Instant::now() + banner_deadline;
        let url = child
            .stderr()
            .wait_for(deadline, |line| {
                let rest = line.trim().strip_prefix("listening on: ")?;
                rest.starts_with("ws://").then(|| rest.trim().to_owned())
            })
            .await;
        match url {
            Some(url) => Ok(WsServer {
                child,
                url,
                token,
                _token_dir: token_dir,
            }),
            None => {
                let _ = child.shutdown(Duration::from_millis(100)).await;
                Err(LaunchError::NoBanner {
                    after: banner_deadline,
                    stderr_tail: child.stderr().tail(20),
                })
            }
        }
    }
}

/// A websocket app-server cas started: the process, where it listens, and its token.
pub struct WsServer {
    /// The server process (owned; dies with the last handle).
    pub child: ChildProcess,
    /// The listen URL from the banner, e.g. `ws://127.0.0.1:37715`.
    pub url: String,
    /// The capability token to present as `Authorization: Bearer`.
    pub token: String,
    _token_dir: tempfile::TempDir,
}

impl WsServer {
    /// Opens a websocket connection that owns the server process.
    pub async fn connect(&self, deadline: Duration) -> Result<Connection, LaunchError> {
        let connection = transport::ws::connect(&self.url, Some(&self.token), deadline).await?;
        Ok(connection.with_child(self.child.clone()))
    }
}

/// A fresh random token: 32 hex characters from the OS random source.
pub fn new_token() -> Result<String, LaunchError> {
    use std::io::Read;
    let mut bytes = [0u8; 16];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .map_err(|source| LaunchError::Prepare {
            what: "a random token".into(),
            source,
        })?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// Writes `text` to `path` with mode 0600 (created fresh; replaced if present).
pub fn write_private(path: &Path, text: &str) -> Result<(), LaunchError> {
    let prepare = |source| LaunchError::Prepare {
        what: path.display().to_string(),
        source,
    };
    let _ = std::fs::remove_file(path);
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(prepare)?;
    file.write_all(text.as_bytes()).map_err(prepare)?;
    file.sync_all().map_err(prepare)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn executable(dir: &Path, rel: &str) -> PathBuf {
        let path = dir.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        path
    }

    #[test]
    fn resolves_flag_then_env_then_install_then_path() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let flag = executable(d, "flag/codex");
        let env = executable(d, "env/codex");
        let installed = executable(d, "proj/.codex-install/node_modules/@openai/codex-linux-x64/vendor/x86_64-unknown-linux-musl/bin/codex");
        let on_path = executable(d, "bin/codex");
        let mut loc = CodexLocator {
            flag: Some(flag.clone()),
            env_bin: Some(env.clone()),
            project_roots: vec![d.join("proj")],
            path_var: Some(d.join("bin").into_os_string()),
        };
        assert_eq!(loc.resolve().unwrap(), flag);
        loc.flag = None;
        assert_eq!(loc.resolve().unwrap(), env);
        loc.env_bin = None;
        assert_eq!(loc.resolve().unwrap(), installed);
        loc.project_roots.clear();
        assert_eq!(loc.resolve().unwrap(), on_path);
        loc.path_var = None;
        let err = loc.resolve().unwrap_err().to_string();
        assert!(
            err.contains("no codex binary found")
                && err.contains("hint: run scripts/install-codex"),
            "{err}"
        );
        loc.env_bin = Some(d.join("missing"));
        assert!(matches!(
            loc.resolve(),
            Err(LaunchError::CodexNotExecutable {
                origin: "CAS_CODEX_BIN",
                ..
            })
        ));
    }

    #[test]
    fn private_files_are_mode_0600() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        write_private(&path, "abc").unwrap();
        write_private(&path, "def").unwrap();
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "def");
        assert_eq!(new_token().unwrap().len(), 32);
    }
}
