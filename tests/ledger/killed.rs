//! `cas st` writers killed (SIGKILL) at random moments around a write: the plan file is either
//! the previous file, byte for byte, or the next one, whole.

use std::fs;
use std::path::Path;
use std::process::Stdio;
use std::thread;
use std::time::{Duration, Instant};

use cas::ledger::parse_stream;
use pretty_assertions::assert_eq;

use crate::cas_st::{ok, st};

/// A small deterministic generator for the kill delays (seed printed on failure).
pub struct XorShift(pub u64);

impl XorShift {
    /// The next number below `n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n.max(1)
    }
}

/// How long one uninterrupted write of `k0`'s proof takes, in microseconds (median of three).
pub fn write_span(plan: &Path) -> u64 {
    let mut spans: Vec<u64> = (0..3)
        .map(|n| {
            let timed = Instant::now();
            ok(
                plan,
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
    spans[1]
}

/// Kill number `n`: starts a failing proof for `k<n % 400>`, kills its writer after `delay`,
/// and checks the file is unchanged or advanced by exactly that proof. Returns whether it
/// advanced.
pub fn kill_one_write(plan: &Path, n: u64, delay: Duration, seed: u64) -> bool {
    let before = fs::read(plan).expect("read");
    let before_seq = parse_stream(&String::from_utf8_lossy(&before))
        .expect("valid")
        .watermark;
    let id = format!("k{}", n % 400);
    let command = format!("kill-{n}");
    let mut child = st(
        plan,
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
    thread::sleep(delay);
    let _ = child.kill(); // SIGKILL; it may have finished already
    let _ = child.wait();
    let after = fs::read(plan).expect("read");
    let ledger = parse_stream(&String::from_utf8_lossy(&after))
        .unwrap_or_else(|e| panic!("seed {seed} kill {n}: the file no longer parses: {e}"));
    if after == before {
        return false;
    }
    assert_eq!(ledger.watermark, before_seq + 1, "seed {seed} kill {n}");
    let item = ledger.items.iter().find(|i| i.id == id).expect("item");
    assert_eq!(
        item.proof.as_ref().map(|p| p.command.as_str()),
        Some(command.as_str()),
        "seed {seed} kill {n}"
    );
    true
}
