//! The smoke check: proves a runtime is reachable end to end, and says how each check ended.
//!
//! Checks: handshake, `experimentalFeature/list`, `thread/start`, `turn/start`, `turn/steer`
//! (with `expectedTurnId`), `turn/interrupt`, then `thread/resume` of the same thread (after
//! the turn, so the thread has a rollout; a turn-less thread is not resumable). A refusal of a
//! precondition (no active turn, no rollout) still proves the method reached the server and is
//! reported as such; an unknown method, rejected params, a lifecycle error or no answer at all
//! is a failure.

pub mod lane;

use serde::Serialize;
use serde_json::{json, Value};
use std::path::Path;
use std::time::{Duration, Instant};

use crate::errors::SessionError;
use crate::jsonrpc::RpcError;
use crate::protocol::ErrorClass;
use crate::retry::{request_with_retry, BackoffSchedule, SplitMix64};
use crate::session::Session;
use crate::summary::millis;

/// One check's outcome.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Check {
    /// The method (or `handshake`).
    pub name: String,
    /// Whether it proved what it should.
    pub ok: bool,
    /// What came back, in a phrase.
    pub detail: String,
    /// How long it took.
    pub latency_ms: f64,
}

/// What a smoke check needs besides the session.
#[derive(Debug, Clone)]
pub struct SmokeOptions<'a> {
    /// The cwd for `thread/start`.
    pub cwd: &'a Path,
    /// Use this thread instead of starting one.
    pub thread_id: Option<String>,
    /// Each request's deadline.
    pub timeout: Duration,
    /// The text of the turn (the hermetic mock stalls on `[[stall:N]]`).
    pub prompt: String,
}

/// The checks after a successful handshake, and the thread they used.
pub async fn run(session: &Session, opts: &SmokeOptions<'_>) -> (Vec<Check>, Option<String>) {
    let mut checks = Vec::new();
    let features = call(
        session,
        "experimentalFeature/list",
        json!({"limit": 1}),
        opts.timeout,
    )
    .await;
    checks.push(judge("experimentalFeature/list", features, |r| {
        r["data"]
            .as_array()
            .map(|d| format!("ok ({} feature(s) on the first page)", d.len()))
    }));
    let thread_id = match &opts.thread_id {
        Some(id) => Some(id.clone()),
        None => start_thread(session, opts, &mut checks).await,
    };
    let Some(thread_id) = thread_id else {
        for name in [
            "turn/start",
            "turn/steer",
            "turn/interrupt",
            "thread/resume",
        ] {
            checks.push(not_run(name, "thread/start gave no thread id"));
        }
        return (checks, None);
    };
    if opts.thread_id.is_some() {
        checks.push(resume(session, &thread_id, opts.timeout).await);
    }
    turn_checks(session, opts, &thread_id, &mut checks).await;
    if opts.thread_id.is_none() {
        checks.push(resume(session, &thread_id, opts.timeout).await);
    }
    (checks, Some(thread_id))
}

/// `thread/start`, judged; the new thread's id.
async fn start_thread(
    session: &Session,
    opts: &SmokeOptions<'_>,
    checks: &mut Vec<Check>,
) -> Option<String> {
    let started = call(
        session,
        "thread/start",
        json!({"cwd": opts.cwd}),
        opts.timeout,
    )
    .await;
    let id = started
        .result()
        .and_then(|r| r["thread"]["id"].as_str())
        .map(str::to_owned);
    checks.push(judge("thread/start", started, |r| {
        r["thread"]["id"]
            .as_str()
            .map(|id| format!("ok (thread {id})"))
    }));
    id
}

