//! Finding the real codex and asking its version.
//!
//! Resolution order: `--codex-bin` > `CAS_CODEX_BIN` > the project's install folder
//! (`scripts/install-codex`) > `PATH`. Every codex invocation runs with an explicit CODEX_HOME
//! (codex writes helper folders under `~/.codex` otherwise).

use std::ffi::OsString;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::process::Command;

use crate::errors::LaunchError;

/// The codex version cas is built and tested against.
pub const PINNED_CODEX_VERSION: &str = "0.171.0";

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

/// The native binary inside an npm install: `node_modules/@openai/codex-*/vendor/*/bin/codex`
/// (or `vendor/*/codex/codex`, the layout of 0.118.x).
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
            for rel in ["bin/codex", "codex/codex"] {
                let bin = target.path().join(rel);
                if is_executable(&bin) {
                    return Some(bin);
                }
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
        .map_err(|source| LaunchError::VersionRun {
            path: bin.to_owned(),
            source,
        })?;
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
}
