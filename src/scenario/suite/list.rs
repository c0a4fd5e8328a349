//! `cas list`: every scenario file with what a person picks scenarios by — name, area (its
//! folder), mode, targets, twins, group, the first sentence of its description — and whether the
//! resolved codex has every method it expects a result from.

use serde::Serialize;
use std::path::Path;

use super::select::load_all;
use super::SelectError;
use crate::launch::CodexLocator;
use crate::scenario::Scenario;
use crate::schema::{compat, Surface};

/// One scenario file in the list.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ListEntry {
    /// Its name (path under the folder, without `.toml`).
    pub name: String,
    /// Its folder under the scenarios folder (`.` at the top).
    pub area: String,
    /// What kind of proof it gives (absent for a file that does not load).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mode: Option<&'static str>,
    /// The targets it lists.
    pub targets: Vec<&'static str>,
    /// The negative twins that reuse its steps.
    pub twins: Vec<String>,
    /// The scenario it is a negative twin of.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub twin_of: Option<String>,
    /// The group it is reported under, when not its own name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub part_of: Option<String>,
    /// The first sentence of its description on one line (or why the file does not load).
    pub summary: String,
    /// The methods it expects a result from.
    pub methods: Vec<String>,
    /// Whether it can run on the resolved codex: `applicable`, `not_applicable`,
    /// `no_codex_target` (it never runs on codex), `unknown` (no codex) or `broken`.
    pub applicability: &'static str,
    /// The methods the codex lacks.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub missing: Vec<String>,
}

/// The list: the codex it was checked against and every scenario file.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ScenarioList {
    /// `list`.
    pub check: &'static str,
    /// The codex version the applicability speaks of, when one was found.
    pub codex: Option<String>,
    /// Every file, in name order.
    pub scenarios: Vec<ListEntry>,
}

/// Lists the scenario files under `dir`, with applicability on the codex `codex_bin` resolves.
pub async fn list(dir: &Path, codex_bin: Option<&Path>) -> Result<ScenarioList, SelectError> {
    let (all, broken) = load_all(dir)?;
    let (codex, surface) = surface(codex_bin).await.unzip();
    let mut scenarios: Vec<ListEntry> = all
        .iter()
        .map(|s| entry(s, &all, surface.as_ref()))
        .collect();
    scenarios.extend(broken.iter().map(|b| ListEntry {
        name: b.name.clone(),
        area: area_of(&b.name),
        mode: None,
        targets: Vec::new(),
        twins: Vec::new(),
        twin_of: None,
        part_of: None,
        summary: b.error.lines().next().unwrap_or_default().to_owned(),
        methods: Vec::new(),
        applicability: "broken",
        missing: Vec::new(),
    }));
    scenarios.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(ScenarioList {
        check: "list",
        codex,
        scenarios,
    })
}

/// The resolved codex's version and protocol surface, when it can be had.
async fn surface(codex_bin: Option<&Path>) -> Option<(String, Surface)> {
    let bin = CodexLocator::from_env(codex_bin.map(Path::to_owned))
        .resolve()
        .ok()?;
    let codex = super::compat::probe_surface(bin).await.ok()?;
    Some((codex.version, codex.surface))
}

fn entry(s: &Scenario, all: &[Scenario], surface: Option<&Surface>) -> ListEntry {
    let methods = s.methods_expecting_results();
    let on_codex = s.targets.iter().any(|t| t.is_codex());
    let missing: Vec<String> = match surface {
        Some(surface) if on_codex => compat::missing_requests(surface, &methods)
            .into_iter()
            .map(str::to_owned)
            .collect(),
        _ => Vec::new(),
    };
    let applicability = match (on_codex, surface) {
        (false, _) => "no_codex_target",
        (true, None) => "unknown",
        (true, Some(_)) if missing.is_empty() => "applicable",
        (true, Some(_)) => "not_applicable",
    };
    ListEntry {
        name: s.name.clone(),
        area: area_of(&s.name),
        mode: Some(s.mode.as_str()),
        targets: s.targets.iter().map(|t| t.as_str()).collect(),
        twins: all
            .iter()
            .filter(|t| t.twin_of.as_deref() == Some(s.name.as_str()))
            .map(|t| t.name.clone())
            .collect(),
        twin_of: s.twin_of.clone(),
        part_of: (s.report_name != s.name).then(|| s.report_name.clone()),
        summary: summary_of(&s.description),
        methods: methods.into_iter().map(str::to_owned).collect(),
        applicability,
        missing,
    }
}

/// The longest a summary gets, in characters.
const SUMMARY_CHARS: usize = 140;

/// The description's first sentence on one line (descriptions are wrapped in the files),
/// cut at [`SUMMARY_CHARS`] with `…`.
fn summary_of(description: &str) -> String {
    let text = description.split_whitespace().collect::<Vec<_>>().join(" ");
    let sentence = match text.find(". ") {
        Some(end) => &text[..=end],
        None => text.as_str(),
    };
    if sentence.chars().count() <= SUMMARY_CHARS {
        return sentence.to_owned();
    }
    let cut: String = sentence.chars().take(SUMMARY_CHARS - 1).collect();
    format!("{}…", cut.trim_end())
}

/// The folder part of a scenario name (`.` at the top).
fn area_of(name: &str) -> String {
    match name.rsplit_once('/') {
        Some((area, _)) => area.to_owned(),
        None => ".".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_area_is_the_folder() {
        assert_eq!(area_of("threads/start"), "threads");
        assert_eq!(area_of("a/b/c"), "a/b");
        assert_eq!(area_of("handshake"), ".");
    }

    #[test]
    fn the_summary_is_the_first_sentence_on_one_line() {
        assert_eq!(summary_of("One\nline. Two."), "One line.");
        assert_eq!(summary_of("no stop"), "no stop");
        let long = "word ".repeat(60);
        let cut = summary_of(&long);
        assert!(
            cut.ends_with('…') && cut.chars().count() <= SUMMARY_CHARS,
            "{cut}"
        );
    }
}