/// `turn/start`, then (once the turn runs) `turn/steer` and `turn/interrupt`, and the turn's end.
async fn turn_checks(
    session: &Session,
    opts: &SmokeOptions<'_>,
    thread_id: &str,
    checks: &mut Vec<Check>,
) {
    let input = json!([{"type": "text", "text": opts.prompt, "text_elements": []}]);
    let turn = call(
        session,
        "turn/start",
        json!({"threadId": thread_id, "input": input}),
        opts.timeout,
    )
    .await;
    let turn_id = turn
        .result()
        .and_then(|r| r["turn"]["id"].as_str())
        .map(str::to_owned);
    checks.push(judge("turn/start", turn, |r| {
        r["turn"]["id"].as_str().map(|id| format!("ok (turn {id})"))
    }));
    let Some(turn_id) = &turn_id else {
        for name in ["turn/steer", "turn/interrupt"] {
            checks.push(not_run(name, "turn/start gave no turn id"));
        }
        return;
    };
    // The turn/start response comes before the turn is running; steer and interrupt
    // sent in that gap race it. Wait for the prompt to be recorded as the turn's user
    // message, as a client should: by then the turn runs (and prompt hooks have run).
    let _ = session
        .await_notification(
            "the turn's user message",
            opts.timeout.min(Duration::from_secs(10)),
            |n| {
                n.method == "item/completed"
                    && n.params["turnId"].as_str() == Some(turn_id)
                    && n.params["item"]["type"] == "userMessage"
            },
        )
        .await;
    steer_and_interrupt(session, opts, thread_id, turn_id, checks).await;
    let completed = session
        .await_notification("turn/completed", opts.timeout, |n| {
            n.method == "turn/completed" && n.params["turn"]["id"].as_str() == Some(turn_id)
        })
        .await;
    if let Err(e) = completed {
        checks.push(Check {
            name: "turn/completed".into(),
            ok: false,
            detail: e.to_string(),
            latency_ms: 0.0,
        });
    }
}

/// `turn/steer` (with `expectedTurnId`) and `turn/interrupt` of the running turn, judged.
async fn steer_and_interrupt(
    session: &Session,
    opts: &SmokeOptions<'_>,
    thread_id: &str,
    turn_id: &str,
    checks: &mut Vec<Check>,
) {
    let steer_text = format!("{} (steered)", opts.prompt);
    let steer_input = json!([{"type": "text", "text": steer_text, "text_elements": []}]);
    let params = json!({"threadId": thread_id, "expectedTurnId": turn_id, "input": steer_input});
    let steer = call(session, "turn/steer", params, opts.timeout).await;
    checks.push(judge("turn/steer", steer, |r| {
        r["turnId"]
            .as_str()
            .map(|id| format!("ok (steered turn {id})"))
    }));
    let params = json!({"threadId": thread_id, "turnId": turn_id});
    let interrupt = call(session, "turn/interrupt", params, opts.timeout).await;
    checks.push(judge("turn/interrupt", interrupt, |r| {
        r.is_object().then(|| "ok (interrupted)".to_owned())
    }));
}

async fn resume(session: &Session, thread_id: &str, timeout: Duration) -> Check {
    let resumed = call(
        session,
        "thread/resume",
        json!({"threadId": thread_id}),
        timeout,
    )
    .await;
    // A different thread id is an unexpected result, shown in full.
    judge("thread/resume", resumed, |r| {
        (r["thread"]["id"].as_str() == Some(thread_id))
            .then(|| format!("ok (same thread {thread_id})"))
    })
}

/// A check that could not run because an earlier one gave nothing to work on: a failure.
fn not_run(name: &str, why: &str) -> Check {
    Check {
        name: name.into(),
        ok: false,
        detail: format!("not run: {why}"),
        latency_ms: 0.0,
    }
}

/// How one call ended.
enum Outcome {
    /// A result.
    Result(Value),
    /// An error response.
    Refused(RpcError),
    /// No answer: a deadline, a closed connection.
    Failed(SessionError),
}

/// A reply and how long it took.
struct Called {
    reply: Outcome,
    latency: Duration,
}

