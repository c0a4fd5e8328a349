//! The protocol steps: requests (with retry), notifications, awaited messages, silence.
//!
//! Each returns an [`Outcome`]: what the step observed (only what it checked, so verdicts are
//! stable) and the failures it found.

use serde_json::{json, Value};
use std::time::Duration;

use super::{Outcome, Run};
use crate::errors::SessionError;
use crate::hooks::HookSummary;
use crate::jsonrpc::RpcError;
use crate::matcher::{matches, project, substitute};
use crate::outcome::FailureCode;
use crate::protocol::METHOD_NOT_FOUND;
use crate::retry::{request_with_retry, RetryReport, SplitMix64};
use crate::scenario::format::{AwaitNotificationStep, AwaitRequestStep, RequestStep};
use crate::session::{Reply, Session};
use crate::verdict::Failure;

impl Run<'_> {
    pub(super) async fn request(
        &mut self,
        session: &Session,
        r: &RequestStep,
        timeout: Duration,
    ) -> Outcome {
        let params = match (&r.params, r.omit_params) {
            (_, true) => None,
            (Some(p), false) => Some(substitute(p, &self.captures)),
            (None, false) => Some(json!({})),
        };
        let (reply, retry) = match &r.retry {
            None => (session.request(&r.method, params, timeout).await, None),
            Some(spec) => {
                let schedule = crate::scenario::load::schedule_of(spec).unwrap_or_default();
                let mut rng = SplitMix64::new(spec.seed);
                let params = params.unwrap_or_else(|| json!({}));
                let (reply, report) =
                    request_with_retry(session, &r.method, &params, timeout, &schedule, &mut rng)
                        .await;
                (reply, Some(report))
            }
        };
        let reply = match reply {
            Ok(reply) => reply,
            Err(e) => return session_failure(e),
        };
        let mut outcome = self.check_reply(r, reply);
        if let Some(report) = retry {
            attach_retry(&mut outcome, r, &report);
            self.notes.push(format!(
                "{}: {} attempts, delays {:?} ms{}",
                r.method,
                report.attempts,
                report.delays_ms,
                report
                    .gave_up
                    .map(|why| format!(", gave up ({why})"))
                    .unwrap_or_default()
            ));
        }
        outcome
    }

    pub(super) fn check_reply(&mut self, r: &RequestStep, reply: Reply) -> Outcome {
        let wants_error = r.expect_error.is_some() || r.expect_error_message_contains.is_some();
        match reply {
            Ok(result) if wants_error => Outcome {
                observed: Some(json!({"result": type_tag(&result)})),
                failures: vec![(
                    FailureCode::UnexpectedResult,
                    format!("expected an error, got result {}", brief(&result)),
                )],
            },
            Ok(result) => {
                let want = r
                    .expect_result
                    .as_ref()
                    .map(|w| substitute(w, &self.captures));
                let observed = want
                    .as_ref()
                    .map_or_else(|| type_tag(&result), |w| project(w, &result));
                let mut outcome = Outcome::ok(Some(json!({"result": observed})));
                if let Some(want) = want {
                    if let Err(m) = matches(&want, &result, &mut self.captures) {
                        outcome
                            .failures
                            .push((FailureCode::ResultMismatch, format!("result {m}")));
                    }
                }
                outcome
            }
            Err(error) if !wants_error => Outcome {
                observed: Some(json!({"error": {"code": error.code}})),
                failures: vec![(
                    FailureCode::UnexpectedError,
                    format!("expected a result, got error {error}"),
                )],
            },
            Err(error) => self.check_error(r, &error),
        }
    }

    fn check_error(&mut self, r: &RequestStep, error: &RpcError) -> Outcome {
        let actual = error.to_value();
        let want = r
            .expect_error
            .as_ref()
            .map(|w| substitute(w, &self.captures));
        let mut observed = want
            .as_ref()
            .map_or_else(|| json!({"code": error.code}), |w| project(w, &actual));
        let mut outcome = Outcome::ok(None);
        if let Some(want) = &want {
            if let Err(m) = matches(want, &actual, &mut self.captures) {
                outcome
                    .failures
                    .push((FailureCode::ErrorMismatch, format!("error {m}")));
            }
        }
        if let Some(needle) = &r.expect_error_message_contains {
            if error.message.contains(needle.as_str()) {
                observed["messageContains"] = json!(needle);
            } else {
                let message = format!(
                    "error message {:?} does not contain {needle:?}",
                    brief_str(&error.message)
                );
                outcome.failures.push((FailureCode::ErrorMismatch, message));
            }
        }
        outcome.observed = Some(json!({"error": observed}));
        outcome
    }

    pub(super) async fn await_notification(
        &mut self,
        session: &Session,
        a: &AwaitNotificationStep,
        timeout: Duration,
    ) -> Outcome {
        let want = a.params.as_ref().map(|p| substitute(p, &self.captures));
        let probe = self.captures.clone();
        let after = if a.in_order { self.last_seq } else { None };
        let found = session
            .await_notification(&format!("a {} notification", a.method), timeout, |n| {
                n.method == a.method
                    && after.is_none_or(|seq| n.seq > seq)
                    && want
                        .as_ref()
                        .is_none_or(|w| matches(w, &n.params, &mut probe.clone()).is_ok())
            })
            .await;
        match found {
            Ok(n) => {
                if let Some(w) = &want {
                    let _ = matches(w, &n.params, &mut self.captures);
                }
                if a.in_order {
                    self.last_seq = Some(n.seq);
                }
                self.flow.taken_now = Some(n.seq);
                let params = want.as_ref().map(|w| project(w, &n.params));
                Outcome::ok(Some(json!({"method": n.method, "params": params})))
            }
            Err(SessionError::Timeout { .. }) => {
                let message = format!(
                    "no {} notification{} within {timeout:?} ({})",
                    a.method,
                    if want.is_some() {
                        " with matching params"
                    } else {
                        ""
                    },
                    unclaimed(&session.buffered_notifications(), &a.method)
                );
                Outcome::failed(FailureCode::NoNotification, message)
            }
            Err(e) => session_failure(e),
        }
    }

    pub(super) async fn await_request(
        &mut self,
        session: &Session,
        a: &AwaitRequestStep,
        timeout: Duration,
    ) -> Outcome {
        let want = a.params.as_ref().map(|p| substitute(p, &self.captures));
        let probe = self.captures.clone();
        let found = session
            .await_server_request(&format!("a {} server request", a.method), timeout, |r| {
                r.method == a.method
                    && want
                        .as_ref()
                        .is_none_or(|w| matches(w, &r.params, &mut probe.clone()).is_ok())
            })
            .await;
        let request = match found {
            Ok(r) => r,
            Err(SessionError::Timeout { .. }) => {
                return Outcome::failed(
                    FailureCode::NoServerRequest,
                    format!("no {} server request within {timeout:?}", a.method),
                )
            }
            Err(e) => return session_failure(e),
        };
        if let Some(w) = &want {
            let _ = matches(w, &request.params, &mut self.captures);
        }
        self.flow.taken_now = Some(request.seq);
        let reply = match (&a.answer_result, &a.answer_error) {
            (Some(result), _) => Ok(substitute(result, &self.captures)),
            (None, Some(error)) => Err(serde_json::from_value(substitute(error, &self.captures))
                .unwrap_or_else(|_| RpcError::new(-32603, "scenario answer_error is malformed"))),
            (None, None) => Ok(json!({})),
        };
        let params = want.as_ref().map(|w| project(w, &request.params));
        match session.respond(request.id, reply) {
            Ok(()) => Outcome::ok(Some(json!({"method": request.method, "params": params}))),
            Err(e) => session_failure(e),
        }
    }

    pub(super) async fn silence(
        &mut self,
        session: &Session,
        window: Duration,
        method: Option<&str>,
    ) -> Outcome {
        let arrived = session
            .collect_arrivals(self.step_mark, window, method)
            .await;
        if let Some(reason) = session.closed_reason() {
            return Outcome::failed(
                FailureCode::ConnectionClosed,
                format!("connection closed during the silence window: {reason}"),
            );
        }
        if arrived.is_empty() {
            return Outcome::ok(None);
        }
        let message = format!(
            "expected silence for {window:?}, got: {}",
            arrived.join(", ")
        );
        Outcome::failed(FailureCode::SilenceBroken, message)
    }

    /// Ends the run's connections: named ones first, then the default one (refusing server
    /// requests no step answered, reporting malformed lines, checking watch rules); then the
    /// `before` order checks.
    pub(super) fn wrap_up(&mut self, session: &Session) {
        self.wrap_up_named();
        if let Some(watch) = self.conns.watch(None) {
            self.wrap_up_connection(session, &watch, None);
        } else {
            self.refuse_unanswered(session, None);
        }
        self.check_order();
    }

    /// Refuses server requests no step answered and reports them and any malformed lines.
    pub(super) fn refuse_unanswered(&mut self, session: &Session, connection: Option<&str>) {
        let on = connection
            .map(|c| format!(" on connection {c:?}"))
            .unwrap_or_default();
        for request in session.take_unanswered() {
            let message = format!("cas has no answer for {} in this scenario", request.method);
            let _ = session.respond(
                request.id.clone(),
                Err(RpcError::new(METHOD_NOT_FOUND, message)),
            );
            self.failures.push(Failure {
                step: None,
                code: FailureCode::UnansweredServerRequest,
                message: format!(
                    "the server sent {}{on} and no step answered it; cas refused it with -32601",
                    request.method
                ),
            });
        }
        for line in session.malformed() {
            self.failures.push(Failure {
                step: None,
                code: FailureCode::MalformedMessage,
                message: format!("the server sent something that is not JSON-RPC{on}: {line}"),
            });
        }
    }
}

