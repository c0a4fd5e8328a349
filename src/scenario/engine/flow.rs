//! The timing and repetition steps: `sleep`, `drain`, `expect_never`, `answer_all`, requests
//! sent with `wait = false` and their `await_response`, and the `before` ordering check.
//!
//! `expect_never` and `answer_all` install rules on the connection's [`Watch`], which sees
//! every arrival; they are checked when the connection ends. `before` compares the arrival
//! numbers of what two steps took, once the run is over.

use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

use super::protocol::{brief, session_failure};
use super::watch::{AnswerRule, NeverRule, Watch};
use super::{Outcome, Run};
use crate::errors::SessionError;
use crate::jsonrpc::RpcError;
use crate::matcher::{matches, substitute, Captures};
use crate::outcome::FailureCode;
use crate::scenario::format::{
    AnswerAllStep, AwaitResponseStep, DrainStep, NeverStep, RequestStep,
};
use crate::scenario::load::Step;
use crate::session::{PendingReply, Session};
use crate::verdict::Failure;

/// What the flow steps of one run remember between steps.
#[derive(Default)]
pub(crate) struct FlowState {
    /// Requests sent with `wait = false`, by step name, until their `await_response`.
    pending: BTreeMap<String, (RequestStep, PendingReply)>,
    /// The arrival number of what the current step took, if it took something.
    pub(super) taken_now: Option<u64>,
    /// The arrival number of what each step took, by step name.
    taken: BTreeMap<String, u64>,
}

