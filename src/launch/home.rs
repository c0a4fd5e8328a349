//! CODEX_HOMEs for the servers cas starts: hermetic homes, template copies, seeded homes.
//!
//! A hermetic home is a temporary directory (removed on drop) that is never under the system
//! temp dir, because codex refuses to create its helper aliases there. It holds `config.toml`
//! (provider at the mock model, retries 0, `plugins = false` so startup makes no outbound
//! connections) and a `work/` folder used as the server's cwd. That config is written by
//! [`write_hermetic_config`] and nowhere else. A template home, initialised once by a codex, is
//! copied per instance with its own installation id; a home of the user's runtime is seeded
//! with their `config.toml` and `auth.json`.

use std::path::{Path, PathBuf};
use tempfile::TempDir;

use super::files::{new_token, prepare};
use crate::errors::LaunchError;

/// A fresh CODEX_HOME configured for the mock model.
pub struct HermeticHome {
    dir: TempDir,
}

impl HermeticHome {
    /// Creates a home under `root` (created if missing) pointing at `model_base_url`.
    pub fn create(root: &Path, model_base_url: &str) -> Result<HermeticHome, LaunchError> {
        std::fs::create_dir_all(root).map_err(prepare(root))?;
        let dir = tempfile::Builder::new()
            .prefix("codex-home-")
            .tempdir_in(root)
            .map_err(|source| LaunchError::Prepare {
                what: format!("a CODEX_HOME under {}", root.display()),
                source,
            })?;
        write_hermetic_config(dir.path(), model_base_url)?;
        let work = dir.path().join("work");
        std::fs::create_dir_all(&work).map_err(prepare(&work))?;
        tracing::debug!(home = %dir.path().display(), "hermetic home created");
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

/// Writes the `config.toml` of a hermetic home at `home` (created if missing), its model
/// provider pointing at `model_base_url`; an existing config is replaced.
pub fn write_hermetic_config(home: &Path, model_base_url: &str) -> Result<(), LaunchError> {
    std::fs::create_dir_all(home).map_err(prepare(home))?;
    let config = home.join("config.toml");
    std::fs::write(&config, config_toml(model_base_url)).map_err(prepare(&config))
}

/// Merges `extra` into the `config.toml` at `home`: tables merge key by key, other values
/// replace what is there.
pub fn merge_config(home: &Path, extra: &toml::Table) -> Result<(), LaunchError> {
    let path = home.join("config.toml");
    let text = std::fs::read_to_string(&path).map_err(prepare(&path))?;
    let mut config: toml::Table = toml::from_str(&text).map_err(|source| LaunchError::Config {
        path: path.clone(),
        source: Box::new(source),
    })?;
    merge_tables(&mut config, extra);
    std::fs::write(&path, config.to_string()).map_err(prepare(&path))
}

fn merge_tables(into: &mut toml::Table, extra: &toml::Table) {
    for (key, value) in extra {
        match (into.get_mut(key), value) {
            (Some(toml::Value::Table(have)), toml::Value::Table(more)) => merge_tables(have, more),
            _ => {
                into.insert(key.clone(), value.clone());
            }
        }
    }
}

/// The config.toml of a hermetic home.
fn config_toml(model_base_url: &str) -> String {
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
    let id = new_uuid()?;
    std::fs::write(dest.join("installation_id"), id).map_err(prepare(dest))
}

/// Copies the folder `from` to `to`, links as links.
pub(super) fn copy_tree(from: &Path, to: &Path) -> std::io::Result<()> {
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
pub fn seed_home(user_home: &Path, dest: &Path) -> Result<(), LaunchError> {
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
pub fn new_uuid() -> Result<String, LaunchError> {
    let hex = new_token()?;
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
        let is_link = |p: &Path| p.symlink_metadata().unwrap().file_type().is_symlink();
        assert!(b.join("skills").is_dir() && !is_link(&b.join("skills")));
        let id = |p: &Path| std::fs::read_to_string(p.join("installation_id")).unwrap();
        assert_ne!(id(&a), id(&b));
        assert_ne!(id(&a), "same");
        assert_eq!(id(&a).len(), 36);
        assert!(a.join("sessions/2026/x").is_file());
        assert!(is_link(&a.join("skills")));
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
