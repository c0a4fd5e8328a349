//! The claim ledger across processes: concurrent writers, killed writers, and the external-`st`
//! backend driven through a wrapper around `cas st`.
//!
//! Scratch files live under `CARGO_TARGET_TMPDIR`, inside this (git) work tree where `target/`
//! is ignored, so every write also passes `st`'s `git check-ignore` rule for the lock sidecar.

mod support;

use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use cas::ledger::lists_overlap;
use cas::ledger::{parse_stream, ClaimBackend, ClaimLedger, External, InProcess, Op};
use pretty_assertions::assert_eq;
use serde_json::{json, Value};

fn scratch(name: &str) -> PathBuf {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("ledger-{name}-{}-{nanos}", std::process::id()));
    fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

/// `st OP --file PLAN ARGS…`: the op first, then the plan, then the op's flags.
fn st_args(plan: &Path, args: &[&str]) -> Vec<OsString> {
    let mut all: Vec<OsString> = vec!["st".into(), args[0].into(), "--file".into(), plan.into()];
    all.extend(args[1..].iter().map(OsString::from));
    all
}

/// `cas st` as a process to spawn (and maybe kill) while others run.
fn st(plan: &Path, args: &[&str]) -> Command {
    let mut cmd = support::cas_process();
    cmd.args(st_args(plan, args))
        .env("ST_ACTOR", "tester")
        .stdin(Stdio::null());
    cmd
}

/// `cas st` run to completion.
fn run(plan: &Path, args: &[&str]) -> Output {
    support::cas()
        .args(st_args(plan, args))
        .env("ST_ACTOR", "tester")
        .output()
        .expect("run cas st")
}

