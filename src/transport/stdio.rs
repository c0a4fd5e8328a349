//! JSONL over a byte stream: a child process's stdin/stdout, or the process's own stdio.
//!
//! One message per `\n`-terminated line. A child started here is owned by the connection
//! (`kill_on_drop`, and `shutdown` closes stdin, waits with a deadline, then kills and reaps), so
//! no server outlives the cas process that started it.

use std::process::{ExitStatus, Stdio};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::{mpsc, Mutex};

use super::lines::{LineSplitter, Piece};
use super::{decode_inbound, Connection, Inbound, StderrTail, TapKind, TapSlot};
use crate::errors::{DecodeError, TransportError};

/// How long the reader waits for a child's exit status after its stdout closed.
const EXIT_STATUS_WAIT: Duration = Duration::from_secs(2);

/// How long `shutdown` gives a child to exit on its own before signalling it.
const VOLUNTARY_EXIT_WAIT: Duration = Duration::from_millis(100);

/// A child process owned by cas, with its stderr kept in a bounded tail.
#[derive(Clone)]
pub struct ChildProcess {
    pid: Option<u32>,
    program: String,
    child: Arc<Mutex<Child>>,
    stderr: StderrTail,
}

impl ChildProcess {
    /// Spawns `command` with piped stdio; the child dies with the last handle to it.
    pub fn spawn(
        mut command: Command,
        program: &str,
    ) -> Result<
        (
            ChildProcess,
            tokio::process::ChildStdin,
            tokio::process::ChildStdout,
        ),
        TransportError,
    > {
        command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let mut child = command.spawn().map_err(|source| TransportError::Spawn {
            program: program.to_owned(),
            source,
        })?;
        let io = |pipe: &'static str| TransportError::NoPipe {
            program: program.to_owned(),
            pipe,
        };
        let stdin = child.stdin.take().ok_or_else(|| io("stdin"))?;
        let stdout = child.stdout.take().ok_or_else(|| io("stdout"))?;
        let stderr = child.stderr.take().ok_or_else(|| io("stderr"))?;
        let (tail, _task) = StderrTail::collect(stderr);
        if let Some(pid) = child.id() {
            crate::interrupt::register_child(pid);
        }
        let process = ChildProcess {
            pid: child.id(),
            program: program.to_owned(),
            child: Arc::new(Mutex::new(child)),
            stderr: tail,
        };
        Ok((process, stdin, stdout))
    }

    /// The OS process id, while known.
    pub fn pid(&self) -> Option<u32> {
        self.pid
    }

    /// The program's display name.
    pub fn program(&self) -> &str {
        &self.program
    }

    /// The child's stderr tail.
    pub fn stderr(&self) -> &StderrTail {
        &self.stderr
    }

    /// Waits up to `within` for the child to exit, without killing it.
    pub async fn exit_status_within(&self, within: Duration) -> Option<ExitStatus> {
        let mut child = self.child.lock().await;
        let status = tokio::time::timeout(within, child.wait()).await.ok()?.ok();
        self.reaped();
        status
    }

    /// Forgets the child's pid once it was reaped (an interrupt then leaves it alone).
    fn reaped(&self) {
        if let Some(pid) = self.pid {
            crate::interrupt::unregister_child(pid);
        }
    }

    /// Ends the child: a moment for a voluntary exit (stdin closed), then SIGTERM and up to
    /// `grace` to exit, then SIGKILL. The child is reaped either way. The lock is held
    /// throughout, so nobody else reaps the child between the check and the signal.
    pub async fn shutdown(&self, grace: Duration) -> Option<ExitStatus> {
        let mut child = self.child.lock().await;
        if let Ok(Ok(status)) = tokio::time::timeout(VOLUNTARY_EXIT_WAIT, child.wait()).await {
            self.reaped();
            return Some(status);
        }
        let status = super::shutdown::terminate(&mut child, grace).await;
        if status.is_some() {
            self.reaped();
        }
        status
    }
}

