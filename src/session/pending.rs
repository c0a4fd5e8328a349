//! Requests sent without waiting: [`Session::start_request`] writes the request at once and
//! hands back a [`PendingReply`] to wait on later, so other steps can run in between.
//!
//! The pending reply holds an in-flight slot until it is waited on or dropped; dropping it
//! forgets the request (a late answer then counts as a stray response).

use serde_json::Value;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{oneshot, OwnedSemaphorePermit};

use super::inbox::Shared;
use super::{closed, Reply, Session};
use crate::errors::SessionError;
use crate::jsonrpc::{Message, RequestId};

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
        let id = RequestId::Int(self.next_id.fetch_add(1, Ordering::Relaxed));
        let (tx, rx) = oneshot::channel();
        {
            let mut inbox = self.shared.lock();
            if let Some(reason) = &inbox.closed {
                return Err(closed(method, reason));
            }
            inbox.pending.insert(id.clone(), tx);
        }
        tracing::debug!(session = %self.label, ?id, %method, "request (not waited on)");
        if let Err(e) = self.out.send(&Message::request(id.clone(), method, params)) {
            self.shared.lock().pending.remove(&id);
            return Err(closed(method, &e.to_string()));
        }
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
