//! Issue 17: the edges where cas used to differ from st. Each table states st's behaviour as
//! the expected value; a refusal must leave the plan file byte-for-byte unchanged.

use pretty_assertions::assert_eq;

use super::*;

/// `claim --ids IDS [--wave W] --executor E [--lease-seconds L]`, flags as text (as `cas st`).
fn claim_text(ids: &str, wave: Option<&str>, executor: &str, lease: Option<&str>) -> Op {
    Op::Claim {
        ids: vec![ids.to_owned()],
        wave: wave.map(str::to_owned),
        executor: executor.to_owned(),
        lease_seconds: lease.map(|l| Lease::Text(l.to_owned())),
    }
}

/// What st answers to an op: the line it prints, or the identifier of its refusal.
#[derive(Debug, PartialEq)]
enum StAnswer {
    /// Accepted; the human line.
    Printed(String),
    /// Refused with this error identifier.
    Refused(String),
}

/// Runs `op` on a freshly imported claim-safe-wave plan; a refusal must not touch the file.
fn on_fresh_plan(op: &Op) -> StAnswer {
    let c = Case::new();
    c.import("claim-safe-wave.yaml");
    let before = c.bytes();
    let got = c.at(T0).apply(op);
    if got.is_err() {
        assert_eq!(c.bytes(), before, "{op:?} was refused but changed the file");
    }
    match got {
        Ok(line) => StAnswer::Printed(line),
        Err(e) => StAnswer::Refused(e.code().to_owned()),
    }
}

/// st prints `line`.
fn ok(line: &str) -> StAnswer {
    StAnswer::Printed(line.to_owned())
}

/// st refuses with `code`.
fn err(code: &str) -> StAnswer {
    StAnswer::Refused(code.to_owned())
}

/// Cases 1 and 2: duplicate id tokens are dropped, an empty token is `EmptyString`.
#[test]
fn id_tokens_are_read_as_st_reads_them() {
    let cases = [
        // 1: duplicates are dropped before claiming.
        (
            claim_text("cfg,cfg", None, "teams", None),
            ok("claimed 1 item(s) in wave manual"),
        ),
        (
            claim_text("cfg,ui,cfg", None, "teams", None),
            ok("claimed 2 item(s) in wave manual"),
        ),
        (
            claim_text(" cfg , cfg ", None, "teams", None),
            ok("claimed 1 item(s) in wave manual"),
        ),
        // 2: an empty token is EmptyString, before any id is looked up.
        (claim_text("cfg,", None, "teams", None), err("EmptyString")),
        (claim_text(",zz", None, "teams", None), err("EmptyString")),
        (
            claim_text("cfg,,ui", None, "teams", None),
            err("EmptyString"),
        ),
        (claim_text(" , ", None, "teams", None), err("EmptyString")),
        (
            claim_text(",", Some("w1"), "teams", None),
            err("EmptyString"),
        ),
    ];
    for (op, want) in cases {
        assert_eq!(on_fresh_plan(&op), want, "{op:?}");
    }
}

/// Cases 3 and 7: executor, then targets, then the lease; what a lease text may be.
#[test]
fn claim_flags_are_checked_in_st_order() {
    let cases = [
        // 3: executor, then targets, then the lease.
        (
            claim_text("", Some("wX"), "teams", Some("")),
            err("MissingIdsValue"),
        ),
        (
            claim_text("cfg", None, "bogus", Some("x")),
            err("InvalidExecutor"),
        ),
        (
            claim_text("cfg", Some("w1"), "teams", Some("")),
            err("OrchplanWaveClaimDoesNotAcceptIds"),
        ),
        (
            claim_text("cfg", None, "teams", Some("")),
            err("InvalidLeaseSeconds"),
        ),
        (
            claim_text("nope", None, "teams", Some("0")),
            err("InvalidLeaseSeconds"),
        ),
        // 7: st answers InvalidCharacter / Overflow here (its integer parser's errors); cas
        // keeps InvalidLeaseSeconds (a deliberate difference, see `cas st`).
        (
            claim_text("cfg", None, "teams", Some("abc")),
            err("InvalidLeaseSeconds"),
        ),
        (
            claim_text("cfg", None, "teams", Some("1.5")),
            err("InvalidLeaseSeconds"),
        ),
        (
            claim_text("cfg", None, "teams", Some("99999999999999999999")),
            err("InvalidLeaseSeconds"),
        ),
        (
            claim_text("cfg", None, "teams", Some("-5")),
            err("InvalidLeaseSeconds"),
        ),
        // What st's parser accepts, cas accepts.
        (
            claim_text("cfg", None, "teams", Some(" 60 ")),
            ok("claimed 1 item(s) in wave manual"),
        ),
        (
            claim_text("cfg", None, "teams", Some("+60")),
            ok("claimed 1 item(s) in wave manual"),
        ),
        (
            claim_text("cfg", None, "teams", Some("1_000")),
            ok("claimed 1 item(s) in wave manual"),
        ),
    ];
    for (op, want) in cases {
        assert_eq!(on_fresh_plan(&op), want, "{op:?}");
    }
}

