//! The fake's wire faults: a flood of notifications, one huge line, a line that never ends,
//! garbage lines, and scripted answers under a wrong id or sent twice.
//!
//! They exist to show that a client's memory stays bounded and its failures named whatever a
//! server sends. The huge line is a real notification padded to the asked size; the endless
//! line writes bytes without a newline to the process's own stdout until the client goes away,
//! and nothing else is served meanwhile.

use serde_json::json;
use std::io::Write;
use std::time::Duration;

use super::script::{FakeScript, Fault, ScriptedSend};
use crate::jsonrpc::{Message, RequestId, RpcError};
use crate::transport::Outbound;

/// The method of the padded notification a `line_bytes` fault sends.
pub const BIG_LINE_METHOD: &str = "fake/bigLine";

/// How long the endless line waits for lines already queued to be written first.
const QUEUED_FLUSH_WAIT: Duration = Duration::from_millis(100);

/// What a wrong id adds to the client's.
const WRONG_ID_OFFSET: i64 = 1_000_000;

/// Sends a rule's answer as the script's faults have it: under a wrong id, twice, or plainly.
pub(super) fn send_rule_reply(
    out: &Outbound,
    script: &FakeScript,
    id: RequestId,
    reply: Result<serde_json::Value, RpcError>,
) {
    let id = if script.has(Fault::WrongResponseIds) {
        wrong_id(id)
    } else {
        id
    };
    if script.has(Fault::DuplicateResponses) {
        super::send_reply(out, id.clone(), reply.clone());
    }
    super::send_reply(out, id, reply);
}

/// An id the client never sent: the integer moved up by a million, a string suffixed.
fn wrong_id(id: RequestId) -> RequestId {
    match id {
        RequestId::Int(n) => RequestId::Int(n.saturating_add(WRONG_ID_OFFSET)),
        RequestId::Str(s) => RequestId::Str(format!("{s}-wrong")),
    }
}

/// Sends the bulk faults `send` asks for, in the order garbage, flood, huge line, endless line.
pub(super) async fn send_bulk(out: &Outbound, send: &ScriptedSend) {
    if let Some(text) = &send.garbage {
        let _ = out.send_text(text.clone());
    }
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
    fn a_wrong_id_is_never_the_one_sent() {
        assert_eq!(wrong_id(RequestId::Int(3)), RequestId::Int(1_000_003));
        assert_eq!(
            wrong_id(RequestId::Str("a".into())),
            RequestId::Str("a-wrong".into())
        );
    }

    #[test]
    fn a_padded_line_has_the_asked_size_and_decodes() {
        let line = padded_line(1000);
        assert_eq!(line.len(), 1000);
        assert!(Message::decode(&line).is_ok());
    }
}
