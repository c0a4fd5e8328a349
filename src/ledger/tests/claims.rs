//! The claim operations: happy paths, refusals, the safe-wave rule, reclaim.

use std::fs;

use pretty_assertions::assert_eq;
use serde_json::json;

use super::*;

#[test]
fn claim_safe_wave_reaches_two_held_running_claims() {
    let c = Case::new();
    c.import("claim-safe-wave.yaml");
    let l = c.at(T0);
    assert_eq!(
        l.apply(&claim(&[], Some("w1"), "teams", None)).unwrap(),
        "claimed 2 item(s) in wave w1"
    );
    assert_eq!(
        l.apply(&runtime("cfg", "thread-cfg")).unwrap(),
        "attached runtime metadata to cfg"
    );
    l.apply(&runtime("ui", "thread-ui")).unwrap();
    assert_eq!(c.seq(), 4);
    for (id, root) in [("cfg", "src/config"), ("ui", "src/ui")] {
        let item = c.item(T0, id);
        assert_eq!(item["status"], "in_progress");
        assert_eq!(item["claim_state"], "held");
        assert_eq!(item["executor_state"], "running");
        assert_eq!(item["in_plan"], true);
        assert_eq!(item["lock_roots"], json!([root]));
        assert!(item["source"].is_object());
    }
    // The stored claim is the reference's illustration, key for key.
    let stored = &c.at(T0).load().unwrap().items[0];
    let want = r#"{"state":"held","owner":"tk","executor":"teams","wave_id":"w1","lock_roots":["src/config"],"claimed_at":"2026-03-12T00:00:00Z","lease_seconds":900,"lease_expires_at":"2026-03-12T00:15:00Z","heartbeat_at":"2026-03-12T00:00:00Z","attempts":1}"#;
    assert_eq!(stored.to_json()["claim"].to_string(), want);
}

#[test]
fn claim_refusals_leave_the_file_unchanged() {
    let c = Case::new();
    c.import("claim-safe-wave.yaml");
    let before = c.bytes();
    let cases = [
        (
            claim(&["cfg", "ui"], Some("w1"), "teams", None),
            "OrchplanWaveClaimDoesNotAcceptIds",
        ),
        (claim(&[], Some("w9"), "teams", None), "MissingIdsValue"),
        (claim(&[], None, "teams", None), "MissingIdsValue"),
        (
            claim(&["cfg"], None, "teams", Some(0)),
            "InvalidLeaseSeconds",
        ),
        (claim(&["cfg"], None, "robots", None), "InvalidExecutor"),
        (
            claim(&["cfg", "nope"], None, "teams", None),
            "UnknownItemId",
        ),
        (claim(&["cfg"], Some(" "), "teams", None), "EmptyString"),
    ];
    for (op, want) in cases {
        let err = c.at(T0).apply(&op).unwrap_err();
        assert_eq!(err.code(), want, "{op:?}: {err}");
        assert_eq!(c.bytes(), before, "{op:?} changed the file");
    }
    // --ids with a wave that names no imported items is an id claim in that wave.
    c.at(T0)
        .apply(&claim(&["cfg"], Some("hotfix"), "Teams", None))
        .unwrap();
    assert_eq!(c.item(T0, "cfg")["claim"]["wave_id"], "hotfix");
    assert_eq!(c.item(T0, "cfg")["claim"]["executor"], "teams");
}

#[test]
fn overlapping_scopes_and_held_items_are_refused() {
    let c = Case::new();
    c.import("overlapping-wave.yaml");
    let before = c.bytes();
    let err = c
        .at(T0)
        .apply(&claim(&[], Some("w1"), "teams", None))
        .unwrap_err();
    assert_eq!(err.code(), "ScopeClaimConflict", "{err}");
    assert!(err.detail().contains("same claim"), "{err}");
    assert_eq!(c.bytes(), before, "a multi-item claim is all-or-nothing");
    // Against another held claim, and a second claim on a held item.
    c.at(T0)
        .apply(&claim(&["ui"], None, "teams", None))
        .unwrap();
    let err = c
        .at(T0)
        .apply(&claim(&["core"], None, "teams", None))
        .unwrap_err();
    assert_eq!(err.code(), "ScopeClaimConflict", "{err}");
    assert!(err.detail().contains("held claim"), "{err}");
    let err = c
        .at(T0 + 60)
        .apply(&claim(&["ui"], None, "mesh", None))
        .unwrap_err();
    assert_eq!(err.code(), "ItemAlreadyClaimed", "{err}");
    // An expired held claim still blocks others, but the item itself can be claimed again,
    // keeping its roots and counting the attempt.
    let later = T0 + 901;
    let err = c
        .at(later)
        .apply(&claim(&["core"], None, "teams", None))
        .unwrap_err();
    assert_eq!(err.code(), "ScopeClaimConflict");
    c.at(later)
        .apply(&claim(&["ui"], None, "mesh", None))
        .unwrap();
    let ui = c.item(later, "ui");
    assert_eq!(
        (
            ui["claim"]["attempts"].clone(),
            ui["claim"]["executor"].clone()
        ),
        (json!(2), json!("mesh"))
    );
    assert_eq!(ui["lock_roots"], json!(["src/ui"]));
}