#[test]
fn a_text_lease_is_stored_as_its_number() {
    let c = Case::new();
    c.import("claim-safe-wave.yaml");
    c.at(T0)
        .apply(&claim_text("cfg", None, "teams", Some("1_000")))
        .unwrap();
    assert_eq!(c.item(T0, "cfg")["claim"]["lease_seconds"], 1000);
}

/// Case 3, release: the id and the claim are checked before `--reason`, which st reads only
/// when the item has a runtime to record it in.
#[test]
fn release_checks_the_claim_before_the_reason() {
    let reason = |id: &str, r: &str| Op::Release {
        id: id.into(),
        reason: Some(r.into()),
    };
    // (steps before, the release, st's answer)
    let cases: [(Vec<Op>, Op, Result<&str, &str>); 5] = [
        (vec![], reason("nope", ""), Err("UnknownItemId")),
        (vec![], reason("cfg", ""), Err("NoHeldClaim")),
        (
            vec![claim(&["cfg"], None, "teams", None)],
            reason("cfg", ""),
            Ok("released claim for cfg"),
        ),
        (
            vec![claim(&["cfg"], None, "teams", None), runtime("cfg", "t")],
            reason("cfg", " "),
            Err("EmptyString"),
        ),
        (
            vec![claim(&["cfg"], None, "teams", None), runtime("cfg", "t")],
            reason("cfg", "done"),
            Ok("released claim for cfg"),
        ),
    ];
    for (before, op, want) in cases {
        let c = Case::new();
        c.import("claim-safe-wave.yaml");
        let l = c.at(T0);
        for step in &before {
            l.apply(step).unwrap();
        }
        let bytes = c.bytes();
        let got = l.apply(&op);
        match (want, got) {
            (Ok(line), Ok(got)) => assert_eq!(got, line),
            (Err(code), Err(e)) => {
                assert_eq!(e.code(), code, "{op:?}: {e}");
                assert_eq!(c.bytes(), bytes);
            }
            (want, got) => panic!("{op:?}: want {want:?}, got {got:?}"),
        }
    }
}

/// A claim with neither `--wave` nor ids is refused before the file is read, as st does (so
/// even an unreadable plan answers `MissingIdsValue`).
#[test]
fn a_claim_without_ids_or_wave_is_refused_before_reading() {
    let c = Case::new();
    std::fs::create_dir_all(c.plan.parent().unwrap()).unwrap();
    std::fs::write(&c.plan, "not json\n").unwrap();
    let err = c
        .at(T0)
        .apply(&claim_text(" ", None, "teams", None))
        .unwrap_err();
    assert_eq!(err.code(), "MissingIdsValue");
}

/// Case 5: after a mutation st prints `plan_sync: {…}` and `update_plan: {…}` (reference §3,
/// §6): every item enriched as `show` does, then the in-plan items as `[id] step` for Codex and
/// as todos for OpenCode; `update_plan` repeats the Codex entries.
#[test]
fn a_mutation_reports_plan_sync_and_update_plan() {
    let c = Case::new();
    c.import("claim-safe-wave.yaml");
    let l = c.at(T0);
    l.apply(&claim(&[], Some("w1"), "teams", None)).unwrap();
    let out = l.apply_with_sync(&runtime("cfg", "thread-cfg")).unwrap();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 3, "{out}");
    assert_eq!(lines[0], "attached runtime metadata to cfg");
    let sync: Value = serde_json::from_str(lines[1].strip_prefix("plan_sync: ").unwrap()).unwrap();
    let keys: Vec<&str> = sync
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys, ["version", "items", "codex", "opencode"]);
    assert_eq!(sync["version"], 1);
    assert_eq!(sync["items"], l.show(Surface::All).unwrap()["items"]);
    let plan = serde_json::json!([
        {"step": "[cfg] Update config loader", "status": "in_progress"},
        {"step": "[ui] Update settings UI", "status": "pending"},
    ]);
    assert_eq!(sync["codex"]["plan"], plan);
    assert_eq!(
        sync["opencode"]["todos"],
        serde_json::json!([
            {"content": "Update config loader", "status": "in_progress", "priority": "medium"},
            {"content": "Update settings UI", "status": "pending", "priority": "medium"},
        ])
    );
    assert_eq!(
        lines[2],
        format!("update_plan: {}", serde_json::json!({ "plan": plan }))
    );
}

