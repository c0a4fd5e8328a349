//! Operation tests through [`ClaimLedger`]: every op's happy path, every §3 error, seq rules,
//! derived fields, and that a refused op leaves the file byte-for-byte unchanged.

use std::fs;
use std::path::{Path, PathBuf};

use pretty_assertions::assert_eq;
use serde_json::{json, Value};

use super::*;

/// 2026-03-12T00:00:00Z.
const T0: i64 = 1_773_273_600;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/st")
        .join(name)
}

struct Case {
    _dir: tempfile::TempDir,
    plan: PathBuf,
}

impl Case {
    fn new() -> Case {
        let dir = tempfile::tempdir().expect("temp dir");
        let plan = dir.path().join(".step/st-plan.jsonl");
        Case { _dir: dir, plan }
    }

    fn at(&self, secs: i64) -> ClaimLedger {
        ClaimLedger::new(&self.plan, "tk").with_clock(Clock::Fixed(secs))
    }

    fn import(&self, name: &str) {
        let op = Op::ImportOrchplan {
            input: fixture(name),
            replace: true,
            backlog_only: false,
        };
        self.at(T0).apply(&op).expect("import");
    }

    fn bytes(&self) -> Vec<u8> {
        fs::read(&self.plan).unwrap_or_default()
    }

    fn item(&self, secs: i64, id: &str) -> Value {
        let shown = self.at(secs).show(Surface::All).expect("show");
        let items = shown["items"].as_array().cloned().unwrap_or_default();
        items
            .into_iter()
            .find(|i| i["id"] == id)
            .unwrap_or(Value::Null)
    }

    fn seq(&self) -> i64 {
        self.at(T0).load().expect("load").watermark
    }
}

fn claim(ids: &[&str], wave: Option<&str>, executor: &str, lease: Option<i64>) -> Op {
    Op::Claim {
        ids: ids.iter().map(|s| s.to_string()).collect(),
        wave: wave.map(str::to_owned),
        executor: executor.to_owned(),
        lease_seconds: lease,
    }
}

fn runtime(id: &str, thread: &str) -> Op {
    Op::SetRuntime {
        id: id.into(),
        substrate: "spawn_agent".into(),
        thread_id: Some(thread.into()),
        agent_id: None,
        row_id: None,
        output_ref: None,
        last_event: None,
    }
}

fn proof(id: &str, state: &str) -> Op {
    Op::SetProof {
        id: id.into(),
        state: state.into(),
        command: "npm test".into(),
        evidence_ref: None,
    }
}

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

#[test]
fn ops_needing_a_held_claim_and_bad_values() {
    let c = Case::new();
    c.import("stale-claim.yaml");
    let before = c.bytes();
    let cases = [
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
    ];
    for (op, want) in cases {
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

#[test]
fn derived_fields() {
    let c = Case::new();
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
    let bare = c.item(T0, "bare");
    let keys: Vec<&str> = bare
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
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
    // Derived staleness follows the clock, without a reclaim.
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
    let keys: Vec<&str> = held
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        &keys[keys.len() - 4..],
        ["claim_state", "claim_stale", "lock_roots", "executor_state"]
    );
    // Surfaces: plan by default, backlog for the rest.
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
