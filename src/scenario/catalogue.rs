//! The protocol catalogue: every behaviour scenario with its rule, methods, targets and twin.
//!
//! [`render`] turns the loaded scenarios into `docs/catalogue.md`: one table per area (the
//! scenario's folder under `scenarios/`, `core` for the top-level ones), one row per scenario
//! that is not a negative twin, with the rule (the first sentence of its description), the
//! methods its steps use, its targets and its twins. [`Coverage`] counts how much of codex
//! 0.169.0's schema the scenarios that run on a real codex exercise; `tests/catalogue.rs`
//! regenerates the file and the README's counts sentence so neither can go stale.

use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::Path;

use super::load::{discover, load, Scenario, Step, StepKind};
use crate::errors::ScenarioError;
use crate::protocol::INITIALIZE;

/// The method index of codex 0.169.0's schema (what the coverage counts are out of).
const INDEX: &str = include_str!("../../fixtures/protocol/method-index-0.169.0.json");

/// The area of a scenario in the top-level folder.
pub const CORE_AREA: &str = "core";

/// The markers around the generated counts sentence in the README.
pub const COUNTS_START: &str = "<!-- catalogue:counts -->";
/// The end marker of the generated counts sentence.
pub const COUNTS_END: &str = "<!-- /catalogue:counts -->";

/// One row of the catalogue: a behaviour scenario (not a negative twin).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Its folder under `scenarios/`, or [`CORE_AREA`].
    pub area: String,
    /// Its name (the path under `scenarios/` without `.toml`).
    pub name: String,
    /// The first sentence of its description.
    pub rule: String,
    /// The protocol methods its steps send, await or answer, in first-use order.
    pub methods: Vec<String>,
    /// The targets it runs on.
    pub targets: Vec<String>,
    /// Its `requires` (e.g. `codex >= 0.151.0`: the release that introduced the behaviour).
    pub requires: Vec<String>,
    /// The negative twins that break it.
    pub twins: Vec<String>,
}

/// The client requests, server notifications and server requests of a schema.
#[derive(Debug, Clone, Default)]
pub struct Surface {
    /// Client → server request methods.
    pub client_requests: BTreeSet<String>,
    /// Server → client notification methods.
    pub server_notifications: BTreeSet<String>,
    /// Server → client request methods.
    pub server_requests: BTreeSet<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct IndexFile {
    client_requests: Vec<IndexEntry>,
    server_notifications: Vec<IndexEntry>,
    server_requests: Vec<IndexEntry>,
}

#[derive(Deserialize)]
struct IndexEntry {
    method: String,
}

impl Surface {
    /// The surface of codex 0.169.0's schema (`generate-json-schema --experimental`).
    pub fn codex_0_169_0() -> Result<Surface, serde_json::Error> {
        Surface::parse(INDEX)
    }

    /// Reads a method index (`fixtures/protocol/method-index-*.json`).
    pub fn parse(text: &str) -> Result<Surface, serde_json::Error> {
        let index: IndexFile = serde_json::from_str(text)?;
        let set = |v: Vec<IndexEntry>| v.into_iter().map(|e| e.method).collect();
        Ok(Surface {
            client_requests: set(index.client_requests),
            server_notifications: set(index.server_notifications),
            server_requests: set(index.server_requests),
        })
    }
}

/// How much of a schema's surface the real-codex scenarios exercise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Coverage {
    /// Client requests sent, and the schema's total.
    pub requests: (usize, usize),
    /// Server notifications awaited, and the schema's total.
    pub notifications: (usize, usize),
    /// Server requests awaited and answered, and the schema's total.
    pub server_requests: (usize, usize),
    /// Behaviour scenarios (not twins), and how many of them run on a real codex.
    pub scenarios: (usize, usize),
    /// Negative twins.
    pub twins: usize,
}

impl Coverage {
    /// Counts what the scenarios that run on a codex target exercise of `surface`.
    pub fn of(scenarios: &[Scenario], surface: &Surface) -> Coverage {
        let mut used = Used::default();
        let mut originals = (0, 0);
        for s in scenarios.iter().filter(|s| s.twin_of.is_none()) {
            originals.0 += 1;
            if s.targets.iter().any(|t| t.is_codex()) {
                originals.1 += 1;
                used.collect(&s.steps);
            }
        }
        let count = |used: &BTreeSet<String>, all: &BTreeSet<String>| {
            (used.intersection(all).count(), all.len())
        };
        Coverage {
            requests: count(&used.requests, &surface.client_requests),
            notifications: count(&used.notifications, &surface.server_notifications),
            server_requests: count(&used.server_requests, &surface.server_requests),
            scenarios: originals,
            twins: scenarios.iter().filter(|s| s.twin_of.is_some()).count(),
        }
    }

