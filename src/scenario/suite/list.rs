//! `cas list`: every scenario file with what a person picks scenarios by — name, area (its
//! folder), mode, targets, twins, group, the first sentence of its description — and whether it
//! can run on the resolved codex, by the rule `cas conformance` uses ([`super::applicability`]).

use serde::Serialize;
use std::path::Path;

use super::compat::{applicability_of, relies_on, SuiteCodex};
use super::select::load_all;
use super::SelectError;
use crate::launch::CodexLocator;
use crate::scenario::Scenario;

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
    /// What the codex lacks on some codex target: methods (`clientRequest turn/steer`), launch
    /// flags (`launchFlag --listen`) or a release (`codex >= 0.150.0`).
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
    let probed = probe(codex_bin).await;
    let mut scenarios: Vec<ListEntry> = all
        .iter()
        .map(|s| entry(s, &all, probed.as_ref()))
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
        codex: probed.map(|c| c.version),
        scenarios,
    })
}

/// The resolved codex's version, protocol surface and launch flags, when they can be had.
async fn probe(codex_bin: Option<&Path>) -> Option<SuiteCodex> {
    let bin = CodexLocator::from_env(codex_bin.map(Path::to_owned))
        .resolve()
        .ok()?;
    super::compat::probe_surface(bin).await.ok()
}

/// What `codex` lacks for `s` on any of its codex targets (sorted, each once).
fn missing_on(s: &Scenario, codex: &SuiteCodex) -> Vec<String> {
    let needs = relies_on(s);
    let mut missing: Vec<String> = s
        .targets
        .iter()
        .filter(|t| t.is_codex())
        .filter_map(|t| applicability_of(&codex.surface, &codex.flags, &needs, *t))
        .flat_map(|n| n.missing)
        .collect();
    missing.sort();
    missing.dedup();
    missing
}

fn entry(s: &Scenario, all: &[Scenario], codex: Option<&SuiteCodex>) -> ListEntry {
    let methods = s.methods_expecting_results();
    let on_codex = s.targets.iter().any(|t| t.is_codex());
    let missing = codex.map(|c| missing_on(s, c)).unwrap_or_default();
    let applicability = match (on_codex, codex) {
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

    fn codex(version: &str, client: &[&str], server: &[&str]) -> SuiteCodex {
        SuiteCodex {
            bin: "codex".into(),
            version: version.into(),
            surface: crate::schema::Surface::of_methods(
                version,
                client,
                server,
                &["turn/completed"],
            ),
            flags: crate::launch::LaunchFlags::default(),
        }
    }

    /// The list says what `cas conformance` would: a server request answered, a release required
    /// and websocket launch flags count, not only the methods expecting results.
    #[test]
    fn applicability_is_the_suite_rule() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.toml");
        std::fs::write(
            &path,
            r#"
description = "d"
targets = ["codex-stdio", "codex-ws"]
requires = ["codex >= 0.150.0"]
[[steps]]
name = "start"
request = { method = "thread/start", params = {} }
[[steps]]
name = "answer"
await_request = { method = "item/tool/call", answer_result = {} }
"#,
        )
        .unwrap();
        let s = crate::scenario::load(dir.path(), &path).unwrap();
        let old = codex("0.118.0", &["initialize", "thread/start"], &[]);
        let missing = missing_on(&s, &old);
        for want in [
            "codex >= 0.150.0",
            "serverRequest item/tool/call",
            "launchFlag --listen",
        ] {
            assert!(missing.iter().any(|m| m == want), "{want} in {missing:?}");
        }
        let mut new = codex(
            "0.171.0",
            &["initialize", "thread/start"],
            &["item/tool/call"],
        );
        new.flags =
            crate::launch::LaunchFlags::parse(
            "Options:\n      --listen <URL>\n      --ws-auth <MODE>\n      --ws-token-file <PATH>\n",
        );
        assert_eq!(missing_on(&s, &new), Vec::<String>::new());
        assert_eq!(entry(&s, &[], Some(&old)).applicability, "not_applicable");
        assert_eq!(entry(&s, &[], Some(&new)).applicability, "applicable");
    }

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
