//! Following one review turn through the notification stream of its thread.
//!
//! Codex 0.169.0 runs reviews inline: the `review/start` response carries turn T1, the review's
//! `turn/started` carries another id T2 whose `rootTurnId` is T1, and the items and the final
//! `turn/completed` carry T1 again. The stream is therefore keyed on T1 (and T2 once seen); the
//! review ends with the `turn/completed` of T1. The raw model answer is an `agentMessage` that is
//! started (and streamed by deltas) but never completed, so texts are gathered from starts,
//! deltas and completions alike.

use serde_json::Value;

use super::outcome::{parse_review_json, ReviewResult};
use crate::outcome::TurnStatus;
use crate::session::Notification;

/// What changed with one notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// Nothing the record keeps.
    Nothing,
    /// The review's own `turn/started` arrived (T2).
    Started,
    /// The review turn ended with this status.
    Ended(TurnStatus),
    /// Codex sent an `error` notification for the review (counted in the stream).
    Error,
}

/// After this many `error` notifications the review's model stream is taken to keep failing:
/// the lane interrupts it and records `review_failed` rather than wait for its deadline.
pub const MAX_STREAM_ERRORS: u32 = 5;

/// The review as seen so far.
#[derive(Debug, Default)]
pub struct ReviewStream {
    thread_id: String,
    turn_id: String,
    /// T2, once its `turn/started` arrived.
    pub started_turn_id: Option<String>,
    agent_texts: Vec<(String, String)>,
    /// The rendered review (`exitedReviewMode.review`).
    pub review_text: Option<String>,
    /// The final status of T1.
    pub turn_status: Option<TurnStatus>,
    /// The error of the turn (from `turn/completed` or an `error` notification).
    pub turn_error: Option<String>,
    /// How many `error` notifications codex sent for the review.
    pub errors: u32,
    /// The message of the last of them.
    pub last_error: Option<String>,
}

impl ReviewStream {
    /// Follows the review of `turn_id` (T1) on `thread_id`.
    pub fn new(thread_id: &str, turn_id: &str) -> ReviewStream {
        ReviewStream {
            thread_id: thread_id.to_owned(),
            turn_id: turn_id.to_owned(),
            ..ReviewStream::default()
        }
    }

    fn ours(&self, turn: Option<&str>) -> bool {
        turn.is_some_and(|t| t == self.turn_id || Some(t) == self.started_turn_id.as_deref())
    }

    /// Takes one notification into account.
    pub fn feed(&mut self, n: &Notification) -> Change {
        let p = &n.params;
        if p["threadId"].as_str().is_some_and(|t| t != self.thread_id) {
            return Change::Nothing;
        }
        let turn_id = p["turnId"].as_str();
        match n.method.as_str() {
            "turn/started" => {
                let turn = &p["turn"];
                let id = turn["id"].as_str();
                if turn["rootTurnId"].as_str() == Some(&self.turn_id) || id == Some(&self.turn_id) {
                    self.started_turn_id = id.map(str::to_owned);
                    return Change::Started;
                }
            }
            "turn/completed" => {
                let turn = &p["turn"];
                if turn["id"].as_str() == Some(&self.turn_id) {
                    let status = TurnStatus::from(turn["status"].as_str().unwrap_or("unknown"));
                    if let Some(message) = turn["error"]["message"].as_str() {
                        self.turn_error = Some(message.to_owned());
                    }
                    self.turn_status = Some(status.clone());
                    return Change::Ended(status);
                }
            }
            "error" if turn_id.is_none() || self.ours(turn_id) => {
                let message = p["error"]["message"].as_str().unwrap_or("(no message)");
                self.turn_error = Some(message.to_owned());
                self.last_error = Some(message.to_owned());
                self.errors += 1;
                return Change::Error;
            }
            "item/started" | "item/completed" if self.ours(turn_id) => self.item(&p["item"]),
            "item/agentMessage/delta" if self.ours(turn_id) => {
                if let (Some(id), Some(delta)) = (p["itemId"].as_str(), p["delta"].as_str()) {
                    self.text_of(id).push_str(delta);
                }
            }
            _ => {}
        }
        Change::Nothing
    }

    fn item(&mut self, item: &Value) {
        let text = item["text"].as_str().filter(|t| !t.is_empty());
        match (item["type"].as_str(), item["id"].as_str()) {
            (Some("agentMessage"), Some(id)) => {
                if let Some(text) = text {
                    *self.text_of(id) = text.to_owned();
                }
            }
            (Some("exitedReviewMode"), _) => {
                self.review_text = item["review"].as_str().map(str::to_owned);
            }
            _ => {}
        }
    }

    fn text_of(&mut self, id: &str) -> &mut String {
        let pos = match self.agent_texts.iter().position(|(i, _)| i == id) {
            Some(pos) => pos,
            None => {
                self.agent_texts.push((id.to_owned(), String::new()));
                self.agent_texts.len() - 1
            }
        };
        &mut self.agent_texts[pos].1
    }

