//! Opening the review's thread: a fresh one, or the parent when it may be reused.
//!
//! codex 0.169.0 reviews inline on the thread it is given, so reusing a parent means the review
//! runs on the parent itself. A parent is reused only when this lane's server can resume it (it
//! has a rollout: `parent_thread_not_materialized` otherwise), no other process writes it (codex
//! refuses the resume with "already has an active writer"), it is idle and none of its turns is
//! in progress (`unsafe_parent_thread_state` otherwise). `--parent-mode reuse` refuses such a
//! parent; `auto` falls back to a fresh thread and says why in the parent decision.

use serde_json::{json, Value};
use std::path::Path;
use std::time::Duration;

use super::lane_io::LaneLog;
use super::record::{ParentFacts, ParentMode};
use crate::outcome::{FailureCode, TurnStatus};
use crate::protocol::ThreadStatus;
use crate::session::Session;

/// A failure that ends the lane before its review could run.
pub struct Early {
    /// The failure code.
    pub code: FailureCode,
    /// What happened.
    pub hint: String,
}

/// An [`Early`] failure.
pub fn early(code: FailureCode, hint: impl Into<String>) -> Early {
    Early {
        code,
        hint: hint.into(),
    }
}

/// A fresh thread, or the parent when the parent mode allows and the parent is usable.
pub async fn open_thread(
    log: &LaneLog,
    session: &Session,
    facts: &mut ParentFacts,
    cwd: &Path,
    timeout: Duration,
) -> Result<String, Early> {
    let parent = facts.clone();
    if let (Some(id), ParentMode::Reuse | ParentMode::Auto) = (&parent.thread_id, parent.mode) {
        match check_parent(log, session, id, timeout).await {
            Ok(()) => {
                facts.decision = "reused the parent thread: the review runs inline on it".into();
                return Ok(id.clone());
            }
            Err(e) if parent.mode == ParentMode::Reuse => {
                facts.decision = format!("refused to reuse the parent ({})", e.code);
                return Err(e);
            }
            Err(e) => {
                facts.decision = format!(
                    "fresh thread: the parent is not reusable ({}: {})",
                    e.code, e.hint
                );
            }
        }
    } else if parent.decision.is_empty() {
        facts.decision = match parent.thread_id {
            Some(_) => "fresh thread (--parent-mode fresh; the parent is only recorded)".into(),
            None => "fresh thread (no parent given)".into(),
        };
    }
    let params = json!({"cwd": cwd});
    match log.request(session, "thread/start", params, timeout).await {
        Ok(Ok(result)) => result["thread"]["id"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| {
                early(
                    FailureCode::ReviewFailed,
                    format!("thread/start answered without a thread id: {result}"),
                )
            }),
        Ok(Err(error)) => Err(early(
            FailureCode::ReviewFailed,
            format!("thread/start refused: {error}"),
        )),
        Err(e) => Err(early(
            FailureCode::ReviewFailed,
            format!("thread/start: {e}"),
        )),
    }
}

/// A parent is reusable when it resumes (it has a rollout), is idle, and has no turn in progress.
async fn check_parent(
    log: &LaneLog,
    session: &Session,
    id: &str,
    timeout: Duration,
) -> Result<(), Early> {
    let resumed = log
        .request(session, "thread/resume", json!({"threadId": id}), timeout)
        .await;
    let thread = match resumed {
        Ok(Ok(result)) => result["thread"].clone(),
        Ok(Err(error)) => {
            // Another process (e.g. the lingering server of an earlier lane, or the user's own
            // codex) holding the thread is unsafe; anything else means there is no rollout.
            let code = if error.message.contains("active writer") {
                FailureCode::UnsafeParentThreadState
            } else {
                FailureCode::ParentThreadNotMaterialized
            };
            let hint = format!("thread/resume of {id} refused: {}", error.message);
            return Err(early(code, hint));
        }
        Err(e) => {
            return Err(early(
                FailureCode::ParentThreadNotMaterialized,
                format!("thread/resume of {id}: {e}"),
            ))
        }
    };
    let status = ThreadStatus::of_thread(&thread);
    if status != Some(ThreadStatus::Idle) {
        let status = status.as_ref().map_or("unknown", ThreadStatus::as_str);
        return Err(early(
            FailureCode::UnsafeParentThreadState,
            format!("parent thread {id} is {status}, not idle"),
        ));
    }
    let turns = log
        .request(
            session,
            "thread/turns/list",
            json!({"threadId": id}),
            timeout,
        )
        .await;
    if let Ok(Ok(list)) = turns {
        let live = turns_in_progress(&list);
        if live > 0 {
            return Err(early(
                FailureCode::UnsafeParentThreadState,
                format!("parent thread {id} has {live} turn(s) in progress"),
            ));
        }
    }
    Ok(())
}

/// How many turns of a `thread/turns/list` result are in progress.
fn turns_in_progress(list: &Value) -> usize {
    list["data"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|t| t["status"].as_str().map(TurnStatus::from) == Some(TurnStatus::InProgress))
        .count()
}
