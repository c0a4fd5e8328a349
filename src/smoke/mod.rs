//! The smoke check: proves a runtime is reachable end to end, and says how each check ended.
//!
//! Checks: handshake, `experimentalFeature/list`, `thread/start`, `turn/start`, `turn/steer`
//! (with `expectedTurnId`), `turn/interrupt`, then `thread/resume` of the same thread (after
//! the turn, so the thread has a rollout; a turn-less thread is not resumable). A refusal of a
//! precondition of the protocol's own making (no active turn) still proves the method reached
//! the server and is reported as such; a refused user input (an unknown `--thread-id`) fails
//! with its code ([`refusal`]); an unknown method, rejected params, a lifecycle error or no
//! answer at all is a failure. Under `--turn-completes` steer and interrupt are skipped and a
//! `turn/completed` check proves the model answers ([`turn`]).

pub mod lane;
pub mod refusal;
pub mod turn;

use serde::Serialize;
use serde_json::{json, Value};
use std::path::Path;
use std::time::{Duration, Instant};

use self::refusal::{judge_refusal, truncate, ThreadOrigin};
use crate::errors::SessionError;
use crate::jsonrpc::RpcError;
use crate::outcome::FailureCode;
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
    /// What it proves when ok.
    pub proves: Proves,
    /// Why it failed, when a code names it.
    pub failure_code: Option<FailureCode>,
    /// What came back, in a phrase.
    pub detail: String,
    /// How long it took.
    pub latency_ms: f64,
}

/// What a smoke check, or one of its checks, proves when it is ok.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Proves {
    /// The request reached the server and got a well-formed answer.
    Reachability,
    /// A turn ran to `completed` and the model answered.
    TurnCompletion,
}

impl Proves {
    /// The snake_case name, as serialized.
    pub fn as_str(self) -> &'static str {
        match self {
            Proves::Reachability => "reachability",
            Proves::TurnCompletion => "turn_completion",
        }
    }
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
    /// Let the turn finish and prove it completed, instead of steering and interrupting it.
    pub turn_completes: bool,
}

impl SmokeOptions<'_> {
    fn origin(&self) -> ThreadOrigin {
        match self.thread_id {
            Some(_) => ThreadOrigin::Given,
            None => ThreadOrigin::Started,
        }
    }
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
    checks.push(judge("experimentalFeature/list", features, opts, |r| {
        r["data"]
            .as_array()
            .map(|d| format!("ok ({} feature(s) on the first page)", d.len()))
    }));
    let thread_id = match &opts.thread_id {
        Some(id) => Some(id.clone()),
        None => start_thread(session, opts, &mut checks).await,
    };
    let Some(thread_id) = thread_id else {
        for name in ["turn/start"]
            .into_iter()
            .chain(after_turn_start(opts).iter().copied())
            .chain(["thread/resume"])
        {
            checks.push(not_run(name, "thread/start gave no thread id"));
        }
        return (checks, None);
    };
    if opts.thread_id.is_some() {
        checks.push(resume(session, &thread_id, opts).await);
    }
    turn_checks(session, opts, &thread_id, &mut checks).await;
    if opts.thread_id.is_none() {
        checks.push(resume(session, &thread_id, opts).await);
    }
    (checks, Some(thread_id))
}

