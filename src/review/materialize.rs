//! Fresh-parent materialization: one bootstrap turn on a thread codex will not review yet.
//!
//! A thread that has had no turn has no rollout file. Codex reviews that need the thread's
//! rollout refuse such a thread: codex 0.118.0's `review/start` with `delivery: "detached"`
//! answers `-32603 "error creating detached review thread: No such file or directory (os error
//! 2)"`, and a resume answers `no rollout found for thread id …`. Which codex needs it is
//! decided from behaviour, not from a version list: when `review/start` is refused with one of
//! those messages, cas runs one bootstrap turn (the peers' prompt, which the mock model answers
//! `OK`), waits for its `turn/completed`, and sends `review/start` once more; the record then
//! says `parentMaterialized: true`. Inline reviews on 0.118.0 through 0.171.0 accept a fresh
//! thread, so on those this never runs.

use serde_json::json;
use std::time::Duration;

use super::lane_io::LaneLog;
use super::thread::{early, Early};
use crate::outcome::FailureCode;
use crate::session::Session;

/// The bootstrap turn's prompt.
pub const BOOTSTRAP_PROMPT: &str =
    "Internal bootstrap for detached review parent materialization. Reply with OK only.";

/// Whether a `review/start` refusal says the thread has no rollout yet.
pub fn not_materialized(message: &str) -> bool {
    let message = message.to_ascii_lowercase();
    message.contains("no rollout found")
        || (message.contains("review thread") && message.contains("no such file or directory"))
}

