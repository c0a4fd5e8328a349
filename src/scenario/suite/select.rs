//! Which scenarios a `cas conformance` run runs, and on which target each one runs.
//!
//! A name selects every scenario file with that name or reported under it (`part_of`), in snake
//! or kebab case; a `.toml` path selects that file. With no names, every scenario that is not a
//! negative twin and has a way to run on the chosen target is selected. A scenario runs on the
//! chosen target when it lists it; a local scenario runs locally; a synthetic one runs on the
//! fake; a codex scenario follows the chosen codex to the transport it lists.

use std::path::{Path, PathBuf};

use crate::errors::ScenarioError;
use crate::scenario::format::Mode;
use crate::scenario::{self, Scenario, TargetName};

/// One scenario to run, and where.
pub struct Selected {
    /// The loaded scenario.
    pub scenario: Scenario,
    /// The target it runs on in this suite.
    pub target: TargetName,
}

/// Why the selection failed (cas cannot run: exit 2).
#[derive(Debug, thiserror::Error)]
pub enum SelectError {
    /// A scenario file could not be found, read or loaded.
    #[error(transparent)]
    Scenario(#[from] ScenarioError),
    /// The scenarios folder holds no scenario file.
    #[error("no scenario files under {}", .0.display())]
    NoFiles(PathBuf),
    /// A `.toml` path named on the command line does not exist.
    #[error("no scenario file {0}")]
    NoFile(String),
    /// A selected scenario does not list the chosen target nor has a way to run on it.
    #[error("scenario {name} does not run on {chosen} (its targets: {listed})")]
    WrongTarget {
        /// The scenario.
        name: String,
        /// The suite's target.
        chosen: TargetName,
        /// The targets it lists.
        listed: String,
    },
}

/// The target `scenario` runs on when the suite's target is `chosen`, if it has one.
pub fn run_target(scenario: &Scenario, chosen: TargetName) -> Option<TargetName> {
    let listed = &scenario.targets;
    if listed.contains(&chosen) {
        return Some(chosen);
    }
    if listed.contains(&TargetName::Local) {
        return Some(TargetName::Local);
    }
    if chosen.is_codex() {
        if let Some(codex) = listed.iter().find(|t| t.is_codex()) {
            return Some(*codex);
        }
    }
    if scenario.mode == Mode::Synthetic {
        return listed.iter().find(|t| !t.is_codex()).copied();
    }
    None
}

/// Loads the scenarios under `dir` that `names` select, each with its target.
pub fn select(
    dir: &Path,
    names: &[String],
    chosen: TargetName,
) -> Result<Vec<Selected>, SelectError> {
    let files = scenario::discover(dir)?;
    if files.is_empty() {
        return Err(SelectError::NoFiles(dir.to_owned()));
    }
    let mut picked: Vec<PathBuf> = Vec::new();
    let mut all = Vec::new();
    for path in &files {
        match scenario::load(dir, path) {
            Ok(s) => all.push(s),
            Err(e) if names.is_empty() => return Err(e.into()),
            Err(_) => {}
        }
    }
    if names.is_empty() {
        picked.extend(
            all.iter()
                .filter(|s| s.twin_of.is_none() && run_target(s, chosen).is_some())
                .map(|s| s.path.clone()),
        );
    }
    for name in names {
        let mut found = by_name(dir, name, &all)?;
        // A group (several files reported under one name) runs the members that can run here.
        if found.len() > 1 {
            let runnable: Vec<PathBuf> = found
                .iter()
                .filter(|p| {
                    all.iter()
                        .any(|s| &s.path == *p && run_target(s, chosen).is_some())
                })
                .cloned()
                .collect();
            if !runnable.is_empty() {
                found = runnable;
            }
        }
        picked.extend(found);
    }
    load_selected(dir, picked, chosen)
}

/// Loads each picked file once, with the target it runs on here.
fn load_selected(
    dir: &Path,
    picked: Vec<PathBuf>,
    chosen: TargetName,
) -> Result<Vec<Selected>, SelectError> {
    let mut selected = Vec::new();
    for path in picked {
        if selected.iter().any(|s: &Selected| s.scenario.path == path) {
            continue;
        }
        let scenario = scenario::load(dir, &path)?;
        let Some(target) = run_target(&scenario, chosen) else {
            let listed: Vec<&str> = scenario.targets.iter().map(|t| t.as_str()).collect();
            return Err(SelectError::WrongTarget {
                name: scenario.name.clone(),
                chosen,
                listed: listed.join(", "),
            });
        };
        selected.push(Selected { scenario, target });
    }
    Ok(selected)
}

fn by_name(dir: &Path, name: &str, all: &[Scenario]) -> Result<Vec<PathBuf>, SelectError> {
    let as_path = Path::new(name);
    if name.ends_with(".toml") || as_path.is_file() {
        return if as_path.is_file() {
            Ok(vec![as_path.to_owned()])
        } else {
            Err(SelectError::NoFile(name.to_owned()))
        };
    }
    let wanted = name.replace('-', "_");
    let matching: Vec<PathBuf> = all
        .iter()
        .filter(|s| s.name == wanted || (s.report_name == wanted && s.twin_of.is_none()))
        .map(|s| s.path.clone())
        .collect();
    if !matching.is_empty() {
        return Ok(matching);
    }
    // A file that exists but does not load: say why.
    if let Ok(path) = scenario::find(dir, &wanted) {
        return match scenario::load(dir, &path) {
            Err(e) => Err(e.into()),
            Ok(_) => Ok(vec![path]),
        };
    }
    let mut known: Vec<&str> = all.iter().map(|s| s.report_name.as_str()).collect();
    known.extend(all.iter().map(|s| s.name.as_str()));
    known.sort_unstable();
    known.dedup();
    Err(ScenarioError::Unknown {
        name: name.to_owned(),
        dir: dir.to_owned(),
        known: known.join(", "),
    }
    .into())
}