/// Case 6: the writer's session is recorded as `mutation.session` (absent without one).
#[test]
fn the_session_is_recorded_in_the_mutation() {
    let c = Case::new();
    c.import("claim-safe-wave.yaml");
    let text = || String::from_utf8(c.bytes()).unwrap();
    assert!(
        text().contains(r#""mutation":{"allow_multiple_in_progress":false,"actor":"tk","pid":"#)
    );
    assert!(!text().contains("session"));
    c.at(T0)
        .with_session(Some("thread-9".into()))
        .apply(&claim(&["cfg"], None, "teams", None))
        .unwrap();
    let pid = std::process::id();
    let want = format!(
        r#""mutation":{{"allow_multiple_in_progress":false,"actor":"tk","pid":{pid},"session":"thread-9"}}"#
    );
    assert_eq!(text().matches(&want).count(), 2, "{}", text());
}

/// Padded list entries (scope, location, …) are trimmed on read, as st reads and rewrites them.
#[test]
fn padded_list_entries_are_trimmed_as_st_trims_them() {
    let text = r#"{"v":3,"seq":1,"lane":"event","op":"replace","items":[{"id":"a","step":"A","deps":[],"scope":[" src/a ","\tb\n","  "],"location":" x "}]}"#;
    let item = &parse_stream(text).unwrap().items[0];
    assert_eq!(item.scope, ["src/a", "b"]);
    assert_eq!(item.location, ["x"]);
}

/// (id, scope, wave id) per imported item, or the identifier the import is refused with.
type Read = Result<Vec<(String, Vec<String>, String)>, String>;

/// Imports the OrchPlan `text`, written to a file named `name`.
fn read_orchplan_text(name: &str, text: &str) -> Read {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    let items =
        crate::ledger::orchplan::read_orchplan(&path, false).map_err(|e| e.code().to_owned())?;
    Ok(items
        .into_iter()
        .map(|i| {
            let wave = i.source.map(|s| s.wave_id).unwrap_or_default();
            (i.id, i.scope, wave)
        })
        .collect())
}

/// The OrchPlan corners where cas deliberately differs from st (listed, with reasons, in the
/// `cas st` module doc and the scenario guide): `Ok` is (id, scope, wave id) per item.
#[test]
fn orchplan_corners_are_read_as_documented() {
    let one = |id: &str, scope: &str, wave: &str| -> Read {
        Ok(vec![(
            id.to_owned(),
            vec![scope.to_owned()],
            wave.to_owned(),
        )])
    };
    let cases = [
        // 3: YAML escapes are decoded; an invalid escape is refused.
        (
            "tasks:\n  - id: a\n    scope: [\"a \\\"b\\\"\"]\n",
            one("a", "a \"b\"", ""),
        ),
        (
            "tasks:\n  - id: a\n    scope: \"src\\\\win\"\n",
            one("a", "src\\win", ""),
        ),
        (
            "tasks:\n  - id: a\n    scope: \"src\\win\"\n",
            Err("InvalidOrchPlan".to_owned()),
        ),
        // 4: a block list under a wave is the wave's tasks.
        (
            "tasks:\n  - id: a\n    scope: src/a\nwaves:\n  - id: w1\n    tasks:\n      - a\n",
            one("a", "src/a", "w1"),
        ),
        // 5: a tab in the indentation is refused.
        ("tasks:\n\t- id: a\n", Err("InvalidOrchPlan".to_owned())),
        // 6: a task without an id is refused (st drops it).
        (
            "tasks:\n  - id: a\n    scope: s\n  - title: t\n",
            Err("InvalidOrchPlan".to_owned()),
        ),
        (
            r#"{"tasks":[{"id":"a","scope":"s"},{"title":"t"}]}"#,
            Err("InvalidOrchPlan".to_owned()),
        ),
    ];
    for (text, want) in cases {
        let name = if text.starts_with('{') {
            "p.json"
        } else {
            "p.yaml"
        };
        assert_eq!(read_orchplan_text(name, text), want, "{text}");
    }
}
