//! The `parallel` step: one fresh, isolated instance of the target per entry, all at once.
//!
//! Every branch gets its own server (its own CODEX_HOME and mock model on codex targets), starts
//! with the run's captures plus `${item}`, and runs the branch steps in order while the other
//! branches run theirs. What a branch captures as NAME is known afterwards as `${ITEM.NAME}`.
//! Branch steps appear in the verdict as `<step> [<item>] <branch step>`, branch by branch.

use futures_util::future::join_all;
use serde_json::{json, Value};
use std::future::Future;
use std::pin::Pin;
use tokio::time::Instant;

use super::{Outcome, Run, Server};
use crate::errors::Chain;
use crate::outcome::FailureCode;
use crate::scenario::load::Step;

impl Run<'_> {
    pub(super) async fn parallel(
        &mut self,
        step: &Step,
        for_each: &[String],
        steps: &[Step],
        deadline: Instant,
    ) -> Outcome {
        let started = join_all(for_each.iter().map(|_| Server::start(self.ctx, None))).await;
        let mut servers = Vec::new();
        let mut launch_errors = Vec::new();
        for (item, result) in for_each.iter().zip(started) {
            match result {
                Ok(server) => servers.push(server),
                Err(e) => launch_errors.push(format!("[{item}] {}", Chain(&e))),
            }
        }
        if !launch_errors.is_empty() {
            for server in servers {
                self.redact_paths.extend(server.stop().await);
            }
            return Outcome::failed(FailureCode::LaunchFailed, launch_errors.join("; "));
        }
        let mut branches: Vec<Run> = servers
            .iter()
            .zip(for_each)
            .map(|(server, item)| {
                let prefix = format!("{}{} [{item}] ", self.prefix, step.name);
                let mut branch = Run::new(self.ctx, Some(&server.session), prefix);
                branch.conns.attach(server);
                branch.captures = self.captures.clone();
                branch.captures.insert("item".into(), json!(item));
                branch
            })
            .collect();
        let runs = branches.iter_mut().map(|b| {
            let fut: Pin<Box<dyn Future<Output = ()> + '_>> = Box::pin(b.steps(steps, deadline));
            fut
        });
        join_all(runs).await;
        let mut summary = Vec::new();
        let mut failed = 0;
        for ((branch, server), item) in branches.iter_mut().zip(&servers).zip(for_each) {
            branch.wrap_up(&server.session);
            let ok = branch.failures.is_empty();
            failed += usize::from(!ok);
            summary.push(json!({"item": item, "ok": ok}));
            self.merge(branch, item);
        }
        drop(branches);
        for server in servers {
            self.redact_paths.extend(server.stop().await);
        }
        let mut outcome = Outcome::ok(Some(json!({"branches": Value::Array(summary)})));
        if failed > 0 {
            let message = format!("{failed} of {} branches failed", for_each.len());
            outcome.failures.push((FailureCode::BranchFailed, message));
        }
        outcome
    }

    /// Takes a finished branch's records, failures, notes and new captures (as `ITEM.NAME`).
    fn merge(&mut self, branch: &mut Run<'_>, item: &str) {
        self.records.append(&mut branch.records);
        self.failures.append(&mut branch.failures);
        self.notes.append(&mut branch.notes);
        self.redact_paths.append(&mut branch.redact_paths);
        for (name, value) in &branch.captures {
            if name != "item" && self.captures.get(name) != Some(value) {
                self.captures
                    .insert(format!("{item}.{name}"), value.clone());
            }
        }
    }
}
