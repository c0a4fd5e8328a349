//! Many `cas st` writers on one plan at once: claims that race for overlapping scopes, and
//! proofs that race for the lock. No update may be lost and no two held claims may overlap.

use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::thread;

use cas::ledger::{lists_overlap, Ledger};
use pretty_assertions::assert_eq;

use crate::cas_st::{run, st};

/// Eight tasks `t1`…`t8`, each with one scope; `t1/t3`, `t2/t7` and `t5` overlap others, and
/// `t4`, `t6` and `t8` overlap nothing.
pub fn eight_tasks() -> Vec<(String, String)> {
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
    scopes
        .iter()
        .enumerate()
        .map(|(i, s)| (format!("t{}", i + 1), s.to_string()))
        .collect()
}

/// Spawns one claim per task at once and waits for all; returns the ids whose claim won.
/// Every claim that lost did so by a scope conflict only.
pub fn claim_all_at_once(plan: &Path, tasks: &[(String, String)]) -> Vec<String> {
    let children: Vec<_> = tasks
        .iter()
        .map(|(id, _)| {
            st(
                plan,
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
    won
}

/// The ledger after the claims: one seq per won claim, exactly the won claims held, and no two
/// held claims whose lock roots overlap. Returns the held ids, sorted (and sorts `won`).
pub fn held_exactly_the_winners(ledger: &Ledger, won: &mut [String]) -> Vec<String> {
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
    held_ids
}

/// One thread per task, all at once, each setting five passing proofs (`run-<id>-<round>`) one
/// after another.
pub fn prove_all_at_once(plan: &Path, tasks: &[(String, String)]) {
    let workers: Vec<_> = tasks
        .iter()
        .map(|(id, _)| {
            let (plan, id): (PathBuf, String) = (plan.to_path_buf(), id.clone());
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
}