    /// The README's sentence about the catalogue's size and reach.
    pub fn sentence(&self) -> String {
        format!(
            "{} behaviour scenarios ({} on the real codex) and {} negative twins; the real-codex \
             scenarios exercise {} of the {} client requests, {} of the {} server notifications \
             and {} of the {} server requests of the codex 0.169.0 schema.",
            self.scenarios.0,
            self.scenarios.1,
            self.twins,
            self.requests.0,
            self.requests.1,
            self.notifications.0,
            self.notifications.1,
            self.server_requests.0,
            self.server_requests.1,
        )
    }
}

/// The methods some steps use, by direction.
#[derive(Default)]
struct Used {
    requests: BTreeSet<String>,
    notifications: BTreeSet<String>,
    server_requests: BTreeSet<String>,
}

impl Used {
    fn collect(&mut self, steps: &[Step]) {
        for step in steps {
            match &step.kind {
                StepKind::Parallel { steps, .. } => self.collect(steps),
                StepKind::Request(r) => {
                    self.requests.insert(r.method.clone());
                }
                StepKind::Burst(b) => {
                    self.requests.insert(b.method.clone());
                }
                StepKind::AwaitNotification(a) => {
                    self.notifications.insert(a.method.clone());
                }
                StepKind::AwaitRequest(a) => {
                    self.server_requests.insert(a.method.clone());
                }
                StepKind::Drain { spec, .. } => {
                    self.notifications.insert(spec.method.clone());
                }
                StepKind::AnswerAll(a) => {
                    self.server_requests.insert(a.method.clone());
                }
                _ => {}
            }
        }
    }
}

/// Loads every scenario under `dir`; the first file that does not load is the error.
pub fn load_all(dir: &Path) -> Result<Vec<Scenario>, ScenarioError> {
    discover(dir)?.iter().map(|path| load(dir, path)).collect()
}

/// The area of a scenario name: its folder, or [`CORE_AREA`] at the top level.
pub fn area_of(name: &str) -> &str {
    name.rsplit_once('/')
        .map_or(CORE_AREA, |(folder, _)| folder)
}

/// The first sentence of a description, on one line: up to the first `.`, `!` or `?` that is
/// followed by the end or by a space and an upper-case letter.
pub fn first_sentence(description: &str) -> String {
    let text = description.split_whitespace().collect::<Vec<_>>().join(" ");
    for (i, c) in text.char_indices() {
        if !matches!(c, '.' | '!' | '?') {
            continue;
        }
        let mut rest = text[i + c.len_utf8()..].chars();
        let ends = match rest.next() {
            None => true,
            Some(' ') => rest.next().is_some_and(char::is_uppercase),
            Some(_) => false,
        };
        if ends {
            return text[..i + c.len_utf8()].to_owned();
        }
    }
    text
}

/// The protocol methods a scenario's steps use, in first-use order, without the plain
/// handshake (an `initialize` that must succeed, the `initialized` notification).
pub fn methods_of(steps: &[Step]) -> Vec<String> {
    let mut out = Vec::new();
    push_methods(steps, &mut out);
    out
}

fn push_methods(steps: &[Step], out: &mut Vec<String>) {
    for step in steps {
        if let StepKind::Parallel { steps, .. } = &step.kind {
            push_methods(steps, out);
            continue;
        }
        if !step.kind.is_protocol() || is_plain_handshake(&step.kind) {
            continue;
        }
        if let Some(method) = step.kind.method() {
            if !out.iter().any(|m| m == method) {
                out.push(method.to_owned());
            }
        }
    }
}

fn is_plain_handshake(kind: &StepKind) -> bool {
    match kind {
        StepKind::Request(r) => {
            r.method == INITIALIZE
                && r.expect_error.is_none()
                && r.expect_error_message_contains.is_none()
        }
        StepKind::Notify(n) => n.method == "initialized",
        _ => false,
    }
}

/// The catalogue rows: every scenario that is not a negative twin, with its twins, sorted by
/// area (core first) and name.
pub fn entries(scenarios: &[Scenario]) -> Vec<Entry> {
    let mut twins: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for s in scenarios {
        if let Some(original) = &s.twin_of {
            twins.entry(original).or_default().push(s.name.clone());
        }
    }
    let mut rows: Vec<Entry> = scenarios
        .iter()
        .filter(|s| s.twin_of.is_none())
        .map(|s| Entry {
            area: area_of(&s.name).to_owned(),
            name: s.name.clone(),
            rule: first_sentence(&s.description),
            methods: methods_of(&s.steps),
            targets: s.targets.iter().map(|t| t.as_str().to_owned()).collect(),
            requires: s.requires.clone(),
            twins: twins.get(s.name.as_str()).cloned().unwrap_or_default(),
        })
        .collect();
    rows.iter_mut().for_each(|r| r.twins.sort());
    rows.sort_by(|a, b| {
        (a.area != CORE_AREA, &a.area, &a.name).cmp(&(b.area != CORE_AREA, &b.area, &b.name))
    });
    rows
}