/// Describes an exit status the way a person reads it.
pub fn describe_exit(status: Option<ExitStatus>) -> String {
    use std::os::unix::process::ExitStatusExt;
    match status {
        None => "still running".to_owned(),
        Some(s) => match (s.code(), s.signal()) {
            (Some(code), _) => format!("exited with status {code}"),
            (None, Some(sig)) => format!("killed by signal {sig}"),
            _ => format!("ended ({s})"),
        },
    }
}

/// Spawns a JSONL server as a child process and connects to its stdin/stdout, with lines capped
/// at [`super::max_message_bytes`].
pub fn spawn(command: Command, program: &str) -> Result<Connection, TransportError> {
    spawn_limited(command, program, super::max_message_bytes())
}

/// Like [`spawn`], with inbound lines over `max_line` bytes skipped and reported.
pub fn spawn_limited(
    command: Command,
    program: &str,
    max_line: usize,
) -> Result<Connection, TransportError> {
    let (process, stdin, stdout) = ChildProcess::spawn(command, program)?;
    let watched = process.clone();
    let on_eof = move || async move {
        let status = watched.exit_status_within(EXIT_STATUS_WAIT).await;
        format!(
            "{} closed its stdout ({})",
            watched.program,
            describe_exit(status)
        )
    };
    let label = format!("stdio:{program}");
    Ok(jsonl_limited(label, stdout, stdin, on_eof, max_line).with_child(process))
}

/// Runs JSONL over any reader/writer pair; `on_eof` explains why input ended. Inbound lines
/// are capped at [`super::max_message_bytes`].
pub fn jsonl<R, W, F, Fut>(label: String, reader: R, writer: W, on_eof: F) -> Connection
where
    R: AsyncRead + Unpin + Send + 'static,
    W: AsyncWrite + Unpin + Send + 'static,
    F: FnOnce() -> Fut + Send + 'static,
    Fut: std::future::Future<Output = String> + Send + 'static,
{
    jsonl_limited(label, reader, writer, on_eof, super::max_message_bytes())
}

/// Like [`jsonl`], with inbound lines over `max_line` bytes skipped while they stream (never
/// buffered) and reported as [`Inbound::Oversized`]; the connection goes on.
pub fn jsonl_limited<R, W, F, Fut>(
    label: String,
    reader: R,
    writer: W,
    on_eof: F,
    max_line: usize,
) -> Connection
where
    R: AsyncRead + Unpin + Send + 'static,
    W: AsyncWrite + Unpin + Send + 'static,
    F: FnOnce() -> Fut + Send + 'static,
    Fut: std::future::Future<Output = String> + Send + 'static,
{
    let (out_tx, out_rx) = mpsc::unbounded_channel::<String>();
    let (in_tx, in_rx) = mpsc::channel::<Inbound>(super::INBOUND_QUEUE);
    let tap = TapSlot::default();
    let reader_task = tokio::spawn(read_lines(reader, in_tx, on_eof, max_line, tap.clone()));
    let writer_task = tokio::spawn(write_lines(writer, out_rx));
    Connection::new(label, out_tx, in_rx, reader_task, Some(writer_task), tap)
}

/// How much is read from the stream at a time.
const READ_CHUNK: usize = 64 << 10;

async fn read_lines<R, F, Fut>(
    reader: R,
    tx: mpsc::Sender<Inbound>,
    on_eof: F,
    max_line: usize,
    tap: TapSlot,
) where
    R: AsyncRead + Unpin,
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = String>,
{
    let mut reader = BufReader::with_capacity(READ_CHUNK, reader);
    let mut lines = LineSplitter::new(max_line);
    let reason = loop {
        let chunk = match reader.fill_buf().await {
            Ok([]) => {
                if let Some(item) = lines.end().and_then(|p| inbound_of(p, false, &tap)) {
                    if tx.send(item).await.is_err() {
                        return;
                    }
                }
                break on_eof().await;
            }
            Ok(chunk) => chunk,
            Err(e) => break format!("read error: {e}"),
        };
        let (taken, piece) = lines.feed(chunk);
        reader.consume(taken);
        let Some(item) = piece.and_then(|p| inbound_of(p, true, &tap)) else {
            continue;
        };
        if tx.send(item).await.is_err() {
            return;
        }
    };
    tap.event(TapKind::Closed, &reason);
    let _ = tx.send(Inbound::Closed(reason)).await;
}

