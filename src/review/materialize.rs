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
        other => Err(not_done(format!("ended {}", other.unwrap_or("(no status)")))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_refusals_of_a_thread_without_rollout_are_recognised() {
        let detached = "error creating detached review thread: No such file or directory (os error 2)";
        assert!(not_materialized(detached));
        assert!(not_materialized("no rollout found for thread id 01a1"));
        assert!(!not_materialized("thread not loaded: 01a1"));
        assert!(!not_materialized("No such file or directory (os error 2)"));
    }
}
