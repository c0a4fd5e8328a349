//! A bounded buffer of the last lines a child process wrote to stderr.
//!
//! Child stderr is never printed (test harnesses must not print); it is kept here, bounded in
//! lines and line length, and its tail is attached to failures. Waiters can watch for a line
//! (the websocket banner) with a deadline.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::sync::Notify;
use tokio::time::Instant;

use super::tap::{FrameTap, TapKind};

const MAX_LINES: usize = 200;
const MAX_LINE_CHARS: usize = 2_000;

#[derive(Default)]
struct Lines {
    lines: VecDeque<String>,
    dropped: usize,
    ended: bool,
    /// Sees every line as it comes (see [`StderrTail::attach_tap`]).
    tap: Option<Arc<dyn FrameTap>>,
}

/// The last lines of a child's stderr, shared between the reader task and the owner.
#[derive(Clone, Default)]
pub struct StderrTail {
    lines: Arc<Mutex<Lines>>,
    changed: Arc<Notify>,
}

impl StderrTail {
    /// Starts a task that reads `stream` line by line into a new tail.
    pub fn collect<R>(stream: R) -> (StderrTail, tokio::task::JoinHandle<()>)
    where
        R: AsyncRead + Unpin + Send + 'static,
    {
        let tail = StderrTail::default();
        let writer = tail.clone();
        let task = tokio::spawn(async move {
            let mut reader = BufReader::new(stream);
            let mut buf = Vec::new();
            while let Ok(n) = reader.read_until(b'\n', &mut buf).await {
                if n == 0 {
                    break;
                }
                let line = String::from_utf8_lossy(&buf);
                writer.push(line.trim_end_matches(['\n', '\r']).to_owned());
                buf.clear();
            }
            writer.lock().ended = true;
            writer.changed.notify_waiters();
        });
        (tail, task)
    }

    fn lock(&self) -> MutexGuard<'_, Lines> {
        self.lines
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn push(&self, line: String) {
        let line = strip_ansi(&line);
        let line: String = line.chars().take(MAX_LINE_CHARS).collect();
        let mut lines = self.lock();
        if lines.lines.len() == MAX_LINES {
            lines.lines.pop_front();
            lines.dropped += 1;
        }
        if let Some(tap) = &lines.tap {
            tap.event(std::time::Instant::now(), TapKind::Stderr, &line);
        }
        lines.lines.push_back(line);
        drop(lines);
        self.changed.notify_waiters();
    }

    /// Lets `tap` see every line from now on; the lines kept so far are handed to it first,
    /// stamped now.
    pub fn attach_tap(&self, tap: Arc<dyn FrameTap>) {
        let mut lines = self.lock();
        let now = std::time::Instant::now();
        for line in &lines.lines {
            tap.event(now, TapKind::Stderr, line);
        }
        lines.tap = Some(tap);
    }

    /// The last `n` lines joined by newlines, prefixed with a count of older lines left out.
    pub fn tail(&self, n: usize) -> String {
        let lines = self.lock();
        let skip = lines.lines.len().saturating_sub(n);
        let mut out = String::new();
        let older = lines.dropped + skip;
        if older > 0 {
            out.push_str(&format!("[{older} earlier lines]\n"));
        }
        for line in lines.lines.iter().skip(skip) {
            out.push_str(line);
            out.push('\n');
        }
        out
    }

    /// Waits until a line yields `Some` from `find`, stderr ends, or the deadline passes.
    pub async fn wait_for<T>(
        &self,
        deadline: Instant,
        find: impl Fn(&str) -> Option<T>,
    ) -> Option<T> {
        loop {
            let notified = self.changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            {
                let lines = self.lock();
                if let Some(hit) = lines.lines.iter().find_map(|l| find(l)) {
                    return Some(hit);
                }
                if lines.ended {
                    return None;
                }
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return None;
            }
        }
    }
}

/// Removes ANSI escape sequences (`ESC [ … letter`) from a line.
fn strip_ansi(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' && chars.peek() == Some(&'[') {
            chars.next();
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn keeps_a_bounded_tail_and_finds_lines() {
        let text: String = (0..250).map(|i| format!("line {i}\n")).collect::<String>()
            + "\u{1b}[32m  listening on: ws://127.0.0.1:9\u{1b}[0m\n";
        let (tail, task) = StderrTail::collect(std::io::Cursor::new(text.into_bytes()));
        task.await.unwrap();
        let deadline = Instant::now() + Duration::from_secs(1);
        let port = tail
            .wait_for(deadline, |l| {
                l.trim().strip_prefix("listening on: ").map(str::to_owned)
            })
            .await;
        assert_eq!(port.as_deref(), Some("ws://127.0.0.1:9"));
        let t = tail.tail(2);
        assert!(t.starts_with("[249 earlier lines]\nline 249\n"), "{t}");
        assert!(tail
            .wait_for(deadline, |l| (l == "never").then_some(()))
            .await
            .is_none());
    }
}