    /// Whether codex reported so many errors that the review is taken to keep failing.
    pub fn keeps_failing(&self) -> bool {
        self.errors >= MAX_STREAM_ERRORS
    }

    /// Why the lane interrupted a review before it ended: codex kept reporting errors, else
    /// the lane deadline of `deadline_ms` passed.
    pub fn overdue_hint(&self, deadline_ms: u64) -> String {
        if !self.keeps_failing() {
            return format!(
                "no result within the lane deadline of {deadline_ms} ms; cas interrupted the review"
            );
        }
        format!(
            "codex reported {} error notifications for the review (last: {}); cas interrupted it",
            self.errors,
            self.last_error.as_deref().unwrap_or("-")
        )
    }

    /// The structured result and its source: the first agent message of the review that is
    /// review JSON, else the rendered review text if it is review JSON itself.
    pub fn result(&self) -> Option<(ReviewResult, &'static str)> {
        self.agent_texts
            .iter()
            .find_map(|(_, text)| parse_review_json(text))
            .map(|r| (r, "review_agent_message_json"))
            .or_else(|| {
                let text = self.review_text.as_deref()?;
                parse_review_json(text).map(|r| (r, "exited_review_mode_json"))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn note(method: &str, params: Value) -> Notification {
        Notification {
            seq: 0,
            method: method.into(),
            params,
        }
    }

    const REVIEW: &str = r#"{"findings":[{"title":"[P1] x","body":"b","priority":1}],"overall_correctness":"patch is incorrect","overall_explanation":"E","overall_confidence_score":0.5}"#;

    #[test]
    fn follows_t1_through_t2_and_takes_the_raw_json() {
        let mut s = ReviewStream::new("th", "T1");
        let started = note(
            "turn/started",
            json!({"threadId": "th", "turn": {"id": "T2", "rootTurnId": "T1"}}),
        );
        assert_eq!(s.feed(&started), Change::Started);
        let raw = json!({"threadId": "th", "turnId": "T1", "item": {"type": "agentMessage", "id": "m1", "text": ""}});
        s.feed(&note("item/started", raw));
        for half in [&REVIEW[..20], &REVIEW[20..]] {
            let delta = json!({"threadId": "th", "turnId": "T1", "itemId": "m1", "delta": half});
            s.feed(&note("item/agentMessage/delta", delta));
        }
        let exited = json!({"threadId": "th", "turnId": "T1", "item": {"type": "exitedReviewMode", "id": "x", "review": "E\n\nReview comment: …"}});
        s.feed(&note("item/completed", exited));
        let other = json!({"threadId": "th", "turn": {"id": "T2", "status": "interrupted"}});
        assert_eq!(s.feed(&note("turn/completed", other)), Change::Nothing);
        let done = json!({"threadId": "th", "turn": {"id": "T1", "status": "completed"}});
        assert_eq!(
            s.feed(&note("turn/completed", done)),
            Change::Ended(TurnStatus::Completed)
        );
        let (result, source) = s.result().unwrap();
        assert_eq!(source, "review_agent_message_json");
        assert_eq!(result.findings[0].priority, Some(1));
        assert_eq!(s.review_text.as_deref(), Some("E\n\nReview comment: …"));
    }

    #[test]
    fn error_notifications_are_counted_until_the_stream_keeps_failing() {
        let mut s = ReviewStream::new("th", "T1");
        let error = |turn: &str| {
            note(
                "error",
                json!({"threadId": "th", "turnId": turn, "willRetry": true,
                       "error": {"message": "stream disconnected"}}),
            )
        };
        assert_eq!(s.feed(&error("other")), Change::Nothing);
        for _ in 1..MAX_STREAM_ERRORS {
            assert_eq!(s.feed(&error("T1")), Change::Error);
            assert!(!s.keeps_failing());
        }
        assert_eq!(s.feed(&error("T1")), Change::Error);
        assert!(s.keeps_failing());
        assert_eq!(s.last_error.as_deref(), Some("stream disconnected"));
        assert!(s.overdue_hint(1).contains("5 error notifications"));
    }

    #[test]
    fn a_plain_text_answer_is_no_result() {
        let mut s = ReviewStream::new("th", "T1");
        let raw = json!({"threadId": "th", "turnId": "T1", "item": {"type": "agentMessage", "id": "m1", "text": "looks fine"}});
        s.feed(&note("item/started", raw));
        let exited = json!({"threadId": "th", "turnId": "T1", "item": {"type": "exitedReviewMode", "id": "x", "review": "looks fine"}});
        s.feed(&note("item/completed", exited));
        let other_thread = json!({"threadId": "zz", "turn": {"id": "T1", "status": "completed"}});
        assert_eq!(
            s.feed(&note("turn/completed", other_thread)),
            Change::Nothing
        );
        assert!(s.result().is_none());
    }
}