/// Describes unclaimed notifications: counts by method, and the first one with `method` in full.
fn unclaimed(buffered: &[crate::session::Notification], method: &str) -> String {
    if buffered.is_empty() {
        return "no unclaimed notifications".into();
    }
    let mut counts: Vec<(String, usize)> = Vec::new();
    for n in buffered {
        match counts.iter_mut().find(|(m, _)| *m == n.method) {
            Some((_, c)) => *c += 1,
            None => counts.push((n.method.clone(), 1)),
        }
    }
    let listed: Vec<String> = counts.iter().map(|(m, c)| format!("{c}× {m}")).collect();
    let mut text = format!("unclaimed: {}", listed.join(", "));
    if let Some(first) = buffered.iter().find(|n| n.method == method) {
        text.push_str(&format!(
            "; first {method} params: {}",
            brief(&first.params)
        ));
    }
    text
}

/// The whole-run failure the hook summary gives, if any: a bad status (blocked > failed >
/// stopped), no hook seen under `require-observed`, or a hook seen under `off`.
pub(super) fn hook_failures(summary: &HookSummary) -> Vec<Failure> {
    let mut out = Vec::new();
    if let Some(code) = summary.failure_code {
        let message = format!(
            "hooks under policy {}: {} started, {} completed ({} blocked, {} failed, {} stopped); events: {}",
            summary.policy, summary.started, summary.completed, summary.blocked, summary.failed, summary.stopped,
            if summary.events.is_empty() { "none".to_owned() } else { summary.events.join(", ") }
        );
        out.push(Failure {
            step: None,
            code,
            message,
        });
    }
    out
}

