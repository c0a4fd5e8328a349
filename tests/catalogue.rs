//! The protocol catalogue stays current: `docs/catalogue.md` and the README's counts sentence
//! are regenerated from `scenarios/` and compared with the files, and every behaviour scenario
//! has a negative twin.
//!
//! A stale file fails with the command that regenerates it; with `CAS_UPDATE_CATALOGUE=1` the
//! test rewrites the files instead (and passes).

use std::path::{Path, PathBuf};

use cas::scenario::catalogue::{self, Coverage, Surface};
use cas::scenario::Scenario;

const REGENERATE: &str = "CAS_UPDATE_CATALOGUE=1 cargo test --test catalogue";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn scenarios() -> Vec<Scenario> {
    let dir = root().join("scenarios");
    catalogue::load_all(&dir)
        .unwrap_or_else(|e| panic!("a scenario does not load: {}", cas::errors::Chain(&e)))
}

fn surface() -> Surface {
    Surface::codex_0_169_0().expect("the compiled-in method index parses")
}

fn updating() -> bool {
    std::env::var("CAS_UPDATE_CATALOGUE").is_ok_and(|v| v == "1")
}

/// Compares `want` with the file at `path`; rewrites it when updating, else fails if stale.
fn check_file(path: &Path, want: &str) {
    let have = std::fs::read_to_string(path).unwrap_or_default();
    if have == want {
        return;
    }
    if updating() {
        std::fs::write(path, want)
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
        return;
    }
    let first_difference = have
        .lines()
        .zip(want.lines())
        .position(|(a, b)| a != b)
        .unwrap_or_else(|| have.lines().count().min(want.lines().count()));
    panic!(
        "{} is stale (first difference at line {}); regenerate it with `{REGENERATE}` and \
         commit the result",
        path.display(),
        first_difference + 1
    );
}

#[test]
fn the_catalogue_document_is_current() {
    let want = catalogue::render(&scenarios(), &surface());
    check_file(&root().join("docs/catalogue.md"), &want);
}

#[test]
fn the_readme_states_the_current_counts() {
    let sentence = Coverage::of(&scenarios(), &surface()).sentence();
    let path = root().join("README.md");
    let readme = std::fs::read_to_string(&path).expect("README.md is readable");
    let want = catalogue::splice_counts(&readme, &sentence).unwrap_or_else(|| {
        panic!(
            "README.md has no `{}`…`{}` markers for the catalogue counts",
            catalogue::COUNTS_START,
            catalogue::COUNTS_END
        )
    });
    check_file(&path, &want);
}

#[test]
fn every_behaviour_scenario_has_a_negative_twin() {
    let missing = catalogue::missing_twins(&scenarios());
    assert!(
        missing.is_empty(),
        "scenarios without a negative twin (add a `*_twin_*.toml` with negative_twin_of): {missing:?}"
    );
}

#[test]
fn every_area_has_scenarios_on_the_real_codex() {
    let all = scenarios();
    let rows = catalogue::entries(&all);
    let areas: std::collections::BTreeSet<&str> = rows.iter().map(|r| r.area.as_str()).collect();
    for area in areas {
        assert!(
            rows.iter()
                .any(|r| r.area == area && r.targets.iter().any(|t| t.starts_with("codex-"))),
            "area {area} has no scenario on a codex target"
        );
    }
}