/// The behaviour scenarios (not twins) that no negative twin breaks.
pub fn missing_twins(scenarios: &[Scenario]) -> Vec<String> {
    entries(scenarios)
        .into_iter()
        .filter(|e| e.twins.is_empty())
        .map(|e| e.name)
        .collect()
}

/// The whole `docs/catalogue.md`.
pub fn render(scenarios: &[Scenario], surface: &Surface) -> String {
    let coverage = Coverage::of(scenarios, surface);
    let mut out = String::from(HEADER);
    let _ = writeln!(out, "{}\n", coverage.sentence());
    let rows = entries(scenarios);
    let mut areas: Vec<(&str, Vec<&Entry>)> = Vec::new();
    for row in &rows {
        match areas.last_mut() {
            Some((area, list)) if *area == row.area => list.push(row),
            _ => areas.push((&row.area, vec![row])),
        }
    }
    for (area, list) in areas {
        let _ = writeln!(out, "## {area}\n");
        out.push_str("| Scenario | Rule | Methods | Targets | Twin |\n|---|---|---|---|---|\n");
        for row in list {
            let _ = writeln!(out, "{}", table_row(row));
        }
        out.push('\n');
    }
    out.push_str(&untouched(&coverage_gaps(scenarios, surface)));
    out
}

const HEADER: &str = "# The protocol catalogue\n\n\
Generated from `scenarios/` by `tests/catalogue.rs`; do not edit by hand (run \
`CAS_UPDATE_CATALOGUE=1 cargo test --test catalogue` after changing a scenario). Each row is \
one observable rule of the app-server protocol as the pinned codex implements it (a rule a \
release introduced names it: `requires codex >= V`, V bisected over the npm releases from \
0.118.0; on an older codex the scenario is `not_applicable`): the rule is the \
first sentence of the scenario's description, the methods are those its steps send, await or \
answer (the plain handshake left out), and each twin runs the same steps against a fake server \
that breaks the rule and must fail.\n\n";

fn table_row(e: &Entry) -> String {
    let code = |items: &[String]| {
        items
            .iter()
            .map(|m| format!("`{m}`"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let short = |name: &str| name.rsplit('/').next().unwrap_or(name).to_owned();
    let twins: Vec<String> = e.twins.iter().map(|t| short(t)).collect();
    let mut targets = e.targets.join(", ");
    if !e.requires.is_empty() {
        targets.push_str(&format!(" (requires {})", e.requires.join(", ")));
    }
    format!(
        "| `{}` | {} | {} | {} | {} |",
        short(&e.name),
        e.rule.replace('|', "\\|"),
        code(&e.methods),
        targets,
        code(&twins),
    )
}

/// What of the surface no real-codex scenario exercises yet, by kind.
fn coverage_gaps(scenarios: &[Scenario], surface: &Surface) -> [(String, Vec<String>); 3] {
    let mut used = Used::default();
    for s in scenarios
        .iter()
        .filter(|s| s.targets.iter().any(|t| t.is_codex()))
    {
        used.collect(&s.steps);
    }
    let missing = |all: &BTreeSet<String>, have: &BTreeSet<String>| {
        all.difference(have).cloned().collect::<Vec<_>>()
    };
    [
        (
            "Client requests".to_owned(),
            missing(&surface.client_requests, &used.requests),
        ),
        (
            "Server notifications".to_owned(),
            missing(&surface.server_notifications, &used.notifications),
        ),
        (
            "Server requests".to_owned(),
            missing(&surface.server_requests, &used.server_requests),
        ),
    ]
}

fn untouched(gaps: &[(String, Vec<String>)]) -> String {
    let mut out = String::from("## Not yet exercised on the real codex\n\n");
    for (kind, methods) in gaps {
        let list = methods
            .iter()
            .map(|m| format!("`{m}`"))
            .collect::<Vec<_>>()
            .join(", ");
        let _ = writeln!(out, "- {kind} ({}): {list}", methods.len());
    }
    out
}

/// The README with its counts sentence (between [`COUNTS_START`] and [`COUNTS_END`]) replaced
/// by `sentence`; `None` when the markers are missing or out of order.
pub fn splice_counts(readme: &str, sentence: &str) -> Option<String> {
    let start = readme.find(COUNTS_START)? + COUNTS_START.len();
    let end = start + readme[start..].find(COUNTS_END)?;
    Some(format!("{}{sentence}{}", &readme[..start], &readme[end..]))
}

#[cfg(test)]
mod tests;
