//! Tests through [`ClaimLedger`] on real files: every op's happy path and §3 error, seq rules,
//! derived fields, and that a refused op leaves the file byte-for-byte unchanged.
//!
//! [`claims`] covers the operations, [`reads`] what is read back; this module holds the
//! shared fixture helpers.

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::*;

mod claims;
mod edges;
mod props;
mod reads;
mod records;

/// 2026-03-12T00:00:00Z.
pub(super) const T0: i64 = 1_773_273_600;

pub(super) fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/st")
        .join(name)
}

pub(super) struct Case {
    _dir: tempfile::TempDir,
    pub(super) plan: PathBuf,
}

impl Case {
    pub(super) fn new() -> Case {
        let dir = tempfile::tempdir().expect("temp dir");
        let plan = dir.path().join(".step/st-plan.jsonl");
        Case { _dir: dir, plan }
    }

    pub(super) fn at(&self, secs: i64) -> ClaimLedger {
        ClaimLedger::new(&self.plan, "tk").with_clock(Clock::Fixed(secs))
    }

    pub(super) fn import(&self, name: &str) {
        let op = Op::ImportOrchplan {
            input: fixture(name),
            replace: true,
            backlog_only: false,
        };
        self.at(T0).apply(&op).expect("import");
    }

    pub(super) fn bytes(&self) -> Vec<u8> {
        fs::read(&self.plan).unwrap_or_default()
    }

    pub(super) fn item(&self, secs: i64, id: &str) -> Value {
        let shown = self.at(secs).show(Surface::All).expect("show");
        let items = shown["items"].as_array().cloned().unwrap_or_default();
        items
            .into_iter()
            .find(|i| i["id"] == id)
            .unwrap_or(Value::Null)
    }

    pub(super) fn seq(&self) -> i64 {
        self.at(T0).load().expect("load").watermark
    }
}

pub(super) fn claim(ids: &[&str], wave: Option<&str>, executor: &str, lease: Option<i64>) -> Op {
    Op::Claim {
        ids: ids.iter().map(|s| s.to_string()).collect(),
        wave: wave.map(str::to_owned),
        executor: executor.to_owned(),
        lease_seconds: lease.map(Lease::Seconds),
    }
}

pub(super) fn runtime(id: &str, thread: &str) -> Op {
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

pub(super) fn proof(id: &str, state: &str) -> Op {
    Op::SetProof {
        id: id.into(),
        state: state.into(),
        command: "npm test".into(),
        evidence_ref: None,
    }
}
