//! Tests of the failure codes: names, serde spellings, and the README table.

use super::*;
use std::collections::BTreeSet;

#[test]
fn each_code_serializes_as_its_name_and_reads_back() {
    for &code in FailureCode::ALL {
        let json = serde_json::to_value(code).unwrap();
        assert_eq!(json, serde_json::json!(code.as_str()), "{code:?}");
        let back: FailureCode = serde_json::from_value(json).unwrap();
        assert_eq!(back, code);
        assert_eq!(FailureCode::from_name(code.as_str()), Some(code));
        assert_eq!(code.to_string(), code.as_str());
    }
    let names: BTreeSet<&str> = FailureCode::ALL.iter().map(|c| c.as_str()).collect();
    assert_eq!(
        names.len(),
        FailureCode::ALL.len(),
        "two codes share a name"
    );
}

/// The codes in the README's failure-code table: the first cell of each row between the
/// `<!-- failure-codes -->` markers, in backticks.
fn readme_codes() -> Vec<String> {
    let readme = include_str!("../../README.md");
    let start = readme
        .find("<!-- failure-codes:start -->")
        .expect("README has the failure-code table markers");
    let end = readme
        .find("<!-- failure-codes:end -->")
        .expect("README has the failure-code table end marker");
    readme[start..end]
        .lines()
        .filter_map(|line| line.strip_prefix("| `"))
        .filter_map(|rest| rest.split('`').next())
        .map(str::to_owned)
        .collect()
}

#[test]
fn the_readme_table_lists_exactly_the_codes() {
    let listed = readme_codes();
    let want: Vec<String> = FailureCode::ALL
        .iter()
        .map(|c| c.as_str().to_owned())
        .collect();
    assert_eq!(
        listed, want,
        "the README's failure-code table must list every FailureCode, in declaration order"
    );
}

#[test]
fn turn_statuses_read_and_write_as_codex_spells_them() {
    for text in [
        "completed",
        "interrupted",
        "failed",
        "inProgress",
        "somethingNew",
    ] {
        let status: TurnStatus = serde_json::from_value(serde_json::json!(text)).unwrap();
        assert_eq!(
            serde_json::to_value(&status).unwrap(),
            serde_json::json!(text)
        );
        assert_eq!(status.as_str(), text);
    }
    assert_eq!(TurnStatus::from("inProgress"), TurnStatus::InProgress);
    assert_eq!(
        TurnStatus::from("paused"),
        TurnStatus::Other("paused".into())
    );
}