#[test]
fn local_executors_are_never_a_safe_parallel_wave() {
    let c = Case::new();
    c.import("claim-safe-wave.yaml");
    c.at(T0)
        .apply(&claim(&["cfg"], None, "local", None))
        .unwrap();
    c.at(T0)
        .apply(&claim(&["ui"], None, "local", None))
        .unwrap();
    c.at(T0).apply(&runtime("cfg", "t1")).unwrap();
    let before = c.bytes();
    let err = c.at(T0).apply(&runtime("ui", "t2")).unwrap_err();
    assert_eq!(err.code(), "MultipleInProgress", "{err}");
    assert_eq!(c.bytes(), before);
    // The flag turns the rule off and is recorded.
    let lax = c.at(T0).with_allow_multiple_in_progress(true);
    lax.apply(&runtime("ui", "t2")).unwrap();
    assert!(String::from_utf8_lossy(&c.bytes()).contains(r#""allow_multiple_in_progress":true"#));
}

#[test]
fn claimable_states_and_dependencies() {
    let c = Case::new();
    let dir = c.plan.parent().unwrap().parent().unwrap().to_path_buf();
    let plan = dir.join("deps.json");
    let doc = json!({"tasks": [{"id": "a", "scope": "a/**"}, {"id": "b", "depends_on": ["a"], "scope": "b/**"}]});
    fs::write(&plan, doc.to_string()).unwrap();
    c.at(T0)
        .apply(&Op::ImportOrchplan {
            input: plan,
            replace: false,
            backlog_only: false,
        })
        .unwrap();
    let err = c
        .at(T0)
        .apply(&claim(&["b"], None, "teams", None))
        .unwrap_err();
    assert_eq!(err.code(), "UnresolvedDependencies");
    c.at(T0).apply(&claim(&["a"], None, "teams", None)).unwrap();
    c.at(T0).apply(&runtime("a", "t")).unwrap();
    c.at(T0).apply(&proof("a", "pass")).unwrap();
    assert_eq!(
        c.at(T0)
            .apply(&Op::Release {
                id: "a".into(),
                reason: None
            })
            .unwrap(),
        "released claim for a"
    );
    let a = c.item(T0, "a");
    assert_eq!(
        (
            a["status"].clone(),
            a["in_plan"].clone(),
            a["claim_state"].clone()
        ),
        (json!("completed"), json!(false), json!("released"))
    );
    let err = c
        .at(T0)
        .apply(&claim(&["a"], None, "teams", None))
        .unwrap_err();
    assert_eq!(err.code(), "InvalidClaimState");
    c.at(T0).apply(&claim(&["b"], None, "teams", None)).unwrap();
    assert_eq!(c.item(T0, "b")["dep_state"], "ready");
}

#[test]
fn release_settles_in_progress_items_by_proof() {
    for (proof_state, want) in [
        (Some("pass"), "completed"),
        (Some("fail"), "blocked"),
        (Some("not_run"), "pending"),
        (None, "pending"),
    ] {
        let c = Case::new();
        c.import("stale-claim.yaml");
        let l = c.at(T0);
        l.apply(&claim(&[], Some("w1"), "teams", None)).unwrap();
        l.apply(&runtime("api", "t")).unwrap();
        if let Some(s) = proof_state {
            assert_eq!(
                l.apply(&proof("api", s)).unwrap(),
                format!("updated proof for api -> {s}")
            );
        }
        l.apply(&Op::Release {
            id: "api".into(),
            reason: Some("done here".into()),
        })
        .unwrap();
        let api = c.item(T0, "api");
        assert_eq!(api["status"], want, "{proof_state:?}");
        assert_eq!(api["runtime"]["last_event"], "done here");
        assert!(api["claim"].get("lease_expires_at").is_none());
        assert_eq!(api["executor_state"], "released");
    }
}

/// Ops refused on the stale-claim plan (no held claim, unknown id, bad value) and the identifier each gets.
fn refused_ops() -> Vec<(Op, &'static str)> {
    vec![
        (Op::Heartbeat { id: "api".into() }, "NoHeldClaim"),
        (Op::Heartbeat { id: "zz".into() }, "UnknownItemId"),
        (runtime("api", "t"), "NoHeldClaim"),
        (
            Op::Release {
                id: "api".into(),
                reason: None,
            },
            "NoHeldClaim",
        ),
        (proof("api", "maybe"), "InvalidProofState"),
        (
            Op::SetProof {
                id: "api".into(),
                state: "pass".into(),
                command: "".into(),
                evidence_ref: None,
            },
            "EmptyString",
        ),
        (proof("zz", "pass"), "UnknownItemId"),
        (
            Op::ReclaimStale {
                now: Some("".into()),
            },
            "EmptyString",
        ),
    ]
}

#[test]
fn ops_needing_a_held_claim_and_bad_values() {
    let c = Case::new();
    c.import("stale-claim.yaml");
    let before = c.bytes();
    for (op, want) in refused_ops() {
        let err = c.at(T0).apply(&op).unwrap_err();
        assert_eq!(err.code(), want, "{op:?}: {err}");
    }
    assert_eq!(c.bytes(), before);
    c.at(T0)
        .apply(&claim(&["api"], None, "teams", None))
        .unwrap();
    let bad_substrate = Op::SetRuntime {
        id: "api".into(),
        substrate: "cloud".into(),
        thread_id: None,
        agent_id: None,
        row_id: None,
        output_ref: None,
        last_event: None,
    };
    assert_eq!(
        c.at(T0).apply(&bad_substrate).unwrap_err().code(),
        "InvalidRuntimeSubstrate"
    );
    // Heartbeat renews from now, even past the lease.
    c.at(T0 + 5000)
        .apply(&Op::Heartbeat { id: "api".into() })
        .unwrap();
    let api = c.item(T0 + 5000, "api");
    assert_eq!(
        api["claim"]["lease_expires_at"],
        clock::format_secs(T0 + 5900)
    );
    assert_eq!(api["claim"]["heartbeat_at"], clock::format_secs(T0 + 5000));
}

#[test]
fn reclaim_stale_touches_only_expired_held_claims() {
    let c = Case::new();
    c.import("claim-safe-wave.yaml");
    c.at(T0)
        .apply(&claim(&["cfg"], None, "teams", Some(60)))
        .unwrap();
    c.at(T0)
        .apply(&claim(&["ui"], None, "teams", None))
        .unwrap();
    c.at(T0).apply(&runtime("cfg", "thread-cfg")).unwrap();
    c.at(T0).apply(&runtime("ui", "thread-ui")).unwrap();
    // Before the lease ends nothing changes but the seq.
    let seq = c.seq();
    let line = c
        .at(T0)
        .apply(&Op::ReclaimStale {
            now: Some(clock::format_secs(T0 + 59)),
        })
        .unwrap();
    assert_eq!(
        (line.as_str(), c.seq()),
        ("reclaimed 0 stale claim(s)", seq + 1)
    );
    assert_eq!(c.item(T0, "cfg")["claim_state"], "held");
    let line = c
        .at(T0)
        .apply(&Op::ReclaimStale {
            now: Some(clock::format_secs(T0 + 60)),
        })
        .unwrap();
    assert_eq!(line, "reclaimed 1 stale claim(s)");
    let cfg = c.item(T0 + 61, "cfg");
    assert_eq!(cfg["status"], "pending");
    assert_eq!(cfg["claim_state"], "stale");
    assert_eq!(cfg["claim_stale"], true);
    assert_eq!(cfg["executor_state"], "stale");
    assert!(cfg.get("runtime").is_none());
    assert!(cfg["claim"].get("owner").is_none());
    assert_eq!(cfg["claim"]["lock_roots"], json!(["src/config"]));
    let ui = c.item(T0 + 61, "ui");
    assert_eq!(
        (
            ui["status"].clone(),
            ui["claim_state"].clone(),
            ui["executor_state"].clone()
        ),
        (json!("in_progress"), json!("held"), json!("running"))
    );
    // The stale item can be claimed again.
    c.at(T0 + 61)
        .apply(&claim(&["cfg"], None, "teams", None))
        .unwrap();
    assert_eq!(c.item(T0 + 61, "cfg")["claim"]["attempts"], 2);
}

#[test]
fn stale_claim_reclaim_scenario_steps() {
    let c = Case::new();
    c.import("stale-claim.yaml");
    c.at(T0)
        .apply(&claim(&[], Some("w1"), "teams", Some(60)))
        .unwrap();
    c.at(T0).apply(&runtime("api", "thread-api")).unwrap();
    c.at(T0)
        .apply(&Op::ReclaimStale {
            now: Some("2099-01-01T00:00:00Z".into()),
        })
        .unwrap();
    let api = c.item(T0, "api");
    assert_eq!(
        [
            &api["status"],
            &api["claim_state"],
            &api["claim_stale"],
            &api["executor_state"]
        ],
        [
            &json!("pending"),
            &json!("stale"),
            &json!(true),
            &json!("stale")
        ]
    );
    assert!(api.get("runtime").is_none());
    // st stamps the rewrite with the --now value.
    assert!(String::from_utf8_lossy(&c.bytes()).contains(r#""ts":"2099-01-01T00:00:00Z""#));
}
