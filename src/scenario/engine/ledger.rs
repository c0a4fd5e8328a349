//! The ledger steps: one claim-ledger operation, and a read of the ledger checked item by item.
//!
//! The ledger is the workspace's `.step/st-plan.jsonl`, driven in-process by cas's own ledger or,
//! with `--st-binary`, by the user's `st` through its command line: the same steps check
//! either. An operation st refuses fails the step with the refusal's identifier in snake case
//! (`ScopeClaimConflict` → `scope_claim_conflict`), unless the step expects that refusal.

use serde_json::{json, Map, Value};

use super::{Outcome, Run};
use crate::ledger::lock_roots::lists_overlap;
use crate::ledger::{ClaimBackend, ClaimLedger, External, InProcess, LedgerError, Op};
use crate::matcher::{matches, project, substitute};
use crate::outcome::FailureCode;
use crate::scenario::format::LedgerShowStep;

/// The actor (claim owner) cas's own ledger writes as.
const ACTOR: &str = "cas-conformance";

impl Run<'_> {
    fn backend(&self) -> Box<dyn ClaimBackend> {
        let file = self.ctx.workspace.plan_file();
        match &self.ctx.env.st_binary {
            Some(st) => Box::new(External::new(st, file)),
            None => Box::new(InProcess(ClaimLedger::new(file, ACTOR))),
        }
    }

    pub(super) async fn ledger_op(&mut self, op: &Value, expect: Option<&str>) -> Outcome {
        let mut op: Op = match serde_json::from_value(substitute(op, &self.captures)) {
            Ok(op) => op,
            Err(e) => return Outcome::failed(FailureCode::LedgerStepInvalid, e.to_string()),
        };
        if let Op::ImportOrchplan { input, .. } = &mut op {
            if input.is_relative() {
                *input = self.ctx.scenario.base_dir().join(&*input);
            }
        }
        let backend = self.backend();
        let applied = tokio::task::spawn_blocking(move || backend.apply(&op)).await;
        let applied = match applied {
            Ok(result) => result,
            Err(e) => return Outcome::failed(FailureCode::LedgerStepPanicked, e.to_string()),
        };
        match (applied, expect) {
            (Ok(line), None) => Outcome::ok(Some(json!({ "line": line }))),
            (Ok(line), Some(code)) => Outcome::failed(
                FailureCode::LedgerAccepted,
                format!("expected the ledger to refuse with {code}, it said: {line}"),
            ),
            (Err(e), Some(code)) if e.code() == code => {
                Outcome::ok(Some(json!({ "refused": code })))
            }
            (Err(e), _) => refusal(&e),
        }
    }

    pub(super) async fn ledger_show(&mut self, show: &LedgerShowStep) -> Outcome {
        let backend = self.backend();
        let shown = match tokio::task::spawn_blocking(move || backend.show()).await {
            Ok(Ok(shown)) => shown,
            Ok(Err(e)) => return refusal(&e),
            Err(e) => return Outcome::failed(FailureCode::LedgerStepPanicked, e.to_string()),
        };
        let Some(items) = shown["items"].as_array() else {
            let message = format!("show printed no items array: {shown}");
            return Outcome::failed(FailureCode::LedgerShowInvalid, message);
        };
        let mut outcome = Outcome::ok(None);
        let mut observed = Map::new();
        for (id, want) in &show.items {
            let Some(item) = find(items, id) else {
                let message = format!("no item {id:?} in the ledger");
                outcome
                    .failures
                    .push((FailureCode::LedgerItemMissing, message));
                continue;
            };
            let want = substitute(want, &self.captures);
            observed.insert(id.clone(), project(&want, item));
            if let Err(m) = matches(&want, item, &mut self.captures) {
                let message = format!("item {id}: {m}");
                outcome
                    .failures
                    .push((FailureCode::LedgerMismatch, message));
            }
        }
        for (id, keys) in &show.absent {
            let present: Vec<&String> = find(items, id)
                .map(|item| {
                    keys.iter()
                        .filter(|k| item.get(k.as_str()).is_some())
                        .collect()
                })
                .unwrap_or_default();
            if !present.is_empty() {
                let message = format!("item {id} still has {present:?}");
                outcome
                    .failures
                    .push((FailureCode::LedgerMismatch, message));
            }
        }
        let mut summary = json!({ "items": observed });
        check_counts(show, items, &mut summary, &mut outcome.failures);
        outcome.observed = Some(summary);
        outcome
    }
}

fn find<'v>(items: &'v [Value], id: &str) -> Option<&'v Value> {
    items.iter().find(|item| item["id"] == id)
}

/// The `in_progress` count and the pairwise disjointness of held claims' roots.
fn check_counts(
    show: &LedgerShowStep,
    items: &[Value],
    summary: &mut Value,
    failures: &mut Vec<(FailureCode, String)>,
) {
    if let Some(want) = show.in_progress {
        let count = items
            .iter()
            .filter(|i| i["status"] == "in_progress")
            .count();
        summary["inProgress"] = json!(count);
        if count != want {
            let message = format!("expected {want} in_progress items, found {count}");
            failures.push((FailureCode::LedgerMismatch, message));
        }
    }
    if show.held_roots_disjoint {
        let held: Vec<(&str, Vec<String>)> = items
            .iter()
            .filter(|i| i["claim_state"] == "held")
            .map(|i| (i["id"].as_str().unwrap_or("?"), roots(i)))
            .collect();
        let mut overlapping = Vec::new();
        for (n, (a, ra)) in held.iter().enumerate() {
            for (b, rb) in &held[n + 1..] {
                if lists_overlap(ra, rb) {
                    overlapping.push(format!("{a} {ra:?} / {b} {rb:?}"));
                }
            }
        }
        summary["heldRootsDisjoint"] = json!(overlapping.is_empty());
        if !overlapping.is_empty() {
            let message = format!("held claims overlap: {}", overlapping.join(", "));
            failures.push((FailureCode::HeldRootsOverlap, message));
        }
    }
}

fn roots(item: &Value) -> Vec<String> {
    item["lock_roots"]
        .as_array()
        .map(|r| {
            r.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// A refused operation as a step failure: the identifier in snake case, the detail as message.
fn refusal(error: &LedgerError) -> Outcome {
    Outcome::failed(error.failure_code(), error.to_string())
}
