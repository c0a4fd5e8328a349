//! A JSON-RPC session over one connection: one read loop, correlation by id, buffered
//! notifications, server requests answered by a handler, and a deadline on every wait.
//!
//! The read loop is the only reader of the connection. It hands responses to their waiting
//! requests, keeps notifications in arrival order until someone takes them, and gives every
//! server request to the [`ServerRequestHandler`] before it reads on: the handler either answers
//! at once or leaves the request queued for an explicit [`Session::respond`]. When input ends,
//! every waiter wakes with the close reason. `initialize` is sent at most once per session.

use serde_json::Value;

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{oneshot, Notify, Semaphore};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tracing::Instrument;

use crate::errors::SessionError;
use crate::jsonrpc::{Message, RequestId};
use crate::protocol::{self, ClientInfo, ErrorClass, InitializeResult};
use crate::transport::{ChildProcess, Connection, Outbound};

/// One client session on one connection.
pub struct Session {
    out: Outbound,
    shared: Arc<Shared>,
    reader: ReadLoop,
    next_id: AtomicI64,
    initialized: Mutex<Handshake>,
    in_flight: Arc<Semaphore>,
    label: String,
    child: Option<ChildProcess>,
}

/// Where the handshake stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Handshake {
    NotDone,
    InFlight,
    Done,
}

/// The default cap on requests in flight per connection: well under codex's 128-deep queue,
/// past which it answers `-32001` and may drop replies entirely.
pub const DEFAULT_MAX_IN_FLIGHT: usize = 32;

impl Session {
    /// Starts the read loop on `connection`; server requests go to `handler`.
    pub fn start(connection: Connection, handler: Arc<dyn ServerRequestHandler>) -> Session {
        Session::with_max_in_flight(connection, handler, DEFAULT_MAX_IN_FLIGHT)
    }

    /// Like [`Session::start`], with at most `max_in_flight` requests awaiting responses at once;
    /// further requests wait for a slot (within their own deadline).
    pub fn with_max_in_flight(
        connection: Connection,
        handler: Arc<dyn ServerRequestHandler>,
        max_in_flight: usize,
    ) -> Session {
        Session::with_options(connection, handler, max_in_flight, None)
    }

    /// An in-flight cap, and a tap that sees every notification as it arrives (before anyone
    /// can take it from the buffer); the inbox has the default [`InboxLimits`].
    pub fn with_options(
        connection: Connection,
        handler: Arc<dyn ServerRequestHandler>,
        max_in_flight: usize,
        tap: Option<Arc<dyn NotificationTap>>,
    ) -> Session {
        Session::with_limits(
            connection,
            handler,
            max_in_flight,
            tap,
            InboxLimits::default(),
        )
    }

    /// The general constructor: [`Session::with_options`] with the inbox's limits on buffered,
    /// untaken notifications.
    pub fn with_limits(
        connection: Connection,
        handler: Arc<dyn ServerRequestHandler>,
        max_in_flight: usize,
        tap: Option<Arc<dyn NotificationTap>>,
        limits: InboxLimits,
    ) -> Session {
        let label = connection.label().to_owned();
        let child = connection.child().cloned();
        let (out, inbound) = connection.split();
        let shared = Arc::new(Shared {
            inbox: Mutex::new(Inbox::new(limits)),
            changed: Notify::new(),
        });
        let span = tracing::debug_span!("session", session = %label);
        let reader = ReadLoop(tokio::spawn(
            read_loop(inbound, out.downgrade(), shared.clone(), handler, tap).instrument(span),
        ));
        Session {
            out,
            shared,
            reader,
            next_id: AtomicI64::new(1),
            initialized: Mutex::new(Handshake::NotDone),
            in_flight: Arc::new(Semaphore::new(max_in_flight.max(1))),
            label,
            child,
        }
    }

    /// The peer's label.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// The server process, when cas started it.
    pub fn child(&self) -> Option<&ChildProcess> {
        self.child.as_ref()
    }

    /// Registers a fresh request id for `method` (refused once the session closed), then sends
    /// the request; the receiver gets its answer. A failed send unregisters the id.
    fn register_and_send(
        &self,
        method: &str,
        params: Option<Value>,
        what: &'static str,
    ) -> Result<(RequestId, oneshot::Receiver<Reply>), SessionError> {
        let id = RequestId::Int(self.next_id.fetch_add(1, Ordering::Relaxed));
        let (tx, rx) = oneshot::channel();
        {
            let mut inbox = self.shared.lock();
            if let Some(reason) = &inbox.closed {
                return Err(closed(method, reason));
            }
            inbox.pending.insert(id.clone(), tx);
        }
        tracing::debug!(session = %self.label, ?id, %method, "{what}");
        if let Err(e) = self.out.send(&Message::request(id.clone(), method, params)) {
            self.shared.lock().pending.remove(&id);
            return Err(closed(method, &e.to_string()));
        }
        Ok((id, rx))
    }

