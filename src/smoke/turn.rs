//! The `turn/completed` check of `--turn-completes`: the smoke turn finished and the model answered.
//!
//! The turn is left alone until `turn/completed` (within the request deadline). Status
//! `completed` with an agent message proves the model answers; `failed` (codex's message from
//! the turn's error, else its last `error` notification), `interrupted`, no message or no end
//! at all is `turn_failed`.

use serde_json::Value;
use std::time::{Duration, Instant};

use super::refusal::truncate;
use super::{Check, Proves};
use crate::errors::SessionError;
use crate::outcome::FailureCode;
use crate::session::{Notification, Session};
use crate::summary::millis;

/// The check's name.
pub const NAME: &str = "turn/completed";

/// Waits for the turn's end, up to `timeout`, and judges it.
pub async fn completion(session: &Session, turn_id: &str, timeout: Duration) -> Check {
    let t0 = Instant::now();
    let completed = session
        .await_notification("turn/completed", timeout, |n| {
            n.method == "turn/completed" && n.params["turn"]["id"].as_str() == Some(turn_id)
        })
        .await;
    let latency_ms = millis(t0.elapsed());
    let verdict = match completed {
        Ok(n) => judge_turn(&n.params["turn"], || answer_items(session, turn_id))
            .map_err(|why| why.or_else(|| last_error(session, turn_id))),
        Err(e) => {
            let waited = match e {
                SessionError::Timeout { after, .. } => {
                    format!("no turn/completed notification within {after:?}")
                }
                other => other.to_string(),
            };
            Err(Some(match last_error(session, turn_id) {
                Some(error) => format!("{waited}; codex's last error: {error}"),
                None => waited,
            }))
        }
    };
    let (ok, failure_code, detail) = match verdict {
        Ok(detail) => (true, None, detail),
        Err(why) => (
            false,
            Some(FailureCode::TurnFailed),
            format!(
                "the turn did not complete: {}",
                why.unwrap_or_else(|| "failed without a message".into())
            ),
        ),
    };
    Check {
        name: NAME.into(),
        ok,
        proves: Proves::TurnCompletion,
        failure_code,
        detail,
        latency_ms,
    }
}

/// The detail of a completed, answered turn, or why it is not one (`None`: failed, no message).
fn judge_turn(
    turn: &Value,
    buffered: impl FnOnce() -> Vec<String>,
) -> Result<String, Option<String>> {
    let id = turn["id"].as_str().unwrap_or_default();
    match turn["status"].as_str() {
        Some("completed") => {
            let mut said = agent_texts(turn["items"].as_array().map_or(&[][..], Vec::as_slice));
            if said.is_empty() {
                said = buffered();
            }
            match said.last() {
                Some(text) => Ok(format!(
                    "ok (turn {id} completed; the model answered: {})",
                    truncate(text)
                )),
                None => Err(Some("completed without an agent message".into())),
            }
        }
        Some("failed") => Err(turn["error"]["message"].as_str().map(str::to_owned)),
        Some("interrupted") => Err(Some("the turn was interrupted".into())),
        other => Err(Some(format!("unexpected status {other:?}"))),
    }
}

/// The texts of the agent messages among `items`.
fn agent_texts(items: &[Value]) -> Vec<String> {
    items
        .iter()
        .filter(|i| i["type"] == "agentMessage")
        .filter_map(|i| i["text"].as_str().map(str::to_owned))
        .collect()
}

/// The agent messages of the turn among the buffered `item/completed` notifications.
fn answer_items(session: &Session, turn_id: &str) -> Vec<String> {
    let items: Vec<Value> = session
        .buffered_notifications()
        .into_iter()
        .filter(|n| of_turn(n, "item/completed", turn_id))
        .map(|n| n.params["item"].clone())
        .collect();
    agent_texts(&items)
}

/// The message of the turn's last `error` notification.
fn last_error(session: &Session, turn_id: &str) -> Option<String> {
    session
        .buffered_notifications()
        .into_iter()
        .filter(|n| of_turn(n, "error", turn_id))
        .rev()
        .find_map(|n| {
            let error = &n.params["error"];
            let message = error["message"].as_str()?;
            Some(match error["additionalDetails"].as_str() {
                Some(details) => format!("{message} ({details})"),
                None => message.to_owned(),
            })
        })
}

/// Whether `n` is a `method` notification about the turn `turn_id`.
fn of_turn(n: &Notification, method: &str, turn_id: &str) -> bool {
    n.method == method && n.params["turnId"].as_str() == Some(turn_id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_turn_proves_completion_only_when_it_completed_with_an_answer() {
        let none = Vec::new;
        let answered = json!({"id": "t", "status": "completed",
            "items": [{"type": "agentMessage", "text": "ok"}]});
        assert_eq!(
            judge_turn(&answered, none),
            Ok("ok (turn t completed; the model answered: ok)".into())
        );
        let from_buffer = json!({"id": "t", "status": "completed", "items": []});
        assert!(judge_turn(&from_buffer, || vec!["hi".into()]).is_ok());
        assert!(judge_turn(&from_buffer, none).is_err());
        let failed = json!({"id": "t", "status": "failed", "error": {"message": "boom"}});
        assert_eq!(judge_turn(&failed, none), Err(Some("boom".into())));
        let bare = json!({"id": "t", "status": "failed", "error": null});
        assert_eq!(judge_turn(&bare, none), Err(None));
        let interrupted = json!({"id": "t", "status": "interrupted"});
        assert!(judge_turn(&interrupted, none).is_err());
    }

    #[tokio::test]
    async fn a_turn_that_never_ends_fails_at_the_deadline_with_codexs_last_error() {
        use crate::jsonrpc::Message;
        let (client, server) = crate::transport::memory::pair();
        let session = Session::start(
            client,
            std::sync::Arc::new(crate::session::QueueServerRequests),
        );
        let error = json!({"turnId": "t", "error": {"message": "Reconnecting... 1/5",
            "additionalDetails": "connection refused"}});
        server
            .send(&Message::notification("error", Some(error)))
            .unwrap();
        let check = completion(&session, "t", Duration::from_millis(200)).await;
        assert_eq!(
            (check.ok, check.failure_code, check.detail.as_str()),
            (
                false,
                Some(FailureCode::TurnFailed),
                "the turn did not complete: no turn/completed notification within 200ms; \
                 codex's last error: Reconnecting... 1/5 (connection refused)"
            )
        );
        drop(server);
    }
}