/// Runs the bootstrap turn on `thread_id` and waits up to `timeout` for it to complete.
pub async fn materialize(
    log: &LaneLog,
    session: &Session,
    thread_id: &str,
    timeout: Duration,
) -> Result<(), Early> {
    let not_done = |why: String| {
        early(
            FailureCode::ParentThreadNotMaterialized,
            format!("the bootstrap turn that materializes thread {thread_id} {why}"),
        )
    };
    let params = json!({"threadId": thread_id,
        "input": [{"type": "text", "text": BOOTSTRAP_PROMPT}]});
    let result = match log.request(session, "turn/start", params, timeout).await {
        Ok(Ok(result)) => result,
        Ok(Err(error)) => return Err(not_done(format!("was refused: {error}"))),
        Err(e) => return Err(not_done(format!("got no answer: {e}"))),
    };
    let Some(turn) = result["turn"]["id"].as_str().map(str::to_owned) else {
        return Err(not_done(format!("answered without a turn id: {result}")));
    };
    let completed = session
        .await_notification("the bootstrap turn's turn/completed", timeout, |n| {
            n.method == "turn/completed"
                && n.params["threadId"].as_str() == Some(thread_id)
                && n.params["turn"]["id"].as_str() == Some(turn.as_str())
        })
        .await
        .map_err(|e| not_done(format!("did not complete: {e}")))?;
    match completed.params["turn"]["status"].as_str() {
        Some("completed") => Ok(()),
        other => Err(not_done(format!(
            "ended {}",
            other.unwrap_or("(no status)")
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jsonrpc::Message;
    use crate::review::lane_protocol::start_review;
    use crate::review::target::ReviewTarget;
    use crate::transport::{memory, Connection, Inbound};
    use serde_json::Value;
    use std::sync::Arc;

    const REFUSAL: &str =
        "error creating detached review thread: No such file or directory (os error 2)";

    /// A server that refuses `review/start` with `refusals` no-rollout errors before accepting
    /// it, answers `turn/start` with turn `B` and completes it with `bootstrap_status`; returns
    /// the methods it was asked, in order, and the bootstrap prompt it got.
    async fn fake(mut server: Connection, refusals: usize, bootstrap_status: &str) -> Vec<String> {
        let mut asked = Vec::new();
        let mut refused = 0;
        while let Ok(Some(Inbound::Message(Message::Request { id, method, params }))) =
            tokio::time::timeout(Duration::from_secs(2), server.recv()).await
        {
            let id = id.to_value();
            let reply = match method.as_str() {
                "review/start" if refused < refusals => {
                    refused += 1;
                    json!({"id": id, "error": {"code": -32603, "message": REFUSAL}})
                }
                "review/start" => {
                    json!({"id": id, "result": {"turn": {"id": "R"}, "reviewThreadId": "th"}})
                }
                "turn/start" => {
                    let text = params.as_ref().map(|p| p["input"][0]["text"].clone());
                    asked.push(text.unwrap_or(Value::Null).to_string());
                    json!({"id": id, "result": {"turn": {"id": "B"}}})
                }
                _ => json!({"id": id, "error": {"code": -32601, "message": "no"}}),
            };
            asked.push(method.clone());
            let _ = server.send_text(reply.to_string());
            if method == "turn/start" {
                let done = json!({"method": "turn/completed", "params": {"threadId": "th",
                    "turn": {"id": "B", "status": bootstrap_status}}});
                let _ = server.send_text(done.to_string());
            }
        }
        asked
    }

    async fn review_start(
        refusals: usize,
        status: &str,
    ) -> (Result<String, Early>, bool, Vec<String>) {
        let (client, server) = memory::pair();
        let server = tokio::spawn({
            let status = status.to_owned();
            async move { fake(server, refusals, &status).await }
        });
        let session = Session::start(client, Arc::new(crate::session::QueueServerRequests));
        let log = LaneLog::default();
        let mut materialized = false;
        let target = ReviewTarget::UncommittedChanges;
        let timeout = Duration::from_secs(2);
        let got = start_review(&log, &session, "th", &target, timeout, &mut materialized).await;
        session.shutdown(Duration::from_millis(50)).await;
        let asked = server.await.unwrap_or_default();
        (got, materialized, asked)
    }

    #[tokio::test]
    async fn a_no_rollout_refusal_runs_one_bootstrap_turn_then_review_start_again() {
        let (got, materialized, asked) = review_start(1, "completed").await;
        assert_eq!(got.ok().as_deref(), Some("R"));
        assert!(materialized);
        let prompt = serde_json::to_string(BOOTSTRAP_PROMPT).unwrap();
        assert_eq!(
            asked,
            ["review/start", &prompt, "turn/start", "review/start"]
        );
    }

    #[tokio::test]
    async fn an_accepted_review_start_needs_no_bootstrap_and_a_second_refusal_is_final() {
        let (got, materialized, asked) = review_start(0, "completed").await;
        assert_eq!(got.ok().as_deref(), Some("R"));
        assert!(!materialized);
        assert_eq!(asked, ["review/start"]);
        let (got, materialized, asked) = review_start(2, "completed").await;
        let e = got.expect_err("refused twice");
        assert_eq!(e.code, FailureCode::ReviewFailed);
        assert!(e.hint.contains("No such file"), "{}", e.hint);
        assert!(materialized);
        assert_eq!(asked.iter().filter(|m| *m == "review/start").count(), 2);
    }

    #[tokio::test]
    async fn a_bootstrap_turn_that_fails_is_parent_thread_not_materialized() {
        let (got, materialized, _) = review_start(1, "failed").await;
        let e = got.expect_err("bootstrap failed");
        assert_eq!(e.code, FailureCode::ParentThreadNotMaterialized);
        assert!(e.hint.ends_with("ended failed"), "{}", e.hint);
        assert!(!materialized);
    }

    #[test]
    fn the_refusals_of_a_thread_without_rollout_are_recognised() {
        let detached =
            "error creating detached review thread: No such file or directory (os error 2)";
        assert!(not_materialized(detached));
        assert!(not_materialized("no rollout found for thread id 01a1"));
        assert!(!not_materialized("thread not loaded: 01a1"));
        assert!(!not_materialized("No such file or directory (os error 2)"));
    }
}