    /// Sends a request and waits up to `timeout` for its response.
    pub async fn request(
        &self,
        method: &str,
        params: Option<Value>,
        timeout: Duration,
    ) -> Result<Reply, SessionError> {
        let deadline = Instant::now() + timeout;
        let timed_out = || SessionError::Timeout {
            method: method.to_owned(),
            after: timeout,
        };
        // A free slot is taken without arming a timer; only a full window waits.
        let _slot = match self.in_flight.try_acquire() {
            Ok(permit) => permit,
            Err(_) => match tokio::time::timeout_at(deadline, self.in_flight.acquire()).await {
                Ok(Ok(permit)) => permit,
                Ok(Err(_)) => return Err(closed(method, "the session is shutting down")),
                Err(_) => return Err(timed_out()),
            },
        };
        let (id, rx) = self.register_and_send(method, params, "request")?;
        match tokio::time::timeout_at(deadline, rx).await {
            Ok(Ok(reply)) => Ok(reply),
            Ok(Err(_)) => Err(closed(method, &self.closed_reason().unwrap_or_default())),
            Err(_) => {
                self.shared.lock().pending.remove(&id);
                Err(timed_out())
            }
        }
    }

    /// Sends a notification.
    pub fn notify(&self, method: &str, params: Option<Value>) -> Result<(), SessionError> {
        tracing::debug!(session = %self.label, %method, "notify");
        self.out
            .send(&Message::notification(method, params))
            .map_err(|e| closed(method, &e.to_string()))
    }

    /// Performs the handshake (`initialize`, then `initialized`) exactly once.
    pub async fn initialize(
        &self,
        client: &ClientInfo,
        timeout: Duration,
    ) -> Result<InitializeResult, SessionError> {
        // One handshake in flight at a time; a failed one may be tried again, as codex allows.
        {
            let mut state = self.initialized.lock().unwrap_or_else(|p| p.into_inner());
            if *state != Handshake::NotDone {
                return Err(SessionError::AlreadyInitialized);
            }
            *state = Handshake::InFlight;
        }
        let outcome = self.handshake(client, timeout).await;
        *self.initialized.lock().unwrap_or_else(|p| p.into_inner()) = if outcome.is_ok() {
            Handshake::Done
        } else {
            Handshake::NotDone
        };
        outcome
    }

    async fn handshake(
        &self,
        client: &ClientInfo,
        timeout: Duration,
    ) -> Result<InitializeResult, SessionError> {
        let method = protocol::INITIALIZE;
        let result = match self
            .request(method, Some(client.initialize_params()), timeout)
            .await?
        {
            Ok(result) => result,
            Err(error) => {
                return Err(SessionError::Refused {
                    method: method.to_owned(),
                    class: ErrorClass::of(&error),
                    error: Box::new(error),
                })
            }
        };
        let parsed =
            InitializeResult::try_from(&result).map_err(|reason| SessionError::BadResult {
                method: method.to_owned(),
                reason: reason.to_string(),
            })?;
        self.notify(protocol::INITIALIZED, None)?;
        Ok(parsed)
    }

    /// Answers a queued server request.
    pub fn respond(&self, id: RequestId, reply: Reply) -> Result<(), SessionError> {
        self.out
            .send(&response(id, reply))
            .map_err(|e| closed("a server request answer", &e.to_string()))
    }

    /// Takes the first buffered notification that `matches`, waiting up to `timeout` for one.
    pub async fn await_notification(
        &self,
        what: &str,
        timeout: Duration,
        matches: impl Fn(&Notification) -> bool,
    ) -> Result<Notification, SessionError> {
        self.wait_for(what, timeout, |inbox| {
            let pos = inbox.notifications.iter().position(&matches)?;
            inbox.take_notification(pos)
        })
        .await
    }

    /// Takes the first queued server request that `matches`, waiting up to `timeout` for one.
    pub async fn await_server_request(
        &self,
        what: &str,
        timeout: Duration,
        matches: impl Fn(&ServerRequest) -> bool,
    ) -> Result<ServerRequest, SessionError> {
        self.wait_for(what, timeout, |inbox| {
            let pos = inbox.server_requests.iter().position(&matches)?;
            inbox.server_requests.remove(pos)
        })
        .await
    }

    /// The sequence number the next arrival will get: a mark for [`Session::collect_arrivals`].
    pub fn arrival_mark(&self) -> u64 {
        self.shared.lock().next_seq
    }