impl Called {
    fn result(&self) -> Option<&Value> {
        match &self.reply {
            Outcome::Result(v) => Some(v),
            _ => None,
        }
    }
}

async fn call(session: &Session, method: &str, params: Value, timeout: Duration) -> Called {
    let t0 = Instant::now();
    let mut rng = SplitMix64::from_entropy();
    let (reply, _) = request_with_retry(
        session,
        method,
        &params,
        timeout,
        &BackoffSchedule::default(),
        &mut rng,
    )
    .await;
    let latency = t0.elapsed();
    let reply = match reply {
        Ok(Ok(result)) => Outcome::Result(result),
        Ok(Err(error)) => Outcome::Refused(error),
        Err(e) => Outcome::Failed(e),
    };
    tracing::debug!(
        method,
        latency_ms = millis(latency),
        ok = matches!(reply, Outcome::Result(_)),
        "smoke check"
    );
    Called { reply, latency }
}

/// Judges a reply: `proves` names what a good result shows; refusals are classified.
fn judge(name: &str, called: Called, proves: impl Fn(&Value) -> Option<String>) -> Check {
    let (ok, detail) = match &called.reply {
        Outcome::Result(result) => match proves(result) {
            Some(detail) => (true, detail),
            None => (
                false,
                format!("unexpected result: {}", truncate(&result.to_string())),
            ),
        },
        Outcome::Refused(error) => refusal(error),
        Outcome::Failed(e) => (false, e.to_string()),
    };
    Check {
        name: name.into(),
        ok,
        detail,
        latency_ms: millis(called.latency),
    }
}

/// A refused precondition proves reachability; anything that says cas and the server do not
/// speak the same protocol does not.
fn refusal(error: &RpcError) -> (bool, String) {
    let message = truncate(&error.message);
    match ErrorClass::of(error) {
        ErrorClass::Other if error.code == crate::protocol::INVALID_REQUEST => (
            true,
            format!("reached the server; precondition refused: {message}"),
        ),
        ErrorClass::UnknownMethod => (
            false,
            format!("the server does not know this method: {message}"),
        ),
        ErrorClass::InvalidParams => (
            false,
            format!("the server rejected cas's params: {message}"),
        ),
        class => (false, format!("refused ({class}): {message}")),
    }
}

fn truncate(text: &str) -> String {
    const MAX: usize = 200;
    if text.chars().count() <= MAX {
        text.to_owned()
    } else {
        format!("{}…", text.chars().take(MAX).collect::<String>())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_are_classified_truthfully() {
        let cases = [
            ("no active turn to steer", true),
            ("no rollout found for thread id x", true),
            (
                "Invalid request: unknown variant `turn/steer`, expected one of `initialize`",
                false,
            ),
            ("Invalid request: missing field `expectedTurnId`", false),
            ("Not initialized", false),
            ("turn/steer requires experimentalApi capability", false),
        ];
        for (message, ok) in cases {
            assert_eq!(refusal(&RpcError::new(-32600, message)).0, ok, "{message}");
        }
        assert!(!refusal(&RpcError::new(-32001, "Server overloaded; retry later.")).0);
        assert!(
            !refusal(&RpcError::new(
                -32603,
                "No such file or directory (os error 2)"
            ))
            .0
        );
        assert!(!refusal(&RpcError::new(-32602, "command/exec cannot set both")).0);
    }

    #[test]
    fn a_result_must_prove_the_check() {
        let called = |v: Value| Called {
            reply: Outcome::Result(v),
            latency: Duration::ZERO,
        };
        let good = judge(
            "thread/start",
            called(json!({"thread": {"id": "t"}})),
            |r| r["thread"]["id"].as_str().map(str::to_owned),
        );
        assert!(good.ok);
        let bad = judge("thread/start", called(json!({"thread": {}})), |r| {
            r["thread"]["id"].as_str().map(str::to_owned)
        });
        assert!(!bad.ok && bad.detail.starts_with("unexpected result"));
    }
}
