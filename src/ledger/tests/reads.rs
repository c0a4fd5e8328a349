//! What is read back: derived fields, surfaces, seq rules, corrupt files, scenario TOML.

use std::fs;

use pretty_assertions::assert_eq;
use serde_json::{json, Value};

use super::*;

/// A ledger with four imported items (`bare`, `scoped`, `waiting` on bare, `held` claimed for
/// 60 s at T0); returns the OrchPlan file it imported, for further imports.
fn imported(c: &Case) -> std::path::PathBuf {
    let plan = c.plan.parent().unwrap().parent().unwrap().join("plan.json");
    let doc = json!({"tasks": [
        {"id": "bare"}, {"id": "scoped", "scope": ["./src/x/", "docs/*.md"]},
        {"id": "waiting", "depends_on": ["bare"]}, {"id": "held", "scope": "h/**"}
    ]});
    fs::write(&plan, doc.to_string()).unwrap();
    c.at(T0)
        .apply(&Op::ImportOrchplan {
            input: plan.clone(),
            replace: false,
            backlog_only: false,
        })
        .unwrap();
    c.at(T0)
        .apply(&claim(&["held"], None, "teams", Some(60)))
        .unwrap();
    plan
}

fn keys(item: &Value) -> Vec<&str> {
    item.as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect()
}

#[test]
fn derived_fields() {
    let c = Case::new();
    imported(&c);
    assert_eq!(
        keys(&c.item(T0, "bare")),
        [
            "id",
            "step",
            "status",
            "priority",
            "in_plan",
            "deps",
            "notes",
            "comments",
            "dep_state",
            "waiting_on",
            "source"
        ]
    );
    let scoped = c.item(T0, "scoped");
    assert_eq!(
        [
            &scoped["claim_state"],
            &scoped["claim_stale"],
            &scoped["lock_roots"],
            &scoped["executor_state"]
        ],
        [
            &json!("none"),
            &json!(false),
            &json!(["src/x", "docs"]),
            &json!("idle")
        ]
    );
    let waiting = c.item(T0, "waiting");
    assert_eq!(
        (waiting["dep_state"].clone(), waiting["waiting_on"].clone()),
        (json!("waiting_on_deps"), json!(["bare"]))
    );
    assert_eq!(c.item(T0, "held")["executor_state"], "claimed");
}

#[test]
fn derived_staleness_follows_the_clock_without_a_reclaim() {
    let c = Case::new();
    imported(&c);
    let held = c.item(T0 + 60, "held");
    assert_eq!(
        [
            &held["claim_state"],
            &held["claim_stale"],
            &held["executor_state"]
        ],
        [&json!("stale"), &json!(true), &json!("stale")]
    );
    assert_eq!(held["claim"]["state"], "held");
    let keys = keys(&held);
    assert_eq!(
        &keys[keys.len() - 4..],
        ["claim_state", "claim_stale", "lock_roots", "executor_state"]
    );
}

#[test]
fn surfaces_show_the_plan_by_default_and_the_backlog_apart() {
    let c = Case::new();
    let plan = imported(&c);
    fs::write(&plan, json!({"tasks": [{"id": "later"}]}).to_string()).unwrap();
    c.at(T0)
        .apply(&Op::ImportOrchplan {
            input: plan,
            replace: false,
            backlog_only: true,
        })
        .unwrap();
    let ids = |s: Surface| -> Vec<String> {
        let shown = c.at(T0).show(s).unwrap();
        shown["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["id"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(ids(Surface::All).len(), 5);
    assert_eq!(ids(Surface::Plan), ["bare", "scoped", "waiting", "held"]);
    assert_eq!(ids(Surface::Backlog), ["later"]);
}

#[test]
fn seq_moves_by_one_except_non_replacing_imports() {
    let c = Case::new();
    let input = fixture("claim-safe-wave.yaml");
    let import = |replace| Op::ImportOrchplan {
        input: input.clone(),
        replace,
        backlog_only: false,
    };
    let l = c.at(T0);
    assert_eq!(
        l.apply(&import(false)).unwrap(),
        format!("imported 2 orchplan item(s) from {}", input.display())
    );
    assert_eq!(c.seq(), 2);
    assert_eq!(
        l.apply(&import(true)).unwrap(),
        format!("replaced plan from orchplan {}", input.display())
    );
    assert_eq!(c.seq(), 3);
    l.apply(&proof("cfg", "not_run")).unwrap();
    assert_eq!(c.seq(), 4);
    l.apply(&claim(&["nope"], None, "teams", None)).unwrap_err();
    assert_eq!(c.seq(), 4);
    let text = String::from_utf8(c.bytes()).unwrap();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(
        (
            lines[0]["lane"].clone(),
            lines[0]["op"].clone(),
            lines[0]["seq"].clone()
        ),
        (json!("event"), json!("replace"), json!(4))
    );
    assert_eq!(
        (lines[1]["lane"].clone(), lines[1]["seq"].clone()),
        (json!("checkpoint"), json!(4))
    );
    assert_eq!(lines[0]["mutation"]["actor"], "tk");
    assert_eq!(lines[0]["mutation"]["pid"], std::process::id());
}

#[test]
fn corrupt_files_are_refused_naming_the_line_and_never_rewritten() {
    let c = Case::new();
    c.import("stale-claim.yaml");
    let mut text = String::from_utf8(c.bytes()).unwrap();
    text.push_str("{\"v\":3,\"seq\":9,\"lane\":\"event\",\"op\":\n");
    fs::write(&c.plan, &text).unwrap();
    let err = c
        .at(T0)
        .apply(&claim(&["api"], None, "teams", None))
        .unwrap_err();
    assert_eq!(err.code(), "InvalidRecord");
    assert!(err.detail().contains("line 3"), "{err}");
    assert_eq!(c.bytes(), text.as_bytes());
    assert_eq!(
        c.at(T0).show(Surface::All).unwrap_err().code(),
        "InvalidRecord"
    );
}

#[test]
fn ops_deserialize_from_scenario_toml() {
    #[derive(serde::Deserialize)]
    struct Step {
        ledger: Op,
    }
    let cases = [
        (
            r#"ledger = { op = "claim", wave = "w1", executor = "teams" }"#,
            claim(&[], Some("w1"), "teams", None),
        ),
        (
            r#"ledger = { op = "reclaim_stale", now = "2099-01-01T00:00:00Z" }"#,
            Op::ReclaimStale {
                now: Some("2099-01-01T00:00:00Z".into()),
            },
        ),
        (
            r#"ledger = { op = "import_orchplan", input = "p.yaml", replace = true }"#,
            Op::ImportOrchplan {
                input: "p.yaml".into(),
                replace: true,
                backlog_only: false,
            },
        ),
    ];
    for (text, want) in cases {
        let step: Step = toml::from_str(text).unwrap();
        assert_eq!(step.ledger, want);
    }
    assert!(
        toml::from_str::<Step>(r#"ledger = { op = "claim", executor = "teams", bogus = 1 }"#)
            .is_err()
    );
}