    /// Waits `window` and describes what arrived since `since` (a mark taken earlier; now when
    /// `None`), in order: untaken notifications and queued server requests whose method passes
    /// `method_filter` and, when no filter is given, also responses to unknown ids and malformed
    /// lines. Nothing is consumed.
    pub async fn collect_arrivals(
        &self,
        since: Option<u64>,
        window: Duration,
        method_filter: Option<&str>,
    ) -> Vec<String> {
        let start = since.unwrap_or_else(|| self.arrival_mark());
        tokio::time::sleep(window).await;
        let inbox = self.shared.lock();
        let wanted = |m: &str| method_filter.is_none_or(|f| f == m);
        let mut seen: Vec<(u64, String)> = Vec::new();
        for n in inbox
            .notifications
            .iter()
            .filter(|n| n.seq >= start && wanted(&n.method))
        {
            seen.push((n.seq, format!("notification {}", n.method)));
        }
        for r in inbox
            .server_requests
            .iter()
            .filter(|r| r.seq >= start && wanted(&r.method))
        {
            seen.push((r.seq, format!("server request {}", r.method)));
        }
        if method_filter.is_none() {
            seen.extend(
                inbox
                    .strays
                    .iter()
                    .filter(|(seq, _)| *seq >= start)
                    .cloned(),
            );
        }
        seen.sort();
        seen.into_iter().map(|(_, what)| what).collect()
    }

    async fn wait_for<T>(
        &self,
        what: &str,
        timeout: Duration,
        mut take: impl FnMut(&mut Inbox) -> Option<T>,
    ) -> Result<T, SessionError> {
        let deadline = Instant::now() + timeout;
        loop {
            let changed = self.shared.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            {
                let mut inbox = self.shared.lock();
                if let Some(found) = take(&mut inbox) {
                    return Ok(found);
                }
                if let Some(reason) = &inbox.closed {
                    return Err(closed(what, reason));
                }
            }
            if tokio::time::timeout_at(deadline, changed).await.is_err() {
                return Err(SessionError::Timeout {
                    method: what.to_owned(),
                    after: timeout,
                });
            }
        }
    }

    /// Why the connection closed, once it has.
    pub fn closed_reason(&self) -> Option<String> {
        self.shared.lock().closed.clone()
    }

    /// Lines or frames that were not messages, described (the first thousand).
    pub fn malformed(&self) -> Vec<String> {
        self.shared.lock().malformed.clone()
    }

    /// A handle that reads this session's counters, also after it shut down.
    pub fn counters_handle(&self) -> CountersHandle {
        CountersHandle(self.shared.clone())
    }

    /// What the session did not pass on so far: dropped notifications, oversized lines, stray
    /// responses and malformed lines, counted with the first few samples.
    pub fn counters(&self) -> SessionCounters {
        self.shared.lock().counters.clone()
    }

    /// Server requests the handler answered, in order.
    pub fn answered(&self) -> Vec<AnsweredRequest> {
        self.shared.lock().answered.clone()
    }

    /// Removes and returns the server requests still waiting for an answer.
    pub fn take_unanswered(&self) -> Vec<ServerRequest> {
        self.shared.lock().server_requests.drain(..).collect()
    }

    /// Notifications received and not taken, in order.
    pub fn buffered_notifications(&self) -> Vec<Notification> {
        self.shared.lock().notifications.iter().cloned().collect()
    }

    /// Ends the session: stops reading, closes the connection and, for a server cas started,
    /// waits up to `grace` for it to exit before killing it. Returns the exit description.
    pub async fn shutdown(self, grace: Duration) -> Option<String> {
        let Session {
            out,
            mut reader,
            child,
            ..
        } = self;
        drop(out);
        // A server that exits when its input closes lets the reader take in what it had sent.
        if tokio::time::timeout(READER_DRAIN, &mut reader.0)
            .await
            .is_err()
        {
            reader.0.abort();
            let _ = (&mut reader.0).await;
        }
        let child = child?;
        let status = child.shutdown(grace).await;
        Some(crate::transport::stdio::describe_exit(status))
    }
}

/// How long `shutdown` lets the reader take in what the server still sends once its input
/// closed, before stopping it.
const READER_DRAIN: Duration = Duration::from_millis(200);

/// The read loop task; dropping it stops reading (and drops the connection it owns).
struct ReadLoop(JoinHandle<()>);

impl Drop for ReadLoop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

fn closed(waiting_for: &str, reason: &str) -> SessionError {
    SessionError::Closed {
        waiting_for: waiting_for.to_owned(),
        reason: reason.to_owned(),
    }
}

fn response(id: RequestId, reply: Reply) -> Message {
    match reply {
        Ok(result) => Message::Response { id, result },
        Err(error) => Message::Error { id, error },
    }
}

mod counters;
mod inbox;
mod messages;
mod pending;

pub use counters::{
    InboxLimits, SessionCounters, Tally, DEFAULT_MAX_BUFFERED_NOTIFICATIONS,
    DEFAULT_MAX_BUFFERED_NOTIFICATION_BYTES,
};
pub use inbox::CountersHandle;
use inbox::{read_loop, Inbox, Shared};
pub use messages::{
    AnsweredRequest, Notification, NotificationTap, QueueServerRequests, Reply, ServerRequest,
    ServerRequestHandler,
};
pub use pending::PendingReply;

#[cfg(test)]
mod tests;
