//! The claim ledger across processes: concurrent writers, killed writers, and the external-`st`
//! backend driven through a wrapper around `cas st`.
//!
//! Scratch files live under `CARGO_TARGET_TMPDIR`, inside this (git) work tree where `target/`
//! is ignored, so every write also passes `st`'s `git check-ignore` rule for the lock sidecar.
//! The tests are listed here; what they drive lives in `tests/ledger/`.

#[path = "ledger/backends.rs"]
mod backends;
#[path = "ledger/cas_st.rs"]
mod cas_st;
#[path = "ledger/concurrent.rs"]
mod concurrent;
#[path = "ledger/killed.rs"]
mod killed;
mod support;

use std::fs;
use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use cas::ledger::{ClaimBackend, ClaimLedger, External, InProcess};
use pretty_assertions::assert_eq;
use serde_json::json;

use cas_st::{import, load, ok, run, scratch};
use killed::XorShift;

#[test]
fn eight_processes_claiming_at_once_lose_no_update_and_never_overlap() {
    let dir = scratch("eight");
    let plan = dir.join(".step/st-plan.jsonl");
    let tasks = concurrent::eight_tasks();
    import(&dir, &plan, &tasks);
    let started = Instant::now();

    // Round 1: eight claims at once; overlapping scopes mean some must lose, by conflict only.
    let mut won = concurrent::claim_all_at_once(&plan, &tasks);
    let ledger = load(&plan);
    let held_ids = concurrent::held_exactly_the_winners(&ledger, &mut won);
    for disjoint in ["t4", "t6", "t8"] {
        assert!(
            won.iter().any(|w| w == disjoint),
            "{disjoint} overlaps nothing and must win"
        );
    }
    assert!(
        won.len() <= 6,
        "t1/t3, t2/t7 and t5 overlap: at least two claims must lose"
    );

    // Round 2: eight workers, five proofs each, all at once: 40 mutations, none lost.
    let seq_before = ledger.watermark;
    concurrent::prove_all_at_once(&plan, &tasks);
    let ledger = load(&plan);
    assert_eq!(
        ledger.watermark,
        seq_before + 40,
        "every mutation moved the seq once"
    );
    for item in &ledger.items {
        assert_eq!(
            item.proof.as_ref().map(|p| p.command.clone()),
            Some(format!("run-{}-4", item.id))
        );
    }
    assert_eq!(
        held_ids.len(),
        ledger.items.iter().filter(|i| i.claim.is_some()).count(),
        "round 2 kept round 1's claims"
    );
    eprintln!(
        "eight-process test: {} claims won, 48 processes in {:?}",
        won.len(),
        started.elapsed()
    );
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn a_writer_killed_mid_write_leaves_the_previous_file_intact() {
    let dir = scratch("kill");
    let plan = dir.join("st-plan.jsonl");
    let tasks: Vec<(String, String)> = (0..400)
        .map(|i| (format!("k{i}"), format!("area{i}/**")))
        .collect();
    import(&dir, &plan, &tasks);
    // How long one uninterrupted write takes (median of three), so kills land before, during
    // and after it; half of them aim at its end, where the temp file is written and renamed.
    let span = killed::write_span(&plan);
    let seed = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(7, |d| d.as_nanos() as u64)
        | 1;
    let mut rng = XorShift(seed);
    let (mut unchanged, mut advanced) = (0, 0);
    for n in 0..40 {
        let delay = if n % 2 == 0 {
            rng.below(span * 6 / 5)
        } else {
            span * 4 / 5 + rng.below(span / 4)
        };
        if killed::kill_one_write(&plan, n, Duration::from_micros(delay), seed) {
            advanced += 1;
        } else {
            unchanged += 1;
        }
    }
    // Killed writers may leave temp files; readers and the next writer ignore them, and the
    // kernel released each killed writer's lock.
    let strays = fs::read_dir(&dir)
        .expect("dir")
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .count();
    let seq = load(&plan).watermark;
    ok(
        &plan,
        &[
            "set-proof",
            "--id",
            "k1",
            "--proof-state",
            "pass",
            "--command",
            "after",
            "--lock-timeout-ms",
            "5000",
        ],
    );
    assert_eq!(load(&plan).watermark, seq + 1);
    assert!(
        ok(&plan, &["show", "--surface", "all", "--format", "json"]).starts_with("{\"items\":[")
    );
    eprintln!("kill test: seed {seed}, write span {span} us, {unchanged} unchanged, {advanced} advanced, {strays} stray temp files");
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn external_st_through_a_wrapper_matches_in_process_for_claim_safe_wave() {
    let dir = scratch("external");
    let wrapper = backends::st_wrapper(&dir);
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/st/claim-safe-wave.yaml");
    let inproc = InProcess(ClaimLedger::new(dir.join("a/st-plan.jsonl"), "tester"));
    let external = External::new(&wrapper, dir.join("b/st-plan.jsonl"));
    assert!(external.describe().starts_with("st binary "));
    for (op, want) in &backends::claim_safe_wave_steps(&fixture) {
        for backend in [&inproc as &dyn ClaimBackend, &external] {
            backends::apply_as_wanted(backend, op, want);
        }
    }
    let err = external.apply(&backends::wave_claim(&[])).unwrap_err();
    assert!(
        err.detail()
            .starts_with("exit=1 stderr=error: ItemAlreadyClaimed:"),
        "{err}"
    );
    let (mut a, mut b) = (inproc.show().expect("show"), external.show().expect("show"));
    backends::redact_times(&mut a);
    backends::redact_times(&mut b);
    assert_eq!(a, b);
    for id in ["cfg", "ui"] {
        let item = a["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["id"] == id)
            .unwrap();
        assert_eq!(
            (
                item["status"].clone(),
                item["claim_state"].clone(),
                item["executor_state"].clone()
            ),
            (json!("in_progress"), json!("held"), json!("running"))
        );
    }
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn cas_st_reports_errors_as_st_does() {
    let dir = scratch("errors");
    let plan = dir.join("st-plan.jsonl");
    let out = run(&plan, &["heartbeat", "--id", "nope"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim(),
        "error: UnknownItemId: no item \"nope\""
    );
    assert!(!plan.exists(), "a refused op writes nothing");
    let out = run(
        &plan,
        &[
            "claim",
            "--executor",
            "teams",
            "--lease-seconds",
            "soon",
            "--ids",
            "a",
        ],
    );
    assert!(String::from_utf8_lossy(&out.stderr).starts_with("error: InvalidLeaseSeconds:"));
    let out = run(&plan, &["claim", "--ids", "a"]);
    assert_eq!(out.status.code(), Some(2), "usage errors exit 2");
    fs::write(
        &plan,
        "{\"v\":3,\"seq\":1,\"lane\":\"event\",\"op\":\"init\"}\nnot json\n",
    )
    .expect("write");
    let out = run(&plan, &["show", "--format", "json"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        (
            stderr.starts_with("error: InvalidRecord:"),
            stderr.contains("line 2")
        ),
        (true, true),
        "an InvalidRecord error naming line 2: {stderr}"
    );
    let _ = fs::remove_dir_all(&dir);
}

/// Issue 17 cases 5 and 6 end to end: after a mutation `cas st` prints st's human line, then
/// `plan_sync:` and `update_plan:`; the writer comes from st's variables (owner `unknown`
/// without any, the session from `CODEX_THREAD_ID` when `ST_SESSION_ID` is not set).
#[test]
fn cas_st_prints_sync_lines_and_records_the_writer_from_the_environment() {
    let dir = scratch("writer");
    let plan = dir.join("st-plan.jsonl");
    import(&dir, &plan, &[("a".to_owned(), "src/a".to_owned())]);
    let file = plan.to_str().unwrap();
    let out = support::cas()
        .args([
            "st",
            "claim",
            "--file",
            file,
            "--ids",
            "a",
            "--executor",
            "teams",
        ])
        .env_remove("ST_ACTOR")
        .env_remove("ST_COMMENT_AUTHOR")
        .env_remove("USER")
        .env_remove("LOGNAME")
        .env_remove("ST_SESSION_ID")
        .env("CODEX_THREAD_ID", "thread-7")
        .output()
        .expect("run cas st");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{stdout}");
    assert_eq!(lines[0], "claimed 1 item(s) in wave manual");
    assert!(
        lines[1].starts_with("plan_sync: {\"version\":1,\"items\":[{\"id\":\"a\""),
        "{stdout}"
    );
    assert!(
        lines[2].starts_with("update_plan: {\"plan\":[{\"step\":\"[a] a "),
        "{stdout}"
    );
    let ledger = load(&plan);
    let claim = ledger.items[0].to_json()["claim"].clone();
    assert_eq!(claim["owner"], "unknown");
    let text = fs::read_to_string(&plan).expect("read plan");
    assert!(text.contains(r#""actor":"unknown","pid":"#), "{text}");
    assert_eq!(
        text.matches(r#""session":"thread-7"}"#).count(),
        2,
        "{text}"
    );
    let _ = fs::remove_dir_all(&dir);
}

/// What a new user hit with `cas st` (issue 16): `show` of a plan file that does not exist is
/// refused, the snake_case command names the scenario files use are taken, and a refusal names
/// the bad value as JSON, never as Rust debug text.
#[test]
fn cas_st_refuses_a_missing_plan_takes_snake_case_names_and_shows_values_as_json() {
    let dir = scratch("new-user");
    let plan = dir.join("st-plan.jsonl");
    let out = run(&plan, &["show"]);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(
        (
            out.status.code(),
            stderr.contains("no plan file"),
            out.stdout.is_empty()
        ),
        (Some(2), true, true),
        "{stderr}"
    );
    let out = run(
        &plan,
        &[
            "set_proof",
            "--id",
            "x",
            "--proof-state",
            "pass",
            "--command",
            "c",
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        stderr.starts_with("error: UnknownItemId:"),
        "set_proof is set-proof: {stderr}"
    );
    fs::write(&plan, "{\"v\":99,\"seq\":1}\n").expect("write");
    let out = run(&plan, &["show"]);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(
        (
            stderr.contains("unsupported version 99"),
            stderr.contains("Some(")
        ),
        (true, false),
        "{stderr}"
    );
    let _ = fs::remove_dir_all(&dir);
}