impl Run<'_> {
    /// Records what the step just run took, for `before` checks.
    pub(super) fn note_taken(&mut self, step: &Step) {
        if let Some(seq) = self.flow.taken_now.take() {
            self.flow.taken.insert(step.name.clone(), seq);
        }
    }

    /// Sends a `wait = false` request and keeps its answer for the `await_response` step.
    pub(super) fn send_no_wait(
        &mut self,
        session: &Session,
        step: &Step,
        r: &RequestStep,
    ) -> Outcome {
        let params = match (&r.params, r.omit_params) {
            (_, true) => None,
            (Some(p), false) => Some(substitute(p, &self.captures)),
            (None, false) => Some(json!({})),
        };
        match session.start_request(&r.method, params) {
            Ok(pending) => {
                self.flow
                    .pending
                    .insert(step.name.clone(), (r.clone(), pending));
                Outcome::ok(Some(json!({"sent": r.method})))
            }
            Err(e) => session_failure(e),
        }
    }

    /// Waits for a `wait = false` request's answer and checks it like a request step would.
    pub(super) async fn await_response(
        &mut self,
        a: &AwaitResponseStep,
        timeout: Duration,
    ) -> Outcome {
        let Some((mut r, pending)) = self.flow.pending.remove(&a.request) else {
            let message = format!(
                "request {:?} was not sent, so there is no answer to wait for",
                a.request
            );
            return Outcome::failed(FailureCode::NoResponse, message);
        };
        r.expect_result = a.expect_result.clone();
        r.expect_error = a.expect_error.clone();
        r.expect_error_message_contains = a.expect_error_message_contains.clone();
        match pending.wait(timeout).await {
            Ok(reply) => self.check_reply(&r, reply),
            Err(e) => session_failure(e),
        }
    }

    /// Takes every `d.method` notification until one matches `d.until` or `window` ends.
    pub(super) async fn drain(
        &mut self,
        session: &Session,
        d: &DrainStep,
        window: Duration,
    ) -> Outcome {
        let until = d.until.as_ref().map(|u| substitute(u, &self.captures));
        let end = Instant::now() + window;
        let (mut taken, mut matched) = (0usize, false);
        loop {
            let left = end.saturating_duration_since(Instant::now());
            let what = format!("a {} notification", d.method);
            let n = match session
                .await_notification(&what, left, |n| n.method == d.method)
                .await
            {
                Ok(n) => n,
                Err(SessionError::Timeout { .. }) => break,
                Err(e) => return session_failure(e),
            };
            taken += 1;
            self.flow.taken_now = Some(n.seq);
            if let Some(u) = &until {
                if matches(u, &n.params, &mut self.captures.clone()).is_ok() {
                    let _ = matches(u, &n.params, &mut self.captures);
                    matched = true;
                    break;
                }
            }
        }
        self.notes.push(format!("drain {}: took {taken}", d.method));
        let mut observed = json!({"method": d.method});
        if until.is_some() {
            observed["untilMatched"] = json!(matched);
        }
        let mut outcome = Outcome::ok(None);
        if until.is_some() && !matched {
            let message = format!(
                "no {} notification matching until within {window:?} (took {taken} others)",
                d.method
            );
            outcome
                .failures
                .push((FailureCode::NoNotification, message));
        }
        if let Some(want) = &d.expect_count {
            let want = substitute(want, &self.captures);
            if want.is_number() {
                observed["count"] = json!(taken);
            }
            if let Some(message) = count_mismatch(&want, taken, &mut self.captures) {
                let message = format!("took {taken} {} notifications: {message}", d.method);
                outcome.failures.push((FailureCode::CountMismatch, message));
            }
        }
        outcome.observed = Some(observed);
        outcome
    }

    /// Installs an `expect_never` guard and fails at once if a forbidden one is buffered.
    pub(super) fn expect_never(
        &mut self,
        session: &Session,
        step: &Step,
        n: &NeverStep,
        watch: &Watch,
    ) -> Outcome {
        let name = self.step_name(step);
        let rule = NeverRule {
            step: name.clone(),
            method: n.method.clone(),
            params: n.params.as_ref().map(|p| substitute(p, &self.captures)),
            hits: Default::default(),
            reported: Default::default(),
            first: None,
        };
        let buffered: Vec<_> = session
            .buffered_notifications()
            .into_iter()
            .filter(|b| rule.forbids(b))
            .collect();
        watch.add_never(rule);
        watch.mark_reported(&name, buffered.iter().map(|b| b.seq));
        let observed = Some(json!({"method": n.method}));
        match buffered.first() {
            None => Outcome::ok(observed),
            Some(first) => Outcome {
                observed,
                failures: vec![(
                    FailureCode::NeverBroken,
                    format!(
                        "{} {} notification(s) already arrived (buffered); first params: {}",
                        buffered.len(),
                        n.method,
                        brief(&first.params)
                    ),
                )],
            },
        }
    }

    /// Installs an `answer_all` responder and answers the matching requests already queued.
    pub(super) async fn answer_all(
        &mut self,
        session: &Session,
        step: &Step,
        a: &AnswerAllStep,
        watch: &Watch,
    ) -> Outcome {
        let name = self.step_name(step);
        let reply = match (&a.answer_result, &a.answer_error) {
            (_, Some(e)) => Err(serde_json::from_value(substitute(e, &self.captures))
                .unwrap_or_else(|_| RpcError::new(-32603, "scenario answer_error is malformed"))),
            (Some(r), None) => Ok(substitute(r, &self.captures)),
            (None, None) => Ok(json!({})),
        };
        let params = a.params.as_ref().map(|p| substitute(p, &self.captures));
        watch.add_answer(AnswerRule {
            step: name.clone(),
            method: a.method.clone(),
            params: params.clone(),
            reply: reply.clone(),
            count: a.count.as_ref().map(|c| substitute(c, &self.captures)),
            answered: 0,
        });
        let probe = |r: &crate::session::ServerRequest| {
            r.method == a.method
                && params
                    .as_ref()
                    .is_none_or(|p| crate::matcher::is_subset(p, &r.params))
        };
        while let Ok(queued) = session
            .await_server_request("", Duration::ZERO, probe)
            .await
        {
            if let Err(e) = session.respond(queued.id, reply.clone()) {
                return session_failure(e);
            }
            watch.count_answered(&name, 1);
        }
        Outcome::ok(Some(json!({"method": a.method})))
    }

    /// Checks a connection's watch rules as it ends: `answer_all` counts, `expect_never` hits.
    pub(super) fn check_watch(&mut self, watch: &Watch, connection: Option<&str>) {
        let (answers, nevers) = watch.take_rules();
        let on = connection
            .map(|c| format!(" on connection {c:?}"))
            .unwrap_or_default();
        for rule in answers {
            self.notes.push(format!(
                "answer_all {}{on}: answered {}",
                rule.method, rule.answered
            ));
            let Some(want) = &rule.count else { continue };
            if let Some(message) = count_mismatch(want, rule.answered, &mut self.captures) {
                self.failures.push(Failure {
                    step: Some(rule.step),
                    code: FailureCode::CountMismatch,
                    message: format!(
                        "answered {} {} request(s){on}: {message}",
                        rule.answered, rule.method
                    ),
                });
            }
        }
        for rule in nevers {
            let late: Vec<u64> = rule.hits.difference(&rule.reported).copied().collect();
            if late.is_empty() {
                continue;
            }
            let first = rule.first.as_ref().map(brief).unwrap_or_default();
            self.failures.push(Failure {
                step: Some(rule.step),
                code: FailureCode::NeverBroken,
                message: format!(
                    "{} {} notification(s) arrived{on} after this step; first params: {first}",
                    late.len(),
                    rule.method
                ),
            });
        }
    }

    /// Checks every `before` of the top-level steps against what the steps took.
    pub(super) fn check_order(&mut self) {
        if !self.prefix.is_empty() {
            return; // a parallel branch: `before` is refused there at load
        }
        for step in &self.ctx.scenario.steps {
            let Some(other) = &step.before else { continue };
            let (Some(mine), Some(theirs)) =
                (self.flow.taken.get(&step.name), self.flow.taken.get(other))
            else {
                continue;
            };
            if mine >= theirs {
                self.failures.push(Failure {
                    step: Some(step.name.clone()),
                    code: FailureCode::OrderViolated,
                    message: format!(
                        "what this step took arrived after what {other:?} took (arrival {mine} vs {theirs})"
                    ),
                });
            }
        }
    }

    /// Ends every named connection still open, checking what it was expected to show.
    pub(super) fn wrap_up_named(&mut self) {
        for (name, session, watch) in self.conns.take_all() {
            self.wrap_up_connection(&session, &watch, Some(&name));
            drop(session);
        }
    }

    /// Refuses and reports a connection's unanswered server requests and malformed lines, then
    /// checks its watch rules.
    pub(super) fn wrap_up_connection(
        &mut self,
        session: &Session,
        watch: &Watch,
        connection: Option<&str>,
    ) {
        self.refuse_unanswered(session, connection);
        self.check_watch(watch, connection);
    }

    /// The watch of the step's connection, if the connection is open.
    pub(super) fn watch_for(&self, step: &Step) -> Option<Arc<Watch>> {
        self.conns.watch(super::connections::named(step))
    }
}

/// `None` when `count` matches `want` (a number or an operator), else what is wrong.
fn count_mismatch(want: &Value, count: usize, captures: &mut Captures) -> Option<String> {
    matches(want, &json!(count), captures)
        .err()
        .map(|m| format!("count {m}"))
}

#[cfg(test)]
mod tests;
