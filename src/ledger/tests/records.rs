//! The record stream: reading any valid stream, the seq contract, corrupt input, and the
//! canonical rewrite.

use crate::ledger::item::Status;
use crate::ledger::record::{parse_stream, render_canonical, Ledger, Mutation};

const ITEM_A: &str = r#"{"id":"a","step":"A","status":"pending","priority":"medium","in_plan":true,"deps":[],"notes":"","comments":[]}"#;

fn meta() -> Mutation {
    Mutation {
        allow_multiple_in_progress: false,
        actor: "tk".into(),
        pid: 12345,
        session: None,
    }
}

#[test]
fn the_reference_pair_reads_and_is_written_back_identically() {
    // st's reference pair: one replace event and its checkpoint at the same seq.
    let text = include_str!("reference_pair.jsonl");
    let ledger = parse_stream(text).unwrap();
    assert_eq!(ledger.watermark, 42);
    assert_eq!(ledger.items.len(), 1);
    assert_eq!(
        render_canonical(&ledger.items, 42, "2026-02-09T20:02:00Z", &meta()),
        text
    );
}

#[test]
fn a_multi_record_stream_with_a_checkpoint_replays_to_the_same_state_as_its_tail() {
    let b = ITEM_A.replace("\"a\"", "\"b\"").replace("\"A\"", "\"B\"");
    let text = [
        r#"{"v":3,"ts":"t","lane":"event","seq":1,"op":"init"}"#.to_owned(),
        format!(r#"{{"v":3,"ts":"t","lane":"event","seq":2,"op":"upsert","item":{ITEM_A}}}"#),
        format!(r#"{{"v":3,"ts":"t","lane":"event","seq":3,"op":"upsert_item","item":{b}}}"#),
        format!(r#"{{"v":3,"ts":"t","lane":"checkpoint","seq":3,"items":[{ITEM_A},{b}]}}"#),
        r#"{"v":3,"ts":"t","lane":"event","seq":4,"op":"set_status","id":"a","status":"done"}"#.to_owned(),
        r#"{"v":2,"ts":"t","seq":5,"op":"set_notes","id":"b","notes":"n"}"#.to_owned(),
        String::new(),
        r#"{"v":3,"ts":"t","lane":"event","seq":6,"op":"add_comment","id":"b","ts":"t","author":"tk","text":"hi"}"#.to_owned(),
        r#"{"v":3,"ts":"t","lane":"event","seq":7,"op":"set_deps","id":"b","deps":["a"]}"#.to_owned(),
    ]
    .join("\n");
    let full = parse_stream(&text).unwrap();
    assert_eq!(full.watermark, 7);
    let a = &full.items[0];
    assert_eq!((a.status, a.in_plan), (Status::Completed, false));
    let b = &full.items[1];
    assert_eq!(
        (b.notes.as_str(), b.comments.len(), b.deps.len()),
        ("n", 1, 1)
    );
    // Replay contract: the latest checkpoint plus what follows equals the full replay.
    // (A checkpoint must follow a record at its seq, so the tail starts at the seq-3 event.)
    let tail: Vec<&str> = text.lines().skip(2).collect();
    assert_eq!(parse_stream(&tail.join("\n")).unwrap().items, full.items);
    let removed = format!(
        "{text}\n{}",
        r#"{"v":3,"ts":"t","lane":"event","seq":8,"op":"remove","id":"a"}"#
    );
    let after = parse_stream(&removed).unwrap();
    assert_eq!(
        after
            .items
            .iter()
            .map(|i| i.id.as_str())
            .collect::<Vec<_>>(),
        ["b"]
    );
}

#[test]
fn corrupt_input_names_the_line() {
    let good = r#"{"v":3,"ts":"t","lane":"event","seq":1,"op":"init"}"#;
    // What follows the good first line, the identifier, and the line it names.
    let cases = [
        ("\n{not json", "InvalidRecord", "line 3"),
        ("[1]", "InvalidRecord", "line 2"),
        (
            r#"{"v":4,"seq":2,"lane":"event","op":"init"}"#,
            "SeqContractViolation",
            "line 2",
        ),
        (
            r#"{"v":3,"seq":-1,"lane":"event","op":"init"}"#,
            "InvalidSeq",
            "line 2",
        ),
        (
            r#"{"v":3,"seq":2,"lane":"side","op":"init"}"#,
            "SeqContractViolation",
            "line 2",
        ),
        (
            r#"{"v":3,"seq":1,"lane":"checkpoint","items":{}}"#,
            "InvalidCheckpoint",
            "line 2",
        ),
        (
            r#"{"v":3,"seq":2,"lane":"event","op":"replace"}"#,
            "ReplaceMissingItems",
            "line 2",
        ),
        (
            r#"{"v":3,"seq":2,"lane":"event","op":"upsert"}"#,
            "UpsertMissingItem",
            "line 2",
        ),
        (
            r#"{"v":3,"seq":2,"lane":"event","op":"explode"}"#,
            "InvalidOp",
            "line 2",
        ),
        (
            r#"{"v":3,"seq":2,"lane":"event","op":"set_status","id":"zz","status":"done"}"#,
            "UnknownItemId",
            "line 2",
        ),
        (
            r#"{"v":3,"seq":2,"lane":"event","op":"replace","items":[{"id":"a"}]}"#,
            "MissingStepValue",
            "line 2",
        ),
    ];
    for (next, code, line) in cases {
        let text = format!("{good}\n{next}");
        let err = parse_stream(&text).unwrap_err();
        assert_eq!(err.code(), code, "{text}: {err}");
        assert!(err.detail().starts_with(line), "{err}");
    }
}

#[test]
fn seq_contract_violations() {
    let cases = [
        // checkpoint seq must equal the watermark before it
        "{\"v\":3,\"seq\":5,\"lane\":\"event\",\"op\":\"init\"}\n{\"v\":3,\"seq\":6,\"lane\":\"checkpoint\",\"items\":[]}",
        "{\"v\":3,\"seq\":1,\"lane\":\"checkpoint\",\"items\":[]}",
        // records after the last checkpoint must increase
        "{\"v\":3,\"seq\":3,\"lane\":\"event\",\"op\":\"init\"}\n{\"v\":3,\"seq\":3,\"lane\":\"checkpoint\",\"items\":[]}\n{\"v\":3,\"seq\":3,\"lane\":\"event\",\"op\":\"init\"}",
    ];
    for text in cases {
        let err = parse_stream(text).unwrap_err();
        assert_eq!(err.code(), "SeqContractViolation", "{text}: {err}");
    }
    assert_eq!(parse_stream("").unwrap(), Ledger::default());
    let zero = "{\"v\":3,\"seq\":0,\"lane\":\"checkpoint\",\"items\":[]}";
    assert_eq!(parse_stream(zero).unwrap().watermark, 0);
}

/// Issue 17 case 4: what st accepts and refuses in a record's `v`, `seq`, `lane` and
/// `claim.state` (st's behaviour is the expected value; cas used to say
/// `UnsupportedSchemaVersion` / `InvalidSeq` / `InvalidLane` / `InvalidItem` here).
#[test]
fn version_seq_lane_and_claim_state_are_read_as_st_reads_them() {
    for (v, seq, lane, claim, want) in record_cases() {
        let text = pair(v, seq, lane, claim);
        let got = parse_stream(&text).map(|l| {
            l.items[0]
                .claim
                .as_ref()
                .map_or("", |c| c.state.as_str())
                .to_owned()
        });
        match (want, got) {
            (Ok(state), Ok(got)) => assert_eq!(got, state, "{text}"),
            (Err(code), Err(e)) => assert_eq!(e.code(), code, "{text}: {e}"),
            (want, got) => panic!("{text}: want {want:?}, got {got:?}"),
        }
    }
    // A missing version or seq also breaks the contract.
    for text in [
        r#"{"seq":1,"lane":"event","op":"init"}"#,
        r#"{"v":3,"lane":"event","op":"init"}"#,
    ] {
        assert_eq!(
            parse_stream(text).unwrap_err().code(),
            "SeqContractViolation"
        );
    }
}

/// A replace event and its checkpoint with one item, from the fields of a case.
fn pair(v: &str, seq: &str, lane: &str, claim: &str) -> String {
    let it = format!(
        r#"{{"id":"a","step":"A","status":"pending","priority":"medium","in_plan":true,"deps":[],"notes":"","comments":[]{claim}}}"#
    );
    format!(
        "{{\"v\":{v},\"seq\":{seq},{lane}\"op\":\"replace\",\"items\":[{it}]}}\n{{\"v\":{v},\"seq\":{seq},\"lane\":\"checkpoint\",\"items\":[{it}]}}"
    )
}

/// st's answer for a record: the item's claim state, or the identifier it refuses with.
type Want = Result<&'static str, &'static str>;

/// (v, seq, lane prefix, claim, st's answer).
fn record_cases() -> [(&'static str, &'static str, &'static str, &'static str, Want); 14] {
    let ev = "\"lane\":\"event\",";
    let side = "\"lane\":\"side\",";
    let gone = r#","claim":{"state":"gone"}"#;
    let contract = Err("SeqContractViolation");
    [
        ("3", "2", ev, "", Ok("")),
        ("3.0", "2", ev, "", Ok("")),
        ("3", "2.0", ev, "", Ok("")),
        ("3.0", "2.0", ev, r#","claim":{"state":"none"}"#, Ok("none")),
        ("3", "2", ev, r#","claim":{"lease_seconds":0}"#, Ok("none")),
        ("3", "2", ev, gone, Err("InvalidClaimState")),
        ("4", "2", ev, "", contract),
        ("3.5", "2", ev, "", contract),
        ("\"3\"", "2", ev, "", contract),
        ("3", "2.5", ev, "", contract),
        ("3", "\"2\"", ev, "", contract),
        ("3", "-1", ev, "", Err("InvalidSeq")),
        ("3", "2", side, "", contract),
        ("3", "2", "", "", contract),
    ]
}

#[test]
fn a_claim_without_a_state_is_written_back_as_none() {
    let text = r#"{"v":3,"seq":1,"lane":"event","op":"replace","items":[{"id":"a","step":"A","deps":[],"claim":{}}]}"#;
    let ledger = parse_stream(text).unwrap();
    let meta = Mutation {
        allow_multiple_in_progress: false,
        actor: "tk".into(),
        pid: 1,
        session: None,
    };
    let out = render_canonical(&ledger.items, 2, "t", &meta);
    assert!(
        out.contains(r#""claim":{"state":"none","lease_seconds":0,"attempts":0}"#),
        "{out}"
    );
}
