//! The session's shared inbox and the read loop that fills it.
//!
//! The read loop is the only reader of the connection: it hands responses to waiting requests,
//! queues notifications, gives server requests to the handler before reading on, and records
//! what was not a message. When input ends it stores the reason and wakes every waiter.
//! Whatever the server sends, the inbox stays bounded: notifications past the [`InboxLimits`]
//! drop the oldest, and every record of what was not passed on is capped; all of it is counted
//! in the [`SessionCounters`].

use serde_json::Value;
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::{oneshot, Notify};

use super::counters::{footprint, sample_text, InboxLimits, SessionCounters};
use super::{
    response, AnsweredRequest, Notification, NotificationTap, Reply, ServerRequest,
    ServerRequestHandler,
};
use crate::jsonrpc::{Message, RequestId};
use crate::transport::{Inbound, InboundStream, WeakOutbound};

#[derive(Default)]
pub(super) struct Inbox {
    pub(super) pending: HashMap<RequestId, oneshot::Sender<Reply>>,
    pub(super) notifications: VecDeque<Notification>,
    pub(super) server_requests: VecDeque<ServerRequest>,
    pub(super) answered: Vec<AnsweredRequest>,
    pub(super) malformed: Vec<String>,
    pub(super) strays: VecDeque<(u64, String)>,
    pub(super) next_seq: u64,
    pub(super) closed: Option<String>,
    pub(super) limits: InboxLimits,
    /// The estimated memory of `notifications`.
    notification_bytes: usize,
    pub(super) counters: SessionCounters,
}

/// At most this many malformed-line descriptions are kept (the first ones).
const MAX_MALFORMED_KEPT: usize = 1_000;

/// At most this many stray arrivals are kept (the latest ones).
const MAX_STRAYS_KEPT: usize = 1_000;

impl Inbox {
    /// An empty inbox with these limits.
    pub(super) fn new(limits: InboxLimits) -> Inbox {
        Inbox {
            limits,
            ..Inbox::default()
        }
    }

    /// Buffers a notification, dropping (and counting) the oldest past the limits.
    fn push_notification(&mut self, note: Notification) {
        if self.limits.max_notifications == 0 {
            // A session that keeps none counts what it let go (its tap has seen each).
            self.counters.ignored_notifications += 1;
            return;
        }
        self.notification_bytes += footprint(&note);
        self.notifications.push_back(note);
        while self.notifications.len() > self.limits.max_notifications
            || (self.notification_bytes > self.limits.max_bytes && !self.notifications.is_empty())
        {
            let Some(old) = self.notifications.pop_front() else {
                break;
            };
            self.notification_bytes = self.notification_bytes.saturating_sub(footprint(&old));
            self.counters
                .dropped_notifications
                .add(|| old.method.clone());
        }
    }

    /// Takes the buffered notification at `pos`.
    pub(super) fn take_notification(&mut self, pos: usize) -> Option<Notification> {
        let note = self.notifications.remove(pos)?;
        self.notification_bytes = self.notification_bytes.saturating_sub(footprint(&note));
        Some(note)
    }

    /// Records an arrival that was not passed on, keeping the latest few.
    fn push_stray(&mut self, what: String) {
        let seq = bump(self);
        if self.strays.len() >= MAX_STRAYS_KEPT {
            self.strays.pop_front();
        }
        self.strays.push_back((seq, what));
    }
}

/// Reads a session's [`SessionCounters`], also once the session is gone.
pub struct CountersHandle(pub(super) Arc<Shared>);

impl CountersHandle {
    /// The counters as they are now.
    pub fn get(&self) -> SessionCounters {
        self.0.lock().counters.clone()
    }
}

pub(super) struct Shared {
    pub(super) inbox: Mutex<Inbox>,
    pub(super) changed: Notify,
}

impl Shared {
    pub(super) fn lock(&self) -> MutexGuard<'_, Inbox> {
        self.inbox.lock().unwrap_or_else(|p| p.into_inner())
    }
}

