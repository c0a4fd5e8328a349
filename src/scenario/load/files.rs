//! Reading a scenario file: its text and parsed form, the folder its relative paths resolve
//! from, the text checks of [`super::lint`], and the hooks.json its `[hooks]` table names.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use super::lint::Lint;
use crate::errors::{RuleError, ScenarioError};
use crate::scenario::format::{HooksSpec, ScenarioFile};

/// Reads and parses one file, keeping its text for the checks that need lines.
pub(super) fn read_file(path: &Path) -> Result<(ScenarioFile, String), ScenarioError> {
    let text = std::fs::read_to_string(path).map_err(|source| ScenarioError::Read {
        path: path.to_owned(),
        source,
    })?;
    match toml::from_str(&text) {
        Ok(file) => Ok((file, text)),
        Err(e) => Err(ScenarioError::Parse {
            path: path.to_owned(),
            line: e.span().map(|s| {
                text.as_bytes()[..s.start.min(text.len())]
                    .iter()
                    .filter(|b| **b == b'\n')
                    .count()
                    + 1
            }),
            message: e.to_string().trim_end().to_owned(),
        }),
    }
}

/// The folder a scenario file's relative paths resolve from: its own.
pub fn base_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    }
}

/// Checks `${NAME}`s and expectations of one file's text; returns the names it defines (vars
/// and captures), which a twin of it knows too.
pub(super) fn lint_file(
    path: &Path,
    text: &str,
    known: &BTreeSet<String>,
) -> Result<BTreeSet<String>, ScenarioError> {
    let Some(lint) = Lint::parse(path, text) else {
        return Ok(BTreeSet::new());
    };
    lint.check(known).map_err(|source| ScenarioError::Invalid {
        path: path.to_owned(),
        source,
    })?;
    let mut defined: BTreeSet<String> = lint.vars().into_iter().collect();
    defined.extend(lint.all_captures());
    Ok(defined)
}

/// Reads the hooks.json a `[hooks]` table names (relative to `base`, the file's folder).
pub(super) fn hooks_config(
    base: &Path,
    hooks: Option<&HooksSpec>,
) -> Result<Option<(String, PathBuf)>, RuleError> {
    let Some(rel) = hooks.and_then(|h| h.config.as_deref()) else {
        return Ok(None);
    };
    let config = base.join(rel);
    let read = crate::hooks::read_config(&config);
    read.map(Some).map_err(|source| RuleError::HooksConfig {
        path: config,
        source,
    })
}
