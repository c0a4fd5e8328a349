//! Writing a transcript: one line per event, appended as it happens, from any task.
//!
//! A [`Transcript`] is shared (`Arc`): each connection gets a tap named after it, the mock model
//! a request tap, and cas its notes. Lines go straight to the file (so a crash still leaves
//! what happened), or into memory until a file is attached (the review lane learns its log's
//! name only once the thread exists). A line that cannot be written is dropped, never an error
//! for the run it records.

use serde_json::value::RawValue;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use super::record::{EventKind, FrameKind, Record, SCHEMA};
use crate::transport::{FrameTap, TapKind};

enum Sink {
    Memory(Vec<String>),
    File(std::fs::File, PathBuf),
}

/// Who sent a request, for naming the method of its response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Asker {
    Cas,
    Server,
}

struct State {
    sink: Sink,
    /// Requests awaiting their response: (connection, who asked, id) → method.
    asked: HashMap<(String, Asker, String), String>,
}

/// A callback that records each request body the mock model receives.
pub type ModelTap = Arc<dyn Fn(&Value) + Send + Sync>;

/// A transcript being written.
pub struct Transcript {
    started: Instant,
    state: Mutex<State>,
    redact_server_requests: bool,
}

impl Transcript {
    /// A transcript written to `path` (created or truncated; its folder must exist), whose
    /// start line carries `label`.
    pub fn create(path: &Path, label: &str) -> std::io::Result<Arc<Transcript>> {
        let file = std::fs::File::create(path)?;
        let transcript = Transcript::new(Sink::File(file, path.to_owned()), false);
        transcript.start(label);
        Ok(Arc::new(transcript))
    }

    /// A transcript kept in memory until [`Transcript::attach_file`]; with `redact_server_requests`
    /// the params of requests the server sends are left out (they may carry commands and paths).
    pub fn in_memory(label: &str, redact_server_requests: bool) -> Arc<Transcript> {
        let transcript = Transcript::new(Sink::Memory(Vec::new()), redact_server_requests);
        transcript.start(label);
        Arc::new(transcript)
    }

    fn new(sink: Sink, redact_server_requests: bool) -> Transcript {
        Transcript {
            started: Instant::now(),
            state: Mutex::new(State {
                sink,
                asked: HashMap::new(),
            }),
            redact_server_requests,
        }
    }