pub(super) async fn read_loop(
    mut inbound: InboundStream,
    out: WeakOutbound,
    shared: Arc<Shared>,
    handler: Arc<dyn ServerRequestHandler>,
    tap: Option<Arc<dyn NotificationTap>>,
) {
    while let Some(item) = inbound.recv().await {
        let mut inbox = shared.lock();
        match item {
            Inbound::Message(Message::Response { id, result }) => {
                tracing::debug!(?id, "response");
                deliver(&mut inbox, id, Ok(result))
            }
            Inbound::Message(Message::Error { id, error }) => {
                tracing::debug!(?id, code = error.code, "error response");
                deliver(&mut inbox, id, Err(error))
            }
            Inbound::Message(Message::Notification { method, params, .. }) => {
                queue_notification(&mut inbox, method, params, tap.as_deref())
            }
            Inbound::Message(Message::Request { id, method, params }) => {
                take_server_request(&mut inbox, &out, handler.as_ref(), id, method, params)
            }
            Inbound::Malformed(error) => {
                tracing::debug!(%error, "malformed line");
                inbox.push_stray(format!("malformed line ({error})"));
                let text = error.to_string();
                inbox.counters.malformed_lines.add(|| sample_text(&text));
                if inbox.malformed.len() < MAX_MALFORMED_KEPT {
                    inbox.malformed.push(text);
                }
            }
            Inbound::Oversized(size) => {
                tracing::debug!(size, "oversized line skipped");
                inbox.push_stray(format!("oversized line ({size} bytes, skipped)"));
                inbox.counters.oversized_lines.add(|| size);
            }
            Inbound::Closed(reason) => {
                drop(inbox);
                let reason = explain_close(&inbound, reason).await;
                tracing::debug!(%reason, "connection closed");
                let mut inbox = shared.lock();
                inbox.closed = Some(reason);
                inbox.pending.clear();
                drop(inbox);
                shared.changed.notify_waiters();
                return;
            }
        }
        drop(inbox);
        shared.changed.notify_waiters();
    }
}

/// Queues a notification in arrival order, showing it to the tap first.
fn queue_notification(
    inbox: &mut Inbox,
    method: String,
    params: Option<Value>,
    tap: Option<&dyn NotificationTap>,
) {
    tracing::debug!(%method, "notification");
    let seq = bump(inbox);
    let params = params.unwrap_or(Value::Null);
    let note = Notification {
        seq,
        method,
        params,
    };
    if let Some(tap) = tap {
        tap.observe(&note);
    }
    inbox.push_notification(note);
}

/// Gives a server request to the handler: answers it at once if it can, else queues it.
fn take_server_request(
    inbox: &mut Inbox,
    out: &WeakOutbound,
    handler: &dyn ServerRequestHandler,
    id: RequestId,
    method: String,
    params: Option<Value>,
) {
    let seq = bump(inbox);
    let params = params.unwrap_or(Value::Null);
    let request = ServerRequest {
        seq,
        id,
        method,
        params,
    };
    let answer = handler.answer(&request);
    tracing::debug!(
        id = ?request.id,
        method = %request.method,
        answered = answer.is_some(),
        "server request"
    );
    match answer {
        Some(reply) => {
            // Once the session dropped its sending half, the connection is closing: no answer.
            if let Some(out) = out.upgrade() {
                let _ = out.send(&response(request.id.clone(), reply.clone()));
            }
            inbox.answered.push(AnsweredRequest { request, reply });
        }
        None => inbox.server_requests.push_back(request),
    }
}

fn deliver(inbox: &mut Inbox, id: RequestId, reply: Reply) {
    match inbox.pending.remove(&id) {
        Some(tx) => {
            let _ = tx.send(reply);
        }
        None => {
            inbox
                .counters
                .stray_responses
                .add(|| sample_text(&id.to_string()));
            inbox.push_stray(format!("response to unknown or expired id {id}"));
        }
    }
}

fn bump(inbox: &mut Inbox) -> u64 {
    let seq = inbox.next_seq;
    inbox.next_seq += 1;
    seq
}

/// Adds the server process's fate to a websocket close reason (stdio reasons carry it already).
async fn explain_close(inbound: &InboundStream, reason: String) -> String {
    match inbound.child() {
        Some(child) if !inbound.label().starts_with("stdio:") => {
            let status = child.exit_status_within(Duration::from_millis(500)).await;
            let fate = crate::transport::stdio::describe_exit(status);
            format!("{reason}; server process {fate}")
        }
        _ => reason,
    }
}
