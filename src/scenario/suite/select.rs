//! Which scenarios a `cas conformance` run runs, and on which target each one runs.
//!
//! A name selects every scenario file with that name or reported under it (`part_of`), in snake
//! or kebab case; a name with `*`, `?` or `[` is a glob over those names (`threads/*`); a
//! `.toml` path selects that file. With no names, every scenario that is not a negative twin
//! and has a way to run on the chosen target is selected. `--exclude` takes the same names and
//! globs. A scenario runs on the chosen target when it lists it; a local scenario runs locally;
//! a synthetic one runs on the fake; a codex scenario follows the chosen codex to the transport
//! it lists. A selected file that does not load is [`Broken`]: the suite reports it as that
//! scenario's error and runs the rest.

use globset::{Glob, GlobMatcher};
use std::path::{Path, PathBuf};

use super::compat::NotApplicable;
use crate::errors::{Chain, ScenarioError};
use crate::scenario::format::Mode;
use crate::scenario::{self, Scenario, TargetName};

/// One scenario to run, and where.
pub struct Selected {
    /// The loaded scenario.
    pub scenario: Scenario,
    /// The target it runs on in this suite.
    pub target: TargetName,
    /// Why it cannot run on this codex, if it cannot (set once the codex is checked).
    pub not_applicable: Option<NotApplicable>,
}

/// A selected scenario file that does not load.
#[derive(Debug, Clone)]
pub struct Broken {
    /// Its scenario name (path under the folder, without `.toml`).
    pub name: String,
    /// The file.
    pub path: PathBuf,
    /// Why it does not load, with its causes.
    pub error: String,
}

/// What a selection picked: the scenarios to run and the files that did not load.
#[derive(Default)]
pub struct Selection {
    /// The scenarios, in the order they were named (files in name order).
    pub selected: Vec<Selected>,
    /// The files that did not load, in the same order.
    pub broken: Vec<Broken>,
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
    /// A glob is not a valid pattern.
    #[error("bad scenario pattern {pattern:?}")]
    Pattern {
        /// The pattern as given.
        pattern: String,
        /// Why it does not parse.
        #[source]
        source: globset::Error,
    },
    /// A glob matched no scenario.
    #[error("no scenario matches {pattern:?} in {}", dir.display())]
    NoMatch {
        /// The pattern as given.
        pattern: String,
        /// The scenarios folder.
        dir: PathBuf,
    },
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

/// Every scenario file under `dir`: the ones that load, and the ones that do not.
pub fn load_all(dir: &Path) -> Result<(Vec<Scenario>, Vec<Broken>), SelectError> {
    let files = scenario::discover(dir)?;
    if files.is_empty() {
        return Err(SelectError::NoFiles(dir.to_owned()));
    }
    let (mut all, mut broken) = (Vec::new(), Vec::new());
    for path in &files {
        match scenario::load(dir, path) {
            Ok(s) => all.push(s),
            Err(e) => broken.push(Broken {
                name: scenario::name_of(dir, path),
                path: path.clone(),
                error: Chain(&e).to_string(),
            }),
        }
    }
    Ok((all, broken))
}

/// Loads the scenarios under `dir` that `names` select and `excludes` do not, each with its
/// target; files that do not load are returned as [`Broken`].
pub fn select(
    dir: &Path,
    names: &[String],
    excludes: &[String],
    chosen: TargetName,
) -> Result<Selection, SelectError> {
    let (all, broken) = load_all(dir)?;
    let mut picked: Vec<PathBuf> = Vec::new();
    if names.is_empty() {
        picked.extend(
            all.iter()
                .filter(|s| s.twin_of.is_none() && run_target(s, chosen).is_some())
                .map(|s| s.path.clone()),
        );
        picked.extend(broken.iter().map(|b| b.path.clone()));
    }
    for name in names {
        picked.extend(by_name(dir, name, &all, &broken, chosen)?);
    }
    let excluded = Patterns::new(excludes)?;
    picked.retain(|path| {
        let named = all.iter().find(|s| &s.path == path);
        let (name, report) = match named {
            Some(s) => (s.name.clone(), s.report_name.clone()),
            None => {
                let name = scenario::name_of(dir, path);
                (name.clone(), name)
            }
        };
        !excluded.matches(&name) && !excluded.matches(&report)
    });
    gather(dir, picked, &all, &broken, chosen)
}

/// Each picked file once (first mention wins), with the target it runs on here.
fn gather(
    dir: &Path,
    picked: Vec<PathBuf>,
    all: &[Scenario],
    broken: &[Broken],
    chosen: TargetName,
) -> Result<Selection, SelectError> {
    let mut seen = std::collections::HashSet::new();
    let mut selection = Selection::default();
    for path in picked.into_iter().filter(|p| seen.insert(p.clone())) {
        if let Some(b) = broken.iter().find(|b| b.path == path) {
            selection.broken.push(b.clone());
            continue;
        }
        let scenario = match all.iter().find(|s| s.path == path) {
            Some(s) => s.clone(),
            None => scenario::load(dir, &path)?,
        };
        let Some(target) = run_target(&scenario, chosen) else {
            let listed: Vec<&str> = scenario.targets.iter().map(|t| t.as_str()).collect();
            return Err(SelectError::WrongTarget {
                name: scenario.name.clone(),
                chosen,
                listed: listed.join(", "),
            });
        };
        selection.selected.push(Selected {
            scenario,
            target,
            not_applicable: None,
        });
    }
    Ok(selection)
}

/// Names and globs (`threads/*`), snake or kebab case.
struct Patterns(Vec<(String, Option<GlobMatcher>)>);

impl Patterns {
    fn new(patterns: &[String]) -> Result<Patterns, SelectError> {
        let mut out = Vec::new();
        for pattern in patterns {
            let wanted = pattern.replace('-', "_");
            let glob = if is_glob(&wanted) {
                let glob = Glob::new(&wanted).map_err(|source| SelectError::Pattern {
                    pattern: pattern.clone(),
                    source,
                })?;
                Some(glob.compile_matcher())
            } else {
                None
            };
            out.push((wanted, glob));
        }
        Ok(Patterns(out))
    }

