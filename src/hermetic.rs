//! Fresh CODEX_HOMEs whose model provider is the mock model: no network, no tokens.
//!
//! A home is a temporary directory (removed on drop) that is never under the system temp dir,
//! because codex refuses to create its helper aliases there. It holds `config.toml` (provider at
//! the mock, retries 0, `plugins = false` so startup makes no outbound connections) and a `work/`
//! folder used as the server's cwd.

use std::path::{Path, PathBuf};
use tempfile::TempDir;

use crate::errors::LaunchError;

/// A fresh CODEX_HOME configured for the mock model.
pub struct HermeticHome {
    dir: TempDir,
}

impl HermeticHome {
    /// Creates a home under `root` (created if missing) pointing at `model_base_url`.
    pub fn create(root: &Path, model_base_url: &str) -> Result<HermeticHome, LaunchError> {
        let prepare = |what: String| move |source| LaunchError::Prepare { what, source };
        std::fs::create_dir_all(root).map_err(prepare(root.display().to_string()))?;
        let dir = tempfile::Builder::new()
            .prefix("codex-home-")
            .tempdir_in(root)
            .map_err(prepare(format!("a CODEX_HOME under {}", root.display())))?;
        let config = dir.path().join("config.toml");
        std::fs::write(&config, config_toml(model_base_url))
            .map_err(prepare(config.display().to_string()))?;
        let work = dir.path().join("work");
        std::fs::create_dir_all(&work).map_err(prepare(work.display().to_string()))?;
        Ok(HermeticHome { dir })
    }

    /// The CODEX_HOME path.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The working directory for the server and its threads.
    pub fn workdir(&self) -> PathBuf {
        self.dir.path().join("work")
    }
}

/// The config.toml of a hermetic home.
pub fn config_toml(model_base_url: &str) -> String {
    format!(
        r#"model = "mock-model"
approval_policy = "never"
sandbox_mode = "read-only"
model_provider = "mock_provider"

[features]
plugins = false

[model_providers.mock_provider]
name = "cas mock model"
base_url = "{model_base_url}"
wire_api = "responses"
request_max_retries = 0
stream_max_retries = 0
supports_websockets = false
"#
    )
}

/// Where the CLI keeps hermetic homes: `$XDG_STATE_HOME/cas/homes`, `~/.local/state/cas/homes`,
/// or `./.cas/homes` when neither is known.
pub fn default_root() -> PathBuf {
    let state = std::env::var_os("XDG_STATE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/state")));
    match state {
        Some(dir) => dir.join("cas/homes"),
        None => PathBuf::from(".cas/homes"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creates_a_home_with_config_and_workdir_and_removes_it_on_drop() {
        let root = tempfile::tempdir().unwrap();
        let home =
            HermeticHome::create(&root.path().join("homes"), "http://127.0.0.1:9/v1").unwrap();
        let config = std::fs::read_to_string(home.path().join("config.toml")).unwrap();
        let parsed: toml::Table = toml::from_str(&config).unwrap();
        assert_eq!(
            parsed["model_providers"]["mock_provider"]["base_url"].as_str(),
            Some("http://127.0.0.1:9/v1")
        );
        assert_eq!(parsed["features"]["plugins"].as_bool(), Some(false));
        assert!(home.workdir().is_dir());
        let path = home.path().to_owned();
        drop(home);
        assert!(!path.exists());
    }
}
