//! Requests sent without waiting: [`Session::start_request`] writes the request at once and
//! hands back a [`PendingReply`] to wait on later, so other steps can run in between.
//!
//! The pending reply holds an in-flight slot until it is waited on or dropped; dropping it
//! forgets the request (a late answer then counts as a stray response).

use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{oneshot, OwnedSemaphorePermit};

use super::inbox::Shared;
use super::{closed, Reply, Session};
use crate::errors::SessionError;
use crate::jsonrpc::RequestId;

/// The answer to a request sent with [`Session::start_request`], still to come.
pub struct PendingReply {
    id: RequestId,
    method: String,
    rx: Option<oneshot::Receiver<Reply>>,
    shared: Arc<Shared>,
    _slot: OwnedSemaphorePermit,
}

impl Session {
    /// Sends a request now and returns its answer to wait for later; fails at once when the
    /// connection is closed or every in-flight slot is taken.
    pub fn start_request(
        &self,
        method: &str,
        params: Option<Value>,
    ) -> Result<PendingReply, SessionError> {
        let slot = self
            .in_flight
            .clone()
            .try_acquire_owned()
            .map_err(|_| closed(method, "every in-flight slot is taken"))?;
        let (id, rx) = self.register_and_send(method, params, "request (not waited on)")?;
        Ok(PendingReply {
            id,
            method: method.to_owned(),
            rx: Some(rx),
            shared: self.shared.clone(),
            _slot: slot,
        })
    }
}

impl PendingReply {
    /// The request's method.
    pub fn method(&self) -> &str {
        &self.method
    }

    /// Waits up to `timeout` for the answer.
    pub async fn wait(mut self, timeout: Duration) -> Result<Reply, SessionError> {
        let Some(rx) = self.rx.take() else {
            return Err(closed(&self.method, "the answer was already taken"));
        };
        match tokio::time::timeout(timeout, rx).await {
            Ok(Ok(reply)) => Ok(reply),
            Ok(Err(_)) => {
                let reason = self.shared.lock().closed.clone().unwrap_or_default();
                Err(closed(&self.method, &reason))
            }
            Err(_) => Err(SessionError::Timeout {
                method: self.method.clone(),
                after: timeout,
            }),
        }
    }
}

impl Drop for PendingReply {
    fn drop(&mut self) {
        self.shared.lock().pending.remove(&self.id);
    }
}

#[cfg(test)]
mod tests {
    use crate::jsonrpc::{Message, RequestId};
    use crate::session::{QueueServerRequests, Session};
    use crate::transport::{memory, Inbound};
    use serde_json::json;
    use std::sync::Arc;
    use std::time::Duration;

    #[tokio::test]
    async fn a_pending_request_is_sent_at_once_and_answered_later() {
        let (client, mut server) = memory::pair();
        let session = Session::with_max_in_flight(client, Arc::new(QueueServerRequests), 1);
        let pending = session.start_request("slow", None).expect("sent");
        assert_eq!(pending.method(), "slow");
        let id = match server.recv().await {
            Some(Inbound::Message(Message::Request { id, method, .. })) if method == "slow" => id,
            other => panic!("got {other:?}"),
        };
        // The one in-flight slot is held until the answer is taken.
        assert!(session.start_request("other", None).is_err());
        server
            .send(&Message::Response {
                id,
                result: json!({"ok": true}),
            })
            .unwrap();
        let reply = pending
            .wait(Duration::from_secs(5))
            .await
            .expect("answered");
        assert_eq!(reply, Ok(json!({"ok": true})));
        assert!(session.start_request("other", None).is_ok());
    }

    #[tokio::test]
    async fn an_unanswered_pending_request_times_out_and_a_late_answer_is_a_stray() {
        let (client, server) = memory::pair();
        let session = Session::start(client, Arc::new(QueueServerRequests));
        let pending = session.start_request("slow", None).expect("sent");
        let err = pending.wait(Duration::from_millis(20)).await.unwrap_err();
        assert!(err.to_string().contains("no response to slow"), "{err}");
        server
            .send(&Message::Response {
                id: RequestId::Int(1),
                result: json!({}),
            })
            .unwrap();
        let arrived = session
            .collect_arrivals(Some(0), Duration::from_millis(50), None)
            .await;
        assert_eq!(arrived, ["response to unknown or expired id 1"]);
        drop(server);
        for _ in 0..100 {
            if session.closed_reason().is_some() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let err = session
            .start_request("late", None)
            .err()
            .expect("refused once closed");
        assert!(err.to_string().contains("connection closed"), "{err}");
    }
}