/// Adds the retry report to what the step observed, and checks the attempt count.
pub(super) fn attach_retry(outcome: &mut Outcome, r: &RequestStep, report: &RetryReport) {
    if let Some(Value::Object(observed)) = &mut outcome.observed {
        observed.insert(
            "retry".into(),
            serde_json::to_value(report).unwrap_or(Value::Null),
        );
    }
    if let Some(want) = r.expect_attempts {
        if report.attempts != want {
            let message = format!(
                "expected {want} attempts, made {} (delays {:?} ms)",
                report.attempts, report.delays_ms
            );
            outcome
                .failures
                .push((FailureCode::AttemptsMismatch, message));
        }
    }
    if let Some(want) = &r.expect_delays_ms {
        if &report.delays_ms != want {
            let message = format!(
                "expected delays {want:?} ms (the seeded schedule), slept {:?} ms",
                report.delays_ms
            );
            outcome
                .failures
                .push((FailureCode::DelaysMismatch, message));
        }
    }
}

pub(super) fn session_failure(error: SessionError) -> Outcome {
    let code = match &error {
        SessionError::Timeout { .. } => FailureCode::NoResponse,
        SessionError::Closed { .. } => FailureCode::ConnectionClosed,
        _ => FailureCode::SessionError,
    };
    Outcome::failed(code, error.to_string())
}

fn type_tag(value: &Value) -> Value {
    project(&json!("$any"), value)
}

pub(super) fn brief(value: &Value) -> String {
    brief_str(&value.to_string())
}

fn brief_str(text: &str) -> String {
    // No count after the cut: it would vary with the length of the run's temporary paths.
    crate::text::cut(text, 1000)
}
