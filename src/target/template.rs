//! A codex home initialised once per suite run and copied for each codex scenario.
//!
//! A fresh CODEX_HOME makes codex create its databases and helpers on first start; doing that
//! once per run (as `instance_runner` does) and copying the result saves that time on every
//! codex scenario. Each copy gets its own installation id and its own mock model URL.

use std::path::{Path, PathBuf};

use crate::errors::LaunchError;
use crate::launch::home::{copy_home, write_hermetic_config};
use crate::launch::{self, HermeticHome};

/// An initialised hermetic home, the codex that initialised it, and that codex's version.
pub struct CodexTemplate {
    home: HermeticHome,
    bin: PathBuf,
    version: String,
}

impl std::fmt::Debug for CodexTemplate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CodexTemplate")
            .field("home", &self.home.path())
            .field("bin", &self.bin)
            .field("version", &self.version)
            .finish()
    }
}

impl CodexTemplate {
    /// Initialises a template home under `scratch` with `bin`, whose `codex --version` is
    /// `version` (one start and handshake).
    pub async fn create(
        bin: &Path,
        version: &str,
        scratch: &Path,
    ) -> Result<CodexTemplate, LaunchError> {
        // The template's own model URL is never used: each copy gets its run's mock model.
        let home = HermeticHome::create(scratch, "http://127.0.0.1:9/v1")?;
        launch::instances::initialise_template(bin, &home).await?;
        Ok(CodexTemplate {
            home,
            bin: bin.to_owned(),
            version: version.to_owned(),
        })
    }

    /// Whether the template was made by `bin` (a copy only serves that codex).
    pub fn serves(&self, bin: &Path) -> bool {
        self.bin == bin
    }

    /// The version of the codex that made it.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// Fills `home` (a fresh hermetic home) with a copy of the template pointing at
    /// `model_base_url`.
    pub fn copy_into(&self, home: &HermeticHome, model_base_url: &str) -> Result<(), LaunchError> {
        copy_home(self.home.path(), home.path(), true)?;
        write_hermetic_config(home.path(), model_base_url)
    }
}