    fn start(&self, label: &str) {
        let since_epoch = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
        let mut record = Record::bare(0, EventKind::Start);
        record.extra = Some(json!({"schema": SCHEMA, "label": label, "startedAtMs": since_epoch}));
        self.write(&mut self.lock(), &record);
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Appends to `path` from now on (mode 0600, its folder made), after the lines kept so far.
    pub fn attach_file(&self, path: &Path) -> std::io::Result<()> {
        use std::os::unix::fs::OpenOptionsExt;
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(path)?;
        let mut state = self.lock();
        if let Sink::Memory(lines) = &state.sink {
            for line in lines {
                writeln!(file, "{line}")?;
            }
        }
        state.sink = Sink::File(file, path.to_owned());
        Ok(())
    }

    /// The file written to, once there is one.
    pub fn path(&self) -> Option<PathBuf> {
        match &self.lock().sink {
            Sink::File(_, path) => Some(path.clone()),
            Sink::Memory(_) => None,
        }
    }

    /// The lines kept in memory (none once a file is attached).
    pub fn memory_lines(&self) -> Vec<String> {
        match &self.lock().sink {
            Sink::Memory(lines) => lines.clone(),
            Sink::File(..) => Vec::new(),
        }
    }

    /// A tap recording the frames of the connection called `conn`.
    pub fn tap(self: &Arc<Self>, conn: &str) -> Arc<dyn FrameTap> {
        Arc::new(ConnectionTap {
            transcript: self.clone(),
            conn: conn.to_owned(),
        })
    }

    /// A callback recording each request body the mock model receives.
    pub fn model_tap(self: &Arc<Self>) -> ModelTap {
        let transcript = self.clone();
        Arc::new(move |body: &Value| {
            let mut record = Record::bare(transcript.ms(Instant::now()), EventKind::ModelRequest);
            record.extra = Some(json!({ "body": body }));
            transcript.write(&mut transcript.lock(), &record);
        })
    }

    /// Records a remark of cas's own, about connection `conn` when given.
    pub fn note(&self, conn: Option<&str>, text: &str) {
        let mut record = Record::bare(self.ms(Instant::now()), EventKind::Note);
        record.conn = conn;
        record.text = Some(text);
        self.write(&mut self.lock(), &record);
    }

    fn ms(&self, at: Instant) -> u64 {
        at.saturating_duration_since(self.started).as_millis() as u64
    }

    fn write(&self, state: &mut State, record: &Record<'_>) {
        let Ok(line) = serde_json::to_string(record) else {
            return;
        };
        match &mut state.sink {
            Sink::Memory(lines) => lines.push(line),
            Sink::File(file, _) => {
                let _ = writeln!(file, "{line}");
            }
        }
    }

    /// Records one frame sent or received on `conn`.
    fn frame(&self, at: Instant, conn: &str, sent: bool, text: &str) {
        let event = if sent {
            EventKind::Send
        } else {
            EventKind::Recv
        };
        let mut record = Record::bare(self.ms(at), event);
        record.conn = Some(conn);
        let parsed: Option<Value> = serde_json::from_str(text).ok();
        let one_line = !text.contains(['\n', '\r']);
        let mut redacted_text = None;
        match &parsed {
            Some(value) => {
                record.describe(value);
                if self.redact_server_requests && !sent && record.kind == Some(FrameKind::Request) {
                    let mut value = value.clone();
                    if let Some(params) = value.get_mut("params") {
                        *params = json!("<redacted>");
                    }
                    record.redacted = true;
                    redacted_text = Some(value.to_string());
                }
            }
            None => record.kind = Some(FrameKind::Malformed),
        }
        let raw_text = redacted_text.as_deref().unwrap_or(text);
        let raw: Option<&RawValue> = match (&parsed, one_line) {
            (Some(_), true) => serde_json::from_str(raw_text).ok(),
            _ => None,
        };
        record.frame = raw;
        if raw.is_none() {
            record.text = Some(raw_text);
        }
        let mut state = self.lock();
        name_response(&mut state, conn, sent, &mut record);
        self.write(&mut state, &record);
    }
}

/// Remembers a request's method by id, and names the method a response answers.
fn name_response(state: &mut State, conn: &str, sent: bool, record: &mut Record<'_>) {
    let Some(id) = record.id.as_ref().map(Value::to_string) else {
        return;
    };
    let asker = |by_cas: bool| if by_cas { Asker::Cas } else { Asker::Server };
    match record.kind {
        Some(FrameKind::Request) => {
            if let Some(method) = &record.method {
                let key = (conn.to_owned(), asker(sent), id);
                state.asked.insert(key, method.clone());
            }
        }
        Some(FrameKind::Response | FrameKind::Error) => {
            let key = (conn.to_owned(), asker(!sent), id);
            record.method = state.asked.remove(&key);
        }
        _ => {}
    }
}

/// The tap of one named connection.
struct ConnectionTap {
    transcript: Arc<Transcript>,
    conn: String,
}

impl FrameTap for ConnectionTap {
    fn event(&self, at: Instant, kind: TapKind, text: &str) {
        let t = &self.transcript;
        let event = match kind {
            TapKind::Sent => return t.frame(at, &self.conn, true, text),
            TapKind::Received => return t.frame(at, &self.conn, false, text),
            TapKind::Unreadable => EventKind::Unreadable,
            TapKind::Closed => EventKind::Closed,
            TapKind::Stderr => EventKind::Stderr,
        };
        let mut record = Record::bare(t.ms(at), event);
        record.conn = Some(&self.conn);
        record.text = Some(text);
        t.write(&mut t.lock(), &record);
    }
}