    fn matches(&self, name: &str) -> bool {
        self.0.iter().any(|(wanted, glob)| match glob {
            Some(glob) => glob.is_match(name),
            None => wanted == name,
        })
    }
}

/// Whether a selection name is a glob.
pub fn is_glob(name: &str) -> bool {
    name.contains(['*', '?', '['])
}

/// The files one name or glob selects; a group runs the members that can run here.
fn by_name(
    dir: &Path,
    name: &str,
    all: &[Scenario],
    broken: &[Broken],
    chosen: TargetName,
) -> Result<Vec<PathBuf>, SelectError> {
    let as_path = Path::new(name);
    if name.ends_with(".toml") || as_path.is_file() {
        return match as_path.is_file() {
            true => Ok(vec![as_path.to_owned()]),
            false => Err(SelectError::NoFile(name.to_owned())),
        };
    }
    let glob = is_glob(name);
    let pattern = Patterns::new(&[name.to_owned()])?;
    let mut found: Vec<&Scenario> = all
        .iter()
        .filter(|s| {
            pattern.matches(&s.name) || (pattern.matches(&s.report_name) && s.twin_of.is_none())
        })
        .collect();
    // A glob or a group (several files under one name) runs the members that can run here.
    if glob || found.len() > 1 {
        let runnable: Vec<&Scenario> = found
            .iter()
            .copied()
            .filter(|s| run_target(s, chosen).is_some() && (!glob || s.twin_of.is_none()))
            .collect();
        if !runnable.is_empty() || glob {
            found = runnable;
        }
    }
    let mut paths: Vec<PathBuf> = found.iter().map(|s| s.path.clone()).collect();
    paths.extend(
        broken
            .iter()
            .filter(|b| pattern.matches(&b.name))
            .map(|b| b.path.clone()),
    );
    if !paths.is_empty() {
        return Ok(paths);
    }
    if glob {
        return Err(SelectError::NoMatch {
            pattern: name.to_owned(),
            dir: dir.to_owned(),
        });
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_match_names_and_globs_in_either_case() {
        let p = Patterns::new(&["threads/*".into(), "hooks-off".into()]).unwrap();
        assert!(p.matches("threads/start"));
        assert!(p.matches("hooks_off"));
        assert!(!p.matches("hooks_off_twin_runs_anyway"));
        assert!(!p.matches("handshake"));
        assert!(is_glob("a*") && is_glob("a?") && is_glob("[ab]") && !is_glob("ab"));
        assert!(Patterns::new(&["[".into()]).is_err());
    }
}
