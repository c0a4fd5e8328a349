//! A property test over random operation sequences (issue 17): claims by ids and by wave,
//! heartbeats, runtimes, proofs, releases and reclaims, with the clock moving between steps.
//!
//! After every step: held claims' roots are pairwise disjoint; an accepted op moves the seq by
//! exactly one; a refused op leaves the file byte-for-byte unchanged; and the file's `event`
//! record replays to exactly its `checkpoint`. The case count is bounded so `cargo test` stays
//! within a few seconds.

use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError};

use super::*;
use crate::ledger::item::ClaimState;
use crate::ledger::lock_roots::{lists_overlap, EVERYTHING};

/// Item ids an op may name (`zz` is unknown).
const IDS: [&str; 6] = ["t1", "t2", "t3", "t4", "t5", "zz"];
const EXECUTORS: [&str; 3] = ["teams", "mesh", "local"];
const WAVES: [&str; 3] = ["w1", "w2", "w9"];
const PROOFS: [&str; 3] = ["pass", "fail", "not_run"];

/// Tasks with nested, disjoint and everything-scopes, in two waves and none.
const ORCHPLAN: &str = r#"{"tasks":[
  {"id":"t1","scope":["src/a/**"]},
  {"id":"t2","scope":["src/a/b"]},
  {"id":"t3","scope":["src/c"]},
  {"id":"t4","scope":["src/d/*.rs"]},
  {"id":"t5"}],
 "waves":[{"id":"w1","tasks":["t1","t3"]},{"id":"w2","tasks":["t2","t4"]}]}"#;

/// One random step, before it becomes an [`Op`].
#[derive(Debug, Clone)]
enum Step {
    Ids(Vec<usize>, usize, i64),
    Wave(usize, usize),
    Heartbeat(usize),
    Runtime(usize),
    Proof(usize, usize),
    Release(usize),
    Reclaim,
}

fn step() -> impl Strategy<Value = Step> {
    let id = 0..IDS.len();
    prop_oneof![
        3 => (
            proptest::collection::vec(0..IDS.len(), 1..4),
            0..EXECUTORS.len(),
            prop::sample::select(vec![30_i64, 120, 900]),
        )
            .prop_map(|(ids, e, lease)| Step::Ids(ids, e, lease)),
        2 => (0..WAVES.len(), 0..EXECUTORS.len()).prop_map(|(w, e)| Step::Wave(w, e)),
        1 => id.clone().prop_map(Step::Heartbeat),
        2 => id.clone().prop_map(Step::Runtime),
        1 => (id.clone(), 0..PROOFS.len()).prop_map(|(i, p)| Step::Proof(i, p)),
        2 => id.prop_map(Step::Release),
        1 => Just(Step::Reclaim),
    ]
}

fn op(step: &Step) -> Op {
    match step {
        Step::Ids(ids, e, lease) => Op::Claim {
            ids: vec![ids.iter().map(|&i| IDS[i]).collect::<Vec<_>>().join(",")],
            wave: None,
            executor: EXECUTORS[*e].into(),
            lease_seconds: Some(Lease::Seconds(*lease)),
        },
        Step::Wave(w, e) => claim(&[], Some(WAVES[*w]), EXECUTORS[*e], None),
        Step::Heartbeat(i) => Op::Heartbeat { id: IDS[*i].into() },
        Step::Runtime(i) => runtime(IDS[*i], "thread"),
        Step::Proof(i, p) => proof(IDS[*i], PROOFS[*p]),
        Step::Release(i) => Op::Release {
            id: IDS[*i].into(),
            reason: None,
        },
        Step::Reclaim => Op::ReclaimStale { now: None },
    }
}

/// The invariants every state on disk must keep.
fn check_file(plan: &Path) -> Result<Ledger, TestCaseError> {
    let text = fs::read_to_string(plan).map_err(|e| TestCaseError::fail(e.to_string()))?;
    let ledger = parse_stream(&text).map_err(|e| TestCaseError::fail(e.to_string()))?;
    let held: Vec<(&str, Vec<String>)> = ledger
        .items
        .iter()
        .filter_map(|i| {
            let c = i.claim.as_ref().filter(|c| c.state == ClaimState::Held)?;
            let roots = if c.lock_roots.is_empty() {
                vec![EVERYTHING.to_owned()]
            } else {
                c.lock_roots.clone()
            };
            Some((i.id.as_str(), roots))
        })
        .collect();
    for (n, (a, ra)) in held.iter().enumerate() {
        for (b, rb) in &held[n + 1..] {
            prop_assert!(
                !lists_overlap(ra, rb),
                "held {a} {ra:?} overlaps {b} {rb:?}"
            );
        }
    }
    let lines: Vec<&str> = text.lines().collect();
    prop_assert_eq!(lines.len(), 2, "the canonical pair");
    let record = |l: &str| serde_json::from_str::<Value>(l).unwrap_or(Value::Null);
    let (event, checkpoint) = (record(lines[0]), record(lines[1]));
    prop_assert_eq!(&event["lane"], "event");
    prop_assert_eq!(&checkpoint["lane"], "checkpoint");
    prop_assert_eq!(&event["seq"], &checkpoint["seq"]);
    prop_assert_eq!(&event["items"], &checkpoint["items"]);
    let replayed = parse_stream(lines[0]).map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert_eq!(&replayed.items, &ledger.items, "event replay = checkpoint");
    Ok(ledger)
}

fn run(steps: &[(Step, i64)]) -> Result<usize, TestCaseError> {
    let dir = tempfile::tempdir().map_err(|e| TestCaseError::fail(e.to_string()))?;
    let plan = dir.path().join(".step/st-plan.jsonl");
    let input = dir.path().join("orchplan.json");
    fs::write(&input, ORCHPLAN).map_err(|e| TestCaseError::fail(e.to_string()))?;
    let mut secs = T0;
    let import = Op::ImportOrchplan {
        input,
        replace: true,
        backlog_only: false,
    };
    let at = |secs| ClaimLedger::new(&plan, "tk").with_clock(Clock::Fixed(secs));
    at(secs)
        .apply(&import)
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    let mut accepted = 0;
    for (step, dt) in steps {
        secs += dt;
        let before = fs::read(&plan).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let seq = check_file(&plan)?.watermark;
        match at(secs).apply(&op(step)) {
            Ok(_) => {
                accepted += 1;
                prop_assert_eq!(check_file(&plan)?.watermark, seq + 1, "{:?}", step);
            }
            Err(_) => {
                let after = fs::read(&plan).map_err(|e| TestCaseError::fail(e.to_string()))?;
                prop_assert!(after == before, "refused {step:?} changed the file");
            }
        }
    }
    Ok(accepted)
}

proptest! {
    #![proptest_config(Config {
        cases: 32,
        failure_persistence: None,
        ..Config::default()
    })]

    #[test]
    fn random_op_sequences_keep_the_ledger_invariants(
        steps in proptest::collection::vec((step(), 0_i64..200), 1..16)
    ) {
        run(&steps)?;
    }
}

/// The generated sequences are not vacuous: a fixed one with every kind of op gets accepted.
#[test]
fn a_fixed_sequence_exercises_every_op() {
    let steps = [
        (Step::Wave(0, 0), 0),
        (Step::Runtime(0), 1),
        (Step::Ids(vec![3, 3], 1, 30), 1),
        (Step::Heartbeat(3), 1),
        (Step::Proof(0, 0), 1),
        (Step::Release(0), 1),
        (Step::Reclaim, 100),
    ];
    assert_eq!(run(&steps).unwrap(), 7);
}