/// The checks that need the turn's id: steer and interrupt, or the turn's completion.
fn after_turn_start(opts: &SmokeOptions<'_>) -> &'static [&'static str] {
    if opts.turn_completes {
        &[turn::NAME]
    } else {
        &["turn/steer", "turn/interrupt"]
    }
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
    checks.push(judge("thread/start", started, opts, |r| {
        r["thread"]["id"]
            .as_str()
            .map(|id| format!("ok (thread {id})"))
    }));
    id
}

/// `turn/start`, then either the turn's completion (`--turn-completes`) or (once the turn runs)
/// `turn/steer` and `turn/interrupt` and the turn's end.
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
    checks.push(judge("turn/start", turn, opts, |r| {
        r["turn"]["id"].as_str().map(|id| format!("ok (turn {id})"))
    }));
    let Some(turn_id) = &turn_id else {
        for name in after_turn_start(opts) {
            let mut check = not_run(name, "turn/start gave no turn id");
            if *name == turn::NAME {
                check.proves = Proves::TurnCompletion;
            }
            checks.push(check);
        }
        return;
    };
    if opts.turn_completes {
        checks.push(turn::completion(session, turn_id, opts.timeout).await);
        return;
    }
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
        checks.push(failed_check(turn::NAME, e.to_string()));
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
    checks.push(judge("turn/steer", steer, opts, |r| {
        r["turnId"]
            .as_str()
            .map(|id| format!("ok (steered turn {id})"))
    }));
    let params = json!({"threadId": thread_id, "turnId": turn_id});
    let interrupt = call(session, "turn/interrupt", params, opts.timeout).await;
    checks.push(judge("turn/interrupt", interrupt, opts, |r| {
        r.is_object().then(|| "ok (interrupted)".to_owned())
    }));
}

async fn resume(session: &Session, thread_id: &str, opts: &SmokeOptions<'_>) -> Check {
    let resumed = call(
        session,
        "thread/resume",
        json!({"threadId": thread_id}),
        opts.timeout,
    )
    .await;
    // A different thread id is an unexpected result, shown in full.
    judge("thread/resume", resumed, opts, |r| {
        (r["thread"]["id"].as_str() == Some(thread_id))
            .then(|| format!("ok (same thread {thread_id})"))
    })
}

/// A check that could not run because an earlier one gave nothing to work on: a failure.
fn not_run(name: &str, why: &str) -> Check {
    failed_check(name, format!("not run: {why}"))
}

/// A failed reachability check without a code, and without a latency of its own.
fn failed_check(name: &str, detail: String) -> Check {
    Check {
        name: name.into(),
        ok: false,
        proves: Proves::Reachability,
        failure_code: None,
        detail,
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

/// Judges a reply: `proves` names what a good result shows; refusals are classified by whose
/// precondition failed ([`refusal`]).
fn judge(
    name: &str,
    called: Called,
    opts: &SmokeOptions<'_>,
    proves: impl Fn(&Value) -> Option<String>,
) -> Check {
    let (ok, failure_code, detail) = match &called.reply {
        Outcome::Result(result) => match proves(result) {
            Some(detail) => (true, None, detail),
            None => (
                false,
                Some(FailureCode::ResultMismatch),
                format!("unexpected result: {}", truncate(&result.to_string())),
            ),
        },
        Outcome::Refused(error) => {
            let j = judge_refusal(error, opts.origin());
            // A refusal that names no user mistake is the server's error, with its code.
            let code = j
                .failure_code
                .or((!j.ok).then_some(FailureCode::ServerError));
            let detail = match j.ok {
                true => j.detail,
                false => format!("server error {}: {}", error.code, j.detail),
            };
            (j.ok, code, detail)
        }
        Outcome::Failed(e) => {
            let (code, detail) =
                crate::fanout::failure::session_failure(e, &crate::session::Tally::default());
            (false, Some(code), detail)
        }
    };
    Check {
        name: name.into(),
        ok,
        proves: Proves::Reachability,
        failure_code,
        detail,
        latency_ms: millis(called.latency),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_result_must_prove_the_check() {
        let opts = SmokeOptions {
            cwd: Path::new("/"),
            thread_id: None,
            timeout: Duration::ZERO,
            prompt: String::new(),
            turn_completes: false,
        };
        let called = |v: Value| Called {
            reply: Outcome::Result(v),
            latency: Duration::ZERO,
        };
        let id = |r: &Value| r["thread"]["id"].as_str().map(str::to_owned);
        let good = judge(
            "thread/start",
            called(json!({"thread": {"id": "t"}})),
            &opts,
            id,
        );
        assert!(good.ok && good.proves == Proves::Reachability);
        let bad = judge("thread/start", called(json!({"thread": {}})), &opts, id);
        assert!(!bad.ok && bad.detail.starts_with("unexpected result"));
    }
}
