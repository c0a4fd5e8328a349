//! Transcripts and event logs: one NDJSON format for everything cas sent and received.
//!
//! A transcript is one JSON object per line (NDJSON), written as things happen. The first line
//! is `{"ms":0,"event":"start","schema":"cas.transcript/1","label":…,"startedAtMs":…}`
//! (`startedAtMs`: Unix time in ms). Every line has, in this order:
//!
//! | field | when | meaning |
//! |---|---|---|
//! | `ms` | always | milliseconds since the start line |
//! | `event` | always | `start`, `send` (cas → server), `recv` (server → cas), `unreadable`, `closed`, `stderr`, `model_request`, `note` |
//! | `conn` | connection events | the connection's name (`main` for a scenario's, the client name for an instance's) |
//! | `kind` | `send`/`recv` | `request`, `notification`, `response`, `error`, or `malformed` |
//! | `method` | frames with one | the method; for a response, the method of the request it answers |
//! | `id` | requests, responses | the JSON-RPC id |
//! | `threadId`, `turnId`, `itemId` | when the params or result name them | the routing keys: `threadId` (or `thread.id`), `turnId` (or `turn.id`), `itemId` (or `item.id`) |
//! | `frame` | a frame that is one line of JSON | the frame, byte for byte |
//! | `redacted` | review logs only | `true` when a server request's params were left out |
//! | `text` | otherwise | a frame that is not one line of JSON (verbatim), a stderr line, the close reason, a note, what was unreadable |
//! | `body` | `model_request` | the JSON body the mock model received |
//!
//! Lines are in the order events happened; frames the server sent before a tap was attached
//! (none for codex, which speaks only when spoken to) are written when it attaches, with their
//! own times. `cas transcript show FILE` prints a transcript as a conversation.

mod event_log;
mod record;
mod show;
mod writer;

use std::path::{Path, PathBuf};

pub use event_log::{EventLogs, TapFactory};
pub use record::{EventKind, FrameKind, Record, RoutingKeys, SCHEMA};
pub use show::{describe, show, ShowError, ShowOptions};
pub use writer::{ModelTap, Transcript};

/// The event log of instance `index` when a lane has several: `events.ndjson` becomes
/// `events-3.ndjson` (a name without an extension gets `-3` at its end).
pub fn instance_path(path: &Path, index: usize) -> PathBuf {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let name = match path.extension() {
        Some(ext) => format!("{stem}-{index}.{}", ext.to_string_lossy()),
        None => format!("{stem}-{index}"),
    };
    path.with_file_name(name)
}

#[cfg(test)]
mod tests;
