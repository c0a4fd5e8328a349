//! What a scenario adds to the server it starts: environment, config keys, home files, args.
//!
//! A scenario's `[server]` table. The `config` table is merged key by key into the hermetic
//! `config.toml` (tables merge, other values replace); `home_files` are written into the
//! CODEX_HOME before launch (skills, `AGENTS.md`); `env` is set on the server process; `args`
//! follow `app-server` and cas's own flags. They apply to the real codex only.

use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Component, Path};

use super::files::prepare;
use super::home::{copy_tree, merge_config};
use crate::errors::LaunchError;

/// The `[server]` table of a scenario.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ServerExtras {
    /// Environment variables of the server process.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// Keys merged into the server's `config.toml`.
    #[serde(default)]
    pub config: toml::Table,
    /// Files written into CODEX_HOME before launch: relative path → contents.
    #[serde(default)]
    pub home_files: BTreeMap<String, String>,
    /// Extra `app-server` arguments.
    #[serde(default)]
    pub args: Vec<String>,
}

impl ServerExtras {
    /// Whether the table adds nothing.
    pub fn is_empty(&self) -> bool {
        self == &ServerExtras::default()
    }

    /// What is wrong with the table, if anything: a home file path must be relative and
    /// stay inside CODEX_HOME, and `config` may not move the model provider.
    pub fn problem(&self) -> Option<String> {
        if let Some(bad) = self.home_files.keys().find(|p| !is_inside(p)) {
            return Some(format!(
                "server.home_files: {bad:?} must be a relative path inside CODEX_HOME"
            ));
        }
        let owned = ["model_provider", "model_providers"];
        if let Some(key) = owned.iter().find(|k| self.config.contains_key(**k)) {
            return Some(format!(
                "server.config may not set {key}: the hermetic home's provider is the mock model"
            ));
        }
        None
    }

    /// Writes the home files and merges the config keys into the home at `home`.
    pub fn apply(&self, home: &Path) -> Result<(), LaunchError> {
        for (rel, contents) in &self.home_files {
            own_folders(home, rel)?;
            let path = home.join(rel);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).map_err(prepare(parent))?;
            }
            std::fs::write(&path, contents).map_err(prepare(&path))?;
        }
        if self.config.is_empty() {
            return Ok(());
        }
        merge_config(home, &self.config)
    }
}

/// Replaces each linked folder on the way to `rel` (a template copy links its `skills/`)
/// by a real copy, so a home file lands in this home and never in the shared template.
fn own_folders(home: &Path, rel: &str) -> Result<(), LaunchError> {
    let mut folder = home.to_path_buf();
    let parents = Path::new(rel)
        .parent()
        .into_iter()
        .flat_map(Path::components);
    for part in parents {
        folder.push(part);
        let linked = std::fs::symlink_metadata(&folder).is_ok_and(|m| m.file_type().is_symlink());
        if linked {
            let shared = std::fs::read_link(&folder).map_err(prepare(&folder))?;
            let shared = folder.parent().unwrap_or(home).join(shared);
            std::fs::remove_file(&folder).map_err(prepare(&folder))?;
            copy_tree(&shared, &folder).map_err(prepare(&folder))?;
        }
    }
    Ok(())
}

/// Whether `rel` is a non-empty relative path with no `..`.
pub(crate) fn is_inside(rel: &str) -> bool {
    let path = Path::new(rel);
    !rel.is_empty()
        && path
            .components()
            .all(|c| matches!(c, Component::Normal(_) | Component::CurDir))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn applies_home_files_and_config_keys() {
        let root = tempfile::tempdir().unwrap();
        crate::launch::write_hermetic_config(root.path(), "http://127.0.0.1:9/v1").unwrap();
        let extras: ServerExtras = toml::from_str(
            r#"
            env = { A = "1" }
            args = ["--enable", "x"]
            config = { approval_policy = "on-request", features = { hooks = false } }
            home_files = { "AGENTS.md" = "be brief", "skills/s/SKILL.md" = "---\nname: s\n---" }
            "#,
        )
        .unwrap();
        assert_eq!(extras.problem(), None);
        extras.apply(root.path()).unwrap();
        let text = std::fs::read_to_string(root.path().join("config.toml")).unwrap();
        let config: toml::Table = toml::from_str(&text).unwrap();
        assert_eq!(config["approval_policy"].as_str(), Some("on-request"));
        assert_eq!(config["features"]["hooks"].as_bool(), Some(false));
        assert_eq!(
            config["features"]["plugins"].as_bool(),
            Some(false),
            "tables merge"
        );
        assert_eq!(config["model_provider"].as_str(), Some("mock_provider"));
        let agents = std::fs::read_to_string(root.path().join("AGENTS.md")).unwrap();
        assert_eq!(agents, "be brief");
        assert!(root.path().join("skills/s/SKILL.md").is_file());
    }

    #[test]
    fn home_files_under_a_linked_folder_never_reach_the_template() {
        let root = tempfile::tempdir().unwrap();
        let template = root.path().join("template");
        std::fs::create_dir_all(template.join("skills/.system")).unwrap();
        std::fs::write(template.join("skills/.system/marker"), "m").unwrap();
        let home = root.path().join("home");
        crate::launch::home::copy_home(&template, &home, true).unwrap();
        assert!(home.join("skills").is_symlink(), "the copy links skills/");
        let extras: ServerExtras =
            toml::from_str(r#"home_files = { "skills/demo/SKILL.md" = "demo" }"#).unwrap();
        extras.apply(&home).unwrap();
        assert!(
            !home.join("skills").is_symlink(),
            "the linked folder became a copy"
        );
        assert_eq!(
            std::fs::read_to_string(home.join("skills/demo/SKILL.md")).unwrap(),
            "demo"
        );
        assert!(
            home.join("skills/.system/marker").is_file(),
            "the copy keeps the template's files"
        );
        assert!(
            !template.join("skills/demo").exists(),
            "the template is untouched"
        );
    }

    #[test]
    fn refuses_escaping_paths_and_provider_keys() {
        let extras = |t: &str| toml::from_str::<ServerExtras>(t).unwrap();
        assert!(extras("home_files = { \"../x\" = \"\" }")
            .problem()
            .is_some());
        assert!(extras("home_files = { \"/etc/x\" = \"\" }")
            .problem()
            .is_some());
        assert!(extras("config = { model_provider = \"openai\" }")
            .problem()
            .is_some());
        assert!(extras("").is_empty());
        assert!(!extras("args = [\"-c\", \"x=1\"]").is_empty());
    }
}
