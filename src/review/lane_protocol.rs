//! The lane's two logged exchanges that open a review: the handshake and `review/start`.
//!
//! Both go through the lane's log like every other request, so their raw responses are kept.
//! Both lanes (the detached websocket host and the stdio `start --wait`) use them.

use serde_json::json;
use std::time::Duration;

use super::lane_io::LaneLog;
use super::materialize::{materialize, not_materialized};
use super::target::ReviewTarget;
use super::thread::{early, Early};
use crate::errors::HandshakeError;
use crate::outcome::FailureCode;
use crate::protocol::ClientInfo;
use crate::session::Session;

/// Sends `initialize` through the log and `initialized` after a successful answer.
pub(super) async fn handshake(
    log: &LaneLog,
    session: &Session,
    timeout: Duration,
) -> Result<(), HandshakeError> {
    // The handshake goes through the log like every other request, so its raw
    // response is kept; `initialized` follows only a successful answer.
    let params = ClientInfo::named("cas-review-session").initialize_params();
    let init = match log.request(session, "initialize", params, timeout).await {
        Ok(Ok(_)) => session
            .notify("initialized", None)
            .map_err(HandshakeError::from),
        Ok(Err(error)) => Err(HandshakeError::Refused(Box::new(error))),
        Err(e) => Err(e.into()),
    };
    init
}

/// Sends `review/start` for `thread_id` and returns the review's turn id; an inline review is
/// the only kind accepted. A refusal that says the thread has no rollout yet is answered once
/// by materializing the thread ([`materialize`]) and asking again; `materialized` says so.
pub(super) async fn start_review(
    log: &LaneLog,
    session: &Session,
    thread_id: &str,
    target: &ReviewTarget,
    timeout: Duration,
    materialized: &mut bool,
) -> Result<String, Early> {
    let params = json!({"threadId": thread_id, "target": target, "delivery": "inline"});
    let result = loop {
        let reply = log
            .request(session, "review/start", params.clone(), timeout)
            .await;
        match reply {
            Ok(Ok(result)) => break result,
            Ok(Err(error)) if !*materialized && not_materialized(&error.message) => {
                materialize(log, session, thread_id, timeout).await?;
                *materialized = true;
            }
            Ok(Err(error)) => {
                let hint = format!("review/start refused: {error}");
                return Err(early(FailureCode::ReviewFailed, hint));
            }
            Err(e) => {
                let hint = format!("review/start: {e}");
                return Err(early(FailureCode::ReviewFailed, hint));
            }
        }
    };
    let turn = result["turn"]["id"].as_str().map(str::to_owned);
    let Some(turn) = turn else {
        return Err(early(
            FailureCode::ReviewFailed,
            format!("review/start answered without a turn id: {result}"),
        ));
    };
    if let Some(id) = result["reviewThreadId"]
        .as_str()
        .filter(|id| *id != thread_id)
    {
        // 0.169.0 reviews inline; a detached review thread would be a protocol change.
        return Err(early(
            FailureCode::ReviewFailed,
            format!("review/start answered reviewThreadId {id} for thread {thread_id}"),
        ));
    }
    Ok(turn)
}