/// What a piece of input is to the reader; `None` for a blank line. `terminated` says whether
/// the line ended with a newline (counted in a bad line's length).
fn inbound_of(piece: Piece, terminated: bool, tap: &TapSlot) -> Option<Inbound> {
    let line = match piece {
        Piece::Unstored(size, source) => {
            tap.event(
                TapKind::Unreadable,
                &format!("a line of {size} bytes that could not be set aside"),
            );
            return Some(Inbound::Malformed(DecodeError::Spill {
                len: size as usize,
                source,
            }));
        }
        Piece::Oversized(size) => {
            tap.event(
                TapKind::Unreadable,
                &format!("a line of {size} bytes over the cap"),
            );
            return Some(Inbound::Oversized(size));
        }
        Piece::Line(line) => line,
    };
    let item = match std::str::from_utf8(&line) {
        Ok(text) if text.trim().is_empty() => return None,
        Ok(text) => decode_inbound(text.trim_end_matches('\r'), tap),
        // A bad line is reported and the connection stays open.
        Err(_) => {
            let error = DecodeError::NotUtf8 {
                len: line.len() + usize::from(terminated),
            };
            tap.event(TapKind::Unreadable, &error.to_string());
            Inbound::Malformed(error)
        }
    };
    Some(item)
}

async fn write_lines<W: AsyncWrite + Unpin>(
    mut writer: W,
    mut rx: mpsc::UnboundedReceiver<String>,
) {
    while let Some(mut text) = rx.recv().await {
        text.push('\n');
        if writer.write_all(text.as_bytes()).await.is_err() {
            return;
        }
        // Flush only when nothing else is queued, so bursts go out in few writes.
        if rx.is_empty() && writer.flush().await.is_err() {
            return;
        }
    }
    let _ = writer.shutdown().await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_line_that_is_not_utf8_is_reported_and_the_connection_stays_open() {
        let (mut peer, ours) = tokio::io::duplex(1024);
        let (read_half, write_half) = tokio::io::split(ours);
        let mut conn = jsonl("test".into(), read_half, write_half, || async {
            "eof".to_owned()
        });
        peer.write_all(b"\xff\xfe\n{\"id\":1,\"result\":{}}\n")
            .await
            .unwrap();
        assert!(matches!(
            conn.recv().await,
            Some(Inbound::Malformed(DecodeError::NotUtf8 { len: 3 }))
        ));
        assert!(matches!(conn.recv().await, Some(Inbound::Message(_))));
        drop(peer);
        assert!(matches!(conn.recv().await, Some(Inbound::Closed(reason)) if reason == "eof"));
    }

    #[tokio::test]
    async fn an_oversized_line_is_skipped_by_size_and_the_connection_goes_on() {
        let (mut peer, ours) = tokio::io::duplex(1024);
        let (read_half, write_half) = tokio::io::split(ours);
        let mut conn = jsonl_limited(
            "test".into(),
            read_half,
            write_half,
            || async { "eof".to_owned() },
            64,
        );
        let writer = tokio::spawn(async move {
            let big = vec![b'x'; 10_000];
            peer.write_all(&big).await.unwrap();
            peer.write_all(b"\n{\"id\":1,\"result\":{}}\n")
                .await
                .unwrap();
            peer
        });
        assert!(matches!(
            conn.recv().await,
            Some(Inbound::Oversized(10_001))
        ));
        assert!(matches!(conn.recv().await, Some(Inbound::Message(_))));
        drop(writer.await.unwrap());
        assert!(matches!(conn.recv().await, Some(Inbound::Closed(reason)) if reason == "eof"));
    }
}
