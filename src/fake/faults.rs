//! The fake's bulk faults: a flood of notifications, one huge line, a line that never ends.
//!
//! They exist to show that a client's memory stays bounded whatever a server sends. The huge
//! line is a real notification padded to the asked size; the endless line writes bytes without
//! a newline to the process's own stdout until the client goes away, and nothing else is
//! served meanwhile.

use serde_json::json;
use std::io::Write;
use std::time::Duration;

use super::script::ScriptedSend;
use crate::jsonrpc::Message;
use crate::transport::Outbound;

/// The method of the padded notification a `line_bytes` fault sends.
pub const BIG_LINE_METHOD: &str = "fake/bigLine";

/// How long the endless line waits for lines already queued to be written first.
const QUEUED_FLUSH_WAIT: Duration = Duration::from_millis(100);

/// Sends the bulk faults `send` asks for, in the order flood, huge line, endless line.
pub(super) async fn send_bulk(out: &Outbound, send: &ScriptedSend) {
    if let Some(flood) = &send.flood {
        let text = Message::notification(&flood.method, Some(flood.params.clone())).encode();
        for _ in 0..flood.count {
            let _ = out.send_text(text.clone());
        }
    }
    if let Some(size) = send.line_bytes {
        let _ = out.send_text(padded_line(size));
    }
    if send.endless_line && out.label().starts_with("stdio:") {
        tokio::time::sleep(QUEUED_FLUSH_WAIT).await;
        // Nothing else is served until the client stops reading (the write then fails).
        let _ = tokio::task::spawn_blocking(write_endless_line).await;
    }
}

/// A notification line of exactly `size` bytes (newline excluded), or as close as JSON allows.
fn padded_line(size: usize) -> String {
    let bare = Message::notification(BIG_LINE_METHOD, Some(json!({"pad": ""}))).encode();
    let pad = "x".repeat(size.saturating_sub(bare.len()));
    Message::notification(BIG_LINE_METHOD, Some(json!({ "pad": pad }))).encode()
}

/// Writes `x` to stdout without a newline until writing fails (the reader went away).
fn write_endless_line() {
    let chunk = vec![b'x'; 64 << 10];
    let mut stdout = std::io::stdout().lock();
    while stdout.write_all(&chunk).is_ok() {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_padded_line_has_the_asked_size_and_decodes() {
        let line = padded_line(1000);
        assert_eq!(line.len(), 1000);
        assert!(Message::decode(&line).is_ok());
    }
}
