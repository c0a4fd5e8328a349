//! The step engine: runs a scenario's steps against a started target and builds the verdict.
//!
//! Every wait has a deadline (the step's timeout, inside the scenario's deadline). Every
//! failure is collected; after a lost connection the remaining steps are `not_run`. At the end,
//! server requests no step answered are refused with `-32601` (never left hanging) and reported,
//! as are lines that were not JSON-RPC. Nothing here returns a Rust error: a target that cannot
//! start is a verdict with status `error`.

use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

use super::format::{AwaitNotificationStep, AwaitRequestStep, RequestStep, TargetName};
use super::load::{Scenario, Step, StepKind};
use super::matcher::{matches, project, substitute, Captures};
use crate::errors::{LaunchError, SessionError};
use crate::hooks::{HookObserver, HookSummary};
use crate::jsonrpc::RpcError;
use crate::policy::ServerRequestPolicy;
use crate::protocol::METHOD_NOT_FOUND;
use crate::retry::{request_with_retry, RetryReport, SplitMix64};
use crate::session::Reply;
use crate::session::{QueueServerRequests, ServerRequestHandler, Session, DEFAULT_MAX_IN_FLIGHT};
use crate::target::{self, TargetEnv};
use crate::verdict::{Failure, Redactor, StepRecord, StepStatus, Verdict};

/// Grace given to a server to exit after its input closes, before it is killed.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);

/// Runs `scenario` on `target` and returns its redacted verdict.
pub async fn run(scenario: &Scenario, target: TargetName, env: &TargetEnv) -> Verdict {
    let launched = match target::launch(target, scenario, env).await {
        Ok(launched) => launched,
        Err(e) => {
            return Verdict::error(
                &scenario.name,
                target.as_str(),
                launch_code(&e),
                e.to_string(),
            )
        }
    };
    let handler: Arc<dyn ServerRequestHandler> = match &scenario.policy {
        Some(config) => Arc::new(ServerRequestPolicy::new(config.clone())),
        None => Arc::new(QueueServerRequests),
    };
    let log = env.scratch_root.join(format!(
        "hook-logs/{}-{}-{}.ndjson",
        scenario.name.replace('/', "_"),
        target,
        std::process::id()
    ));
    let observer = Arc::new(HookObserver::new(log));
    let session = Session::with_options(
        launched.connection,
        handler,
        DEFAULT_MAX_IN_FLIGHT,
        Some(observer.clone()),
    );
    let mut run = Run {
        session: &session,
        captures: Captures::new(),
        records: Vec::new(),
        failures: Vec::new(),
        lost: false,
        last_seq: None,
    };
    run.steps(scenario).await;
    run.wrap_up();
    let Run {
        records,
        mut failures,
        ..
    } = run;
    failures.extend(hook_failures(&observer.summary(scenario.hook_policy)));
    let mut verdict = Verdict::new(&scenario.name, target.as_str(), records, failures);
    verdict.diagnostics = session
        .child()
        .map(|c| c.stderr().tail(30))
        .filter(|tail| !tail.trim().is_empty())
        .map(|tail| format!("server stderr tail:\n{tail}"));
    session.shutdown(SHUTDOWN_GRACE).await;
    drop(launched.guard);
    let mut paths = launched.redact_paths;
    paths.push(env.scratch_root.display().to_string());
    verdict.redact(&mut Redactor::new(paths));
    verdict
}

fn launch_code(error: &LaunchError) -> &'static str {
    match error {
        LaunchError::CodexNotFound { .. } | LaunchError::CodexNotExecutable { .. } => {
            "codex_not_found"
        }
        _ => "launch_failed",
    }
}

struct Run<'a> {
    session: &'a Session,
    captures: Captures,
    records: Vec<StepRecord>,
    failures: Vec<Failure>,
    lost: bool,
    last_seq: Option<u64>,
}

/// What one step produced.
struct Outcome {
    observed: Option<Value>,
    failures: Vec<(&'static str, String)>,
}

impl Outcome {
    fn ok(observed: Option<Value>) -> Outcome {
        Outcome {
            observed,
            failures: Vec::new(),
        }
    }