fn ok(plan: &Path, args: &[&str]) -> String {
    let out = run(plan, args);
    assert!(
        out.status.success(),
        "cas st {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// An OrchPlan (JSON) with one task per `(id, scope)`, and a fixed-length title.
fn write_plan(dir: &Path, tasks: &[(String, String)]) -> PathBuf {
    let tasks: Vec<Value> = tasks
        .iter()
        .map(|(id, scope)| json!({"id": id, "title": format!("{id} {}", "x".repeat(200)), "scope": [scope], "validation": ["cargo test"]}))
        .collect();
    let path = dir.join("orchplan.json");
    fs::write(&path, json!({ "tasks": tasks }).to_string()).expect("write orchplan");
    path
}

fn load(plan: &Path) -> cas::ledger::Ledger {
    parse_stream(&fs::read_to_string(plan).expect("read plan")).expect("valid stream")
}

#[test]
fn eight_processes_claiming_at_once_lose_no_update_and_never_overlap() {
    let dir = scratch("eight");
    let plan = dir.join(".step/st-plan.jsonl");
    let scopes = [
        "src/a/**",
        "src/b/**",
        "src/a/x/**",
        "docs/**",
        "src/**",
        "tests/**",
        "src/b/c.rs",
        "scripts/*.sh",
    ];
    let tasks: Vec<(String, String)> = scopes
        .iter()
        .enumerate()
        .map(|(i, s)| (format!("t{}", i + 1), s.to_string()))
        .collect();
    let input = write_plan(&dir, &tasks);
    ok(
        &plan,
        &[
            "import-orchplan",
            "--input",
            input.to_str().unwrap(),
            "--replace",
        ],
    );
    let started = Instant::now();

    // Round 1: eight claims at once; overlapping scopes mean some must lose, by conflict only.
    let children: Vec<_> = tasks
        .iter()
        .map(|(id, _)| {
            st(
                &plan,
                &[
                    "claim",
                    "--ids",
                    id,
                    "--executor",
                    "teams",
                    "--lease-seconds",
                    "600",
                ],
            )
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn")
        })
        .collect();
    let outcomes: Vec<(String, Output)> = tasks
        .iter()
        .map(|(id, _)| id.clone())
        .zip(
            children
                .into_iter()
                .map(|c| c.wait_with_output().expect("wait")),
        )
        .collect();
    let mut won = Vec::new();
    for (id, out) in &outcomes {
        let stderr = String::from_utf8_lossy(&out.stderr);
        if out.status.success() {
            won.push(id.clone());
        } else {
            assert!(
                stderr.starts_with("error: ScopeClaimConflict:"),
                "{id} failed otherwise: {stderr}"
            );
        }
    }
    let ledger = load(&plan);
    assert_eq!(
        ledger.watermark,
        1 + won.len() as i64,
        "one seq per successful claim"
    );
    let held: Vec<_> = ledger
        .items
        .iter()
        .filter(|i| i.claim.as_ref().is_some_and(|c| c.state.as_str() == "held"))
        .collect();
    let mut held_ids: Vec<String> = held.iter().map(|i| i.id.clone()).collect();
    held_ids.sort();
    won.sort();
    assert_eq!(
        held_ids, won,
        "every successful claim is in the file, and only those"
    );
    for (n, a) in held.iter().enumerate() {
        for b in &held[n + 1..] {
            let (ra, rb) = (
                &a.claim.as_ref().unwrap().lock_roots,
                &b.claim.as_ref().unwrap().lock_roots,
            );
            assert!(
                !lists_overlap(ra, rb),
                "{} {ra:?} and {} {rb:?} are both held",
                a.id,
                b.id
            );
        }
    }
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
    let workers: Vec<_> = tasks
        .iter()
        .map(|(id, _)| {
            let (plan, id) = (plan.clone(), id.clone());
            thread::spawn(move || {
                for round in 0..5 {
                    let command = format!("run-{id}-{round}");
                    let out = run(
                        &plan,
                        &[
                            "set-proof",
                            "--id",
                            &id,
                            "--proof-state",
                            "pass",
                            "--command",
                            &command,
                        ],
                    );
                    assert!(
                        out.status.success(),
                        "{id}: {}",
                        String::from_utf8_lossy(&out.stderr)
                    );
                }
            })
        })
        .collect();
    for w in workers {
        w.join().expect("worker");
    }
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

/// A small deterministic generator for the kill delays (seed printed on failure).
struct XorShift(u64);

impl XorShift {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n.max(1)
    }
}

#[test]
fn a_writer_killed_mid_write_leaves_the_previous_file_intact() {
    let dir = scratch("kill");
    let plan = dir.join("st-plan.jsonl");
    let tasks: Vec<(String, String)> = (0..400)
        .map(|i| (format!("k{i}"), format!("area{i}/**")))
        .collect();
    let input = write_plan(&dir, &tasks);
    ok(
        &plan,
        &[
            "import-orchplan",
            "--input",
            input.to_str().unwrap(),
            "--replace",
        ],
    );
    // How long one uninterrupted write takes (median of three), so kills land before, during
    // and after it; half of them aim at its end, where the temp file is written and renamed.
    let mut spans: Vec<u64> = (0..3)
        .map(|n| {
            let timed = Instant::now();
            ok(
                &plan,
                &[
                    "set-proof",
                    "--id",
                    "k0",
                    "--proof-state",
                    "pass",
                    "--command",
                    &format!("warmup-{n}"),
                ],
            );
            timed.elapsed().as_micros() as u64
        })
        .collect();
    spans.sort();
    let span = spans[1];
    let seed = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(7, |d| d.as_nanos() as u64)
        | 1;
    let mut rng = XorShift(seed);
    let (mut unchanged, mut advanced) = (0, 0);
    for n in 0..40 {
        let before = fs::read(&plan).expect("read");
        let before_seq = parse_stream(&String::from_utf8_lossy(&before))
            .expect("valid")
            .watermark;
        let id = format!("k{}", n % 400);
        let command = format!("kill-{n}");
        let mut child = st(
            &plan,
            &[
                "set-proof",
                "--id",
                &id,
                "--proof-state",
                "fail",
                "--command",
                &command,
            ],
        )
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
        let delay = if n % 2 == 0 {
            rng.below(span * 6 / 5)
        } else {
            span * 4 / 5 + rng.below(span / 4)
        };
        thread::sleep(Duration::from_micros(delay));
        let _ = child.kill(); // SIGKILL; it may have finished already
        let _ = child.wait();
        let after = fs::read(&plan).expect("read");
        let ledger = parse_stream(&String::from_utf8_lossy(&after))
            .unwrap_or_else(|e| panic!("seed {seed} kill {n}: the file no longer parses: {e}"));
        if after == before {
            unchanged += 1;
        } else {
            advanced += 1;
            assert_eq!(ledger.watermark, before_seq + 1, "seed {seed} kill {n}");
            let item = ledger.items.iter().find(|i| i.id == id).expect("item");
            assert_eq!(
                item.proof.as_ref().map(|p| p.command.as_str()),
                Some(command.as_str()),
                "seed {seed} kill {n}"
            );
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

/// Replaces every `YYYY-MM-DDTHH:MM:SSZ` string (claim and proof times differ between runs).
fn redact_times(v: &mut Value) {
    match v {
        Value::String(s) if s.len() == 20 && s.as_bytes()[10] == b'T' && s.ends_with('Z') => {
            *s = "<ts>".into()
        }
        Value::Array(a) => a.iter_mut().for_each(redact_times),
        Value::Object(m) => m.values_mut().for_each(redact_times),
        _ => {}
    }
}

#[test]
fn external_st_through_a_wrapper_matches_in_process_for_claim_safe_wave() {
    let dir = scratch("external");
    let wrapper = dir.join("st");
    fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\nST_ACTOR=tester exec '{}' st \"$@\"\n",
            support::cas_bin().display()
        ),
    )
    .expect("wrapper");
    let mut perms = fs::metadata(&wrapper).expect("meta").permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
    fs::set_permissions(&wrapper, perms).expect("chmod");
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/st/claim-safe-wave.yaml");
    let inproc = InProcess(ClaimLedger::new(dir.join("a/st-plan.jsonl"), "tester"));
    let external = External::new(&wrapper, dir.join("b/st-plan.jsonl"));
    assert!(external.describe().starts_with("st binary "));
    let runtime = |id: &str| Op::SetRuntime {
        id: id.into(),
        substrate: "spawn_agent".into(),
        thread_id: Some(format!("thread-{id}")),
        agent_id: None,
        row_id: None,
        output_ref: None,
        last_event: None,
    };
    let claim = |ids: &[&str]| Op::Claim {
        ids: ids.iter().map(|s| s.to_string()).collect(),
        wave: Some("w1".into()),
        executor: "teams".into(),
        lease_seconds: None,
    };
    let steps: Vec<(Op, Result<&str, &str>)> = vec![
        (
            Op::ImportOrchplan {
                input: fixture.clone(),
                replace: true,
                backlog_only: false,
            },
            Ok("replaced plan from orchplan"),
        ),
        (
            claim(&["cfg", "ui"]),
            Err("OrchplanWaveClaimDoesNotAcceptIds"),
        ),
        (claim(&[]), Ok("claimed 2 item(s) in wave w1")),
        (claim(&[]), Err("ItemAlreadyClaimed")),
        (runtime("cfg"), Ok("attached runtime metadata to cfg")),
        (runtime("ui"), Ok("attached runtime metadata to ui")),
    ];
    for (op, want) in &steps {
        for backend in [&inproc as &dyn ClaimBackend, &external] {
            match (backend.apply(op), want) {
                (Ok(line), Ok(prefix)) => assert!(
                    line.starts_with(prefix),
                    "{}: {op:?} -> {line}",
                    backend.describe()
                ),
                (Err(e), Err(code)) => {
                    assert_eq!(e.code(), *code, "{}: {op:?} -> {e}", backend.describe())
                }
                (got, _) => panic!(
                    "{}: {op:?} -> {got:?}, expected {want:?}",
                    backend.describe()
                ),
            }
        }
    }
    let err = external.apply(&claim(&[])).unwrap_err();
    assert!(
        err.detail()
            .starts_with("exit=1 stderr=error: ItemAlreadyClaimed:"),
        "{err}"
    );
    let (mut a, mut b) = (inproc.show().expect("show"), external.show().expect("show"));
    redact_times(&mut a);
    redact_times(&mut b);
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
