//! The one connection type every transport produces: send messages out, receive what comes in.
//!
//! Reading and writing run on their own tasks; the `Connection` holds a sender of encoded text
//! and a receiver of [`Inbound`] items. Whatever the transport, the last inbound item is exactly
//! one [`Inbound::Closed`] with the reason, so a reader never has to guess why input stopped.
//! A connection owns what it runs on (a child process, I/O tasks): dropping it ends them.

mod lines;
pub mod memory;
pub(crate) mod shutdown;
pub(crate) mod stderr_tail;
pub mod stdio;
pub mod tap;
pub mod ws;

use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::errors::{DecodeError, TransportError};
use crate::jsonrpc::Message;

pub use stderr_tail::StderrTail;
pub use stdio::ChildProcess;
pub(crate) use tap::TapSlot;
pub use tap::{FrameTap, TapKind};

/// One item read from the peer.
#[derive(Debug)]
pub enum Inbound {
    /// A well-formed message.
    Message(Message),
    /// A line or frame that is not a message; the connection stays open.
    Malformed(DecodeError),
    /// A line or message over the size cap, skipped unread; its size in bytes (on stdio the
    /// connection stays open, a websocket closes right after).
    Oversized(u64),
    /// Input ended; always the last item.
    Closed(String),
}

/// The default cap on one inbound line or websocket message: 64 MiB, far above real codex
/// payloads, so one runaway line cannot take the client's memory.
pub const DEFAULT_MAX_MESSAGE_BYTES: usize = 64 << 20;

/// The environment variable that overrides [`DEFAULT_MAX_MESSAGE_BYTES`] (a byte count).
pub const MAX_MESSAGE_BYTES_ENV: &str = "CAS_MAX_MESSAGE_BYTES";

/// The cap set for this process with [`set_max_message_bytes`] (0: none set).
static MAX_MESSAGE_BYTES: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Sets the cap on one inbound line or message for every connection this process opens from
/// now on (`--max-message-bytes`); it wins over `CAS_MAX_MESSAGE_BYTES`. Zero is ignored.
pub fn set_max_message_bytes(bytes: usize) {
    MAX_MESSAGE_BYTES.store(bytes, std::sync::atomic::Ordering::Relaxed);
}

/// The cap on one inbound line or message: the one set with [`set_max_message_bytes`], else
/// `CAS_MAX_MESSAGE_BYTES` when it holds a positive byte count, else
/// [`DEFAULT_MAX_MESSAGE_BYTES`].
pub fn max_message_bytes() -> usize {
    let set = MAX_MESSAGE_BYTES.load(std::sync::atomic::Ordering::Relaxed);
    if set > 0 {
        return set;
    }
    std::env::var(MAX_MESSAGE_BYTES_ENV)
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok())
        .filter(|n| *n > 0)
        .unwrap_or(DEFAULT_MAX_MESSAGE_BYTES)
}

/// How many decoded items may wait between a transport's reader and its consumer; a full
/// queue stops the reader, so a fast server cannot fill the client's memory.
pub(crate) const INBOUND_QUEUE: usize = 256;

/// A bidirectional JSON-RPC connection over some transport.
pub struct Connection {
    out: Outbound,
    inbound: InboundStream,
}

impl Connection {
    /// Assembles a connection from its channels and the tasks that serve them; the writer
    /// task must end by itself once every sender of `outbound` is gone.
    pub(crate) fn new(
        label: impl Into<String>,
        outbound: mpsc::UnboundedSender<String>,
        inbound: mpsc::Receiver<Inbound>,
        reader: JoinHandle<()>,
        writer: Option<JoinHandle<()>>,
        tap: TapSlot,
    ) -> Connection {
        let label = label.into();
        Connection {
            out: Outbound {
                outbound,
                label: label.clone(),
                tap,
            },
            inbound: InboundStream {
                inbound,
                label,
                child: None,
                tasks: TaskSet { reader, writer },
            },
        }
    }

    /// Attaches the child process this connection talks to, so that the connection owns it.
    pub(crate) fn with_child(mut self, child: ChildProcess) -> Connection {
        self.inbound.child = Some(child);
        self
    }

    /// A short description of the peer, e.g. `stdio:codex` or `ws://127.0.0.1:4000`.
    pub fn label(&self) -> &str {
        self.inbound.label()
    }

    /// The child process behind this connection, if cas started one.
    pub fn child(&self) -> Option<&ChildProcess> {
        self.inbound.child()
    }

    /// Sends one message.
    pub fn send(&self, message: &Message) -> Result<(), TransportError> {
        self.out.send(message)
    }

    /// Lets `tap` see every frame sent and read from now on (and those read before it, up to
    /// [`tap::HELD_FRAMES`], when cas has sent nothing yet), and the server's stderr lines.
    pub fn attach_tap(&self, tap: Arc<dyn FrameTap>) {
        self.out.attach_tap(tap.clone());
        if let Some(child) = self.child() {
            child.stderr().attach_tap(tap);
        }
    }