    fn failed(code: &'static str, message: String) -> Outcome {
        Outcome {
            observed: None,
            failures: vec![(code, message)],
        }
    }
}

impl Run<'_> {
    async fn steps(&mut self, scenario: &Scenario) {
        let deadline = Instant::now() + scenario.deadline;
        for (i, step) in scenario.steps.iter().enumerate() {
            if self.lost {
                self.record(step, StepStatus::NotRun, None);
                continue;
            }
            match tokio::time::timeout_at(deadline, self.step(step)).await {
                Ok(outcome) => self.finish(step, outcome),
                Err(_) => {
                    let message = format!(
                        "the scenario deadline of {:?} passed during this step",
                        scenario.deadline
                    );
                    self.finish(step, Outcome::failed("scenario_deadline", message));
                    for rest in &scenario.steps[i + 1..] {
                        self.record(rest, StepStatus::NotRun, None);
                    }
                    return;
                }
            }
        }
    }

    fn finish(&mut self, step: &Step, outcome: Outcome) {
        let status = if outcome.failures.is_empty() {
            StepStatus::Pass
        } else {
            StepStatus::Fail
        };
        for (code, message) in outcome.failures {
            self.lost |= code == "connection_closed";
            self.failures.push(Failure {
                step: Some(step.name.clone()),
                code: code.into(),
                message,
            });
        }
        self.record(step, status, outcome.observed);
    }

    fn record(&mut self, step: &Step, status: StepStatus, observed: Option<Value>) {
        self.records.push(StepRecord {
            name: step.name.clone(),
            kind: step.kind.as_str().into(),
            method: step.kind.method().map(str::to_owned),
            status,
            observed,
        });
    }

    async fn step(&mut self, step: &Step) -> Outcome {
        match &step.kind {
            StepKind::Request(r) => self.request(r, step.timeout).await,
            StepKind::Notify(n) => {
                let params = n.params.as_ref().map(|p| substitute(p, &self.captures));
                match self.session.notify(&n.method, params) {
                    Ok(()) => Outcome::ok(None),
                    Err(e) => session_failure(e),
                }
            }
            StepKind::AwaitNotification(a) => self.await_notification(a, step.timeout).await,
            StepKind::AwaitRequest(a) => self.await_request(a, step.timeout).await,
            StepKind::ExpectSilence { window, method } => {
                self.silence(*window, method.as_deref()).await
            }
        }
    }

    async fn request(&mut self, r: &RequestStep, timeout: Duration) -> Outcome {
        let params = match (&r.params, r.omit_params) {
            (_, true) => None,
            (Some(p), false) => Some(substitute(p, &self.captures)),
            (None, false) => Some(json!({})),
        };
        let (reply, retry) = match &r.retry {
            None => (self.session.request(&r.method, params, timeout).await, None),
            Some(spec) => {
                let schedule = super::load::schedule_of(spec).unwrap_or_default();
                let mut rng = SplitMix64::new(spec.seed);
                let params = params.unwrap_or_else(|| json!({}));
                let (reply, report) = request_with_retry(
                    self.session,
                    &r.method,
                    &params,
                    timeout,
                    &schedule,
                    &mut rng,
                )
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
            attach_retry(&mut outcome, r.expect_attempts, &report);
        }
        outcome
    }

    fn check_reply(&mut self, r: &RequestStep, reply: Reply) -> Outcome {
        let wants_error = r.expect_error.is_some() || r.expect_error_message_contains.is_some();
        match reply {
            Ok(result) if wants_error => Outcome {
                observed: Some(json!({"result": type_tag(&result)})),
                failures: vec![(
                    "unexpected_result",
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
                            .push(("result_mismatch", format!("result {m}")));
                    }
                }
                outcome
            }
            Err(error) if !wants_error => Outcome {
                observed: Some(json!({"error": {"code": error.code}})),
                failures: vec![(
                    "unexpected_error",
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
                    .push(("error_mismatch", format!("error {m}")));
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
                outcome.failures.push(("error_mismatch", message));
            }
        }
        outcome.observed = Some(json!({"error": observed}));
        outcome
    }

    async fn await_notification(
        &mut self,
        a: &AwaitNotificationStep,
        timeout: Duration,
    ) -> Outcome {
        let want = a.params.as_ref().map(|p| substitute(p, &self.captures));
        let probe = self.captures.clone();
        let after = if a.in_order { self.last_seq } else { None };
        let found = self
            .session
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
                    unclaimed(&self.session.buffered_notifications(), &a.method)
                );
                Outcome::failed("no_notification", message)
            }
            Err(e) => session_failure(e),
        }
    }