    /// Sends one line or frame of raw text, as is (for tests of malformed input).
    pub fn send_text(&self, text: String) -> Result<(), TransportError> {
        self.out.send_text(text)
    }

    /// Receives the next inbound item; `None` only after [`Inbound::Closed`] was delivered.
    pub async fn recv(&mut self) -> Option<Inbound> {
        self.inbound.recv().await
    }

    /// Splits the connection into a sending half and a receiving half.
    pub fn split(self) -> (Outbound, InboundStream) {
        (self.out, self.inbound)
    }
}

/// The sending half of a split connection; cheap to clone.
#[derive(Clone)]
pub struct Outbound {
    outbound: mpsc::UnboundedSender<String>,
    label: String,
    tap: TapSlot,
}

impl Outbound {
    /// The peer's label, e.g. `stdio:codex`.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// Sends one message.
    pub fn send(&self, message: &Message) -> Result<(), TransportError> {
        self.send_text(message.encode())
    }

    /// Lets `tap` see the connection's frames (not the server's stderr; see
    /// [`Connection::attach_tap`]).
    pub fn attach_tap(&self, tap: Arc<dyn FrameTap>) {
        self.tap.attach(tap);
    }

    /// Sends raw text as one line or frame.
    pub fn send_text(&self, text: String) -> Result<(), TransportError> {
        self.tap.event(TapKind::Sent, &text);
        self.outbound
            .send(text)
            .map_err(|_| TransportError::Closed {
                reason: format!("{} is no longer writable", self.label),
            })
    }

    /// A handle that sends while some [`Outbound`] lives and does not keep the connection open.
    pub fn downgrade(&self) -> WeakOutbound {
        WeakOutbound {
            outbound: self.outbound.downgrade(),
            label: self.label.clone(),
            tap: self.tap.clone(),
        }
    }
}

/// A sending half that does not keep the connection open: dropping the last [`Outbound`]
/// closes it even while this lives.
#[derive(Clone)]
pub struct WeakOutbound {
    outbound: mpsc::WeakUnboundedSender<String>,
    label: String,
    tap: TapSlot,
}

impl WeakOutbound {
    /// The sending half, while the connection is still open for writing.
    pub fn upgrade(&self) -> Option<Outbound> {
        Some(Outbound {
            outbound: self.outbound.upgrade()?,
            label: self.label.clone(),
            tap: self.tap.clone(),
        })
    }
}

/// The receiving half of a split connection; it owns the child process and the I/O tasks.
pub struct InboundStream {
    inbound: mpsc::Receiver<Inbound>,
    label: String,
    child: Option<ChildProcess>,
    tasks: TaskSet,
}

impl InboundStream {
    /// Receives the next inbound item.
    pub async fn recv(&mut self) -> Option<Inbound> {
        self.inbound.recv().await
    }

    /// The peer's label.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// The child process, if any.
    pub fn child(&self) -> Option<&ChildProcess> {
        self.child.as_ref()
    }

    /// Stops reading and writing at once, dropping whatever is still queued (a crash).
    pub fn abort(mut self) {
        self.tasks.reader.abort();
        if let Some(writer) = self.tasks.writer.take() {
            writer.abort();
        }
    }

    /// Stops reading and waits up to `within` for everything already sent to be written.
    /// Every [`Outbound`] clone must be dropped first, or this waits the whole `within`.
    pub async fn close(mut self, within: Duration) {
        self.tasks.reader.abort();
        if let Some(writer) = self.tasks.writer.take() {
            let abort = writer.abort_handle();
            if tokio::time::timeout(within, writer).await.is_err() {
                abort.abort();
            }
        }
    }
}

/// How long a dropped connection's writer may go on writing what was already sent.
const WRITER_GRACE: Duration = Duration::from_secs(2);

/// The I/O tasks of a connection. Dropping the set aborts the reader at once and gives the
/// writer [`WRITER_GRACE`] to write what was already queued, so no sent message is lost.
struct TaskSet {
    reader: JoinHandle<()>,
    writer: Option<JoinHandle<()>>,
}

impl Drop for TaskSet {
    fn drop(&mut self) {
        self.reader.abort();
        let Some(writer) = self.writer.take() else {
            return;
        };
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                let abort = writer.abort_handle();
                runtime.spawn(async move {
                    if tokio::time::timeout(WRITER_GRACE, writer).await.is_err() {
                        abort.abort();
                    }
                });
            }
            Err(_) => writer.abort(),
        }
    }
}

/// Decodes one line or text frame into an inbound item, showing the text to the tap first.
pub(crate) fn decode_inbound(text: &str, tap: &TapSlot) -> Inbound {
    tap.event(TapKind::Received, text);
    match Message::decode(text) {
        Ok(message) => Inbound::Message(message),
        Err(error) => Inbound::Malformed(error),
    }
}