    async fn await_request(&mut self, a: &AwaitRequestStep, timeout: Duration) -> Outcome {
        let want = a.params.as_ref().map(|p| substitute(p, &self.captures));
        let probe = self.captures.clone();
        let found = self
            .session
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
                    "no_server_request",
                    format!("no {} server request within {timeout:?}", a.method),
                )
            }
            Err(e) => return session_failure(e),
        };
        if let Some(w) = &want {
            let _ = matches(w, &request.params, &mut self.captures);
        }
        let reply = match (&a.answer_result, &a.answer_error) {
            (Some(result), _) => Ok(substitute(result, &self.captures)),
            (None, Some(error)) => Err(serde_json::from_value(substitute(error, &self.captures))
                .unwrap_or_else(|_| RpcError::new(-32603, "scenario answer_error is malformed"))),
            (None, None) => Ok(json!({})),
        };
        let params = want.as_ref().map(|w| project(w, &request.params));
        match self.session.respond(request.id, reply) {
            Ok(()) => Outcome::ok(Some(json!({"method": request.method, "params": params}))),
            Err(e) => session_failure(e),
        }
    }

    async fn silence(&mut self, window: Duration, method: Option<&str>) -> Outcome {
        let arrived = self.session.collect_arrivals(window, method).await;
        if let Some(reason) = self.session.closed_reason() {
            return Outcome::failed(
                "connection_closed",
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
        Outcome::failed("silence_broken", message)
    }

    /// Refuses server requests no step answered and reports them and any malformed lines.
    fn wrap_up(&mut self) {
        for request in self.session.take_unanswered() {
            let message = format!("cas has no answer for {} in this scenario", request.method);
            let _ = self.session.respond(
                request.id.clone(),
                Err(RpcError::new(METHOD_NOT_FOUND, message)),
            );
            self.failures.push(Failure {
                step: None,
                code: "unanswered_server_request".into(),
                message: format!(
                    "the server sent {} and no step answered it; cas refused it with -32601",
                    request.method
                ),
            });
        }
        for line in self.session.malformed() {
            self.failures.push(Failure {
                step: None,
                code: "malformed_message".into(),
                message: format!("the server sent something that is not JSON-RPC: {line}"),
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
fn hook_failures(summary: &HookSummary) -> Vec<Failure> {
    let mut out = Vec::new();
    if let Some(code) = summary.failure_code {
        let message = format!(
            "hooks under policy {}: {} started, {} completed ({} blocked, {} failed, {} stopped); events: {}",
            summary.policy, summary.started, summary.completed, summary.blocked, summary.failed, summary.stopped,
            if summary.events.is_empty() { "none".to_owned() } else { summary.events.join(", ") }
        );
        out.push(Failure {
            step: None,
            code: code.into(),
            message,
        });
    }
    out
}

/// Adds the retry report to what the step observed, and checks the attempt count.
fn attach_retry(outcome: &mut Outcome, expect_attempts: Option<u32>, report: &RetryReport) {
    if let Some(Value::Object(observed)) = &mut outcome.observed {
        observed.insert(
            "retry".into(),
            serde_json::to_value(report).unwrap_or(Value::Null),
        );
    }
    if let Some(want) = expect_attempts {
        if report.attempts != want {
            let message = format!(
                "expected {want} attempts, made {} (delays {:?} ms)",
                report.attempts, report.delays_ms
            );
            outcome.failures.push(("attempts_mismatch", message));
        }
    }
}

fn session_failure(error: SessionError) -> Outcome {
    let code = match &error {
        SessionError::Timeout { .. } => "no_response",
        SessionError::Closed { .. } => "connection_closed",
        _ => "session_error",
    };
    Outcome::failed(code, error.to_string())
}

fn type_tag(value: &Value) -> Value {
    project(&json!("$any"), value)
}

fn brief(value: &Value) -> String {
    brief_str(&value.to_string())
}

fn brief_str(text: &str) -> String {
    const MAX: usize = 300;
    if text.chars().count() <= MAX {
        return text.to_owned();
    }
    let head: String = text.chars().take(MAX).collect();
    format!("{head}… ({} chars)", text.chars().count())
}
