//! One transcript line: what happened, when, on which connection, with the frame as it was.
//!
//! A frame that is one line of JSON is kept verbatim in `frame` (a raw JSON value, byte for
//! byte); any other text (not JSON, or JSON spread over several lines) is kept verbatim in
//! `text`. The summary fields (`kind`, `method`, `id`, the routing keys) are derived from the
//! frame and never replace it.

use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::Value;

/// The schema name every transcript's first line carries.
pub const SCHEMA: &str = "cas.transcript/1";

/// What a line records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// The first line: the schema, a label and the wall-clock start.
    Start,
    /// A frame cas sent.
    Send,
    /// A frame cas received.
    Recv,
    /// Something received that is not a text frame (not UTF-8, binary, over the cap).
    Unreadable,
    /// The connection's input ended (`text` is the reason).
    Closed,
    /// A line the server process wrote to stderr.
    Stderr,
    /// A request the mock model received (`body` is its JSON body).
    ModelRequest,
    /// A remark of cas's own (e.g. a request that got no response).
    Note,
}

/// The JSON-RPC shape of a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FrameKind {
    /// Has an id and a method.
    Request,
    /// Has a method and no id.
    Notification,
    /// Has an id and a result.
    Response,
    /// Has an id and an error.
    Error,
    /// None of the four (or not JSON at all).
    Malformed,
}

/// One line of a transcript, in its field order.
#[derive(Debug, Serialize)]
pub struct Record<'a> {
    /// Milliseconds since the transcript started.
    pub ms: u64,
    /// What happened.
    pub event: EventKind,
    /// The connection's name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conn: Option<&'a str>,
    /// The frame's JSON-RPC shape.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<FrameKind>,
    /// The method; for a response, the method of the request it answers (when seen).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// The JSON-RPC id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<Value>,
    /// The thread the frame is about.
    #[serde(rename = "threadId", skip_serializing_if = "Option::is_none")]
    pub thread_id: Option<Value>,
    /// The turn the frame is about.
    #[serde(rename = "turnId", skip_serializing_if = "Option::is_none")]
    pub turn_id: Option<Value>,
    /// The item the frame is about.
    #[serde(rename = "itemId", skip_serializing_if = "Option::is_none")]
    pub item_id: Option<Value>,
    /// The frame, verbatim, when it is one line of JSON.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub frame: Option<&'a RawValue>,
    /// The frame's params were left out (the review log keeps server-request bodies out).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub redacted: bool,
    /// Text: a frame that is not one line of JSON, a stderr line, a reason, a note.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<&'a str>,
    /// A model request's body; the start line's extra fields.
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub extra: Option<Value>,
}

impl<'a> Record<'a> {
    /// A line with only the time and the event.
    pub fn bare(ms: u64, event: EventKind) -> Record<'a> {
        Record {
            ms,
            event,
            conn: None,
            kind: None,
            method: None,
            id: None,
            thread_id: None,
            turn_id: None,
            item_id: None,
            frame: None,
            redacted: false,
            text: None,
            extra: None,
        }
    }

    /// Fills the summary fields from a parsed frame: shape, method, id and routing keys.
    pub fn describe(&mut self, value: &Value) {
        let Some(obj) = value.as_object() else {
            self.kind = Some(FrameKind::Malformed);
            return;
        };
        let has_id = obj
            .get("id")
            .is_some_and(|id| id.is_i64() || id.is_string());
        let method = obj.get("method").and_then(Value::as_str);
        self.kind = Some(match (method, has_id) {
            (Some(_), true) => FrameKind::Request,
            (Some(_), false) => FrameKind::Notification,
            (None, true) if obj.contains_key("result") => FrameKind::Response,
            (None, true) if obj.contains_key("error") => FrameKind::Error,
            _ => FrameKind::Malformed,
        });
        self.method = method.map(str::to_owned);
        self.id = obj.get("id").filter(|_| has_id).cloned();
        let body = obj.get("params").or_else(|| obj.get("result"));
        if let Some(body) = body {
            let keys = RoutingKeys::of(body);
            self.thread_id = keys.thread_id;
            self.turn_id = keys.turn_id;
            self.item_id = keys.item_id;
        }
    }
}

/// The ids a frame is about, found in its params or result.
#[derive(Debug, Default, PartialEq)]
pub struct RoutingKeys {
    /// `threadId`, else `thread.id`.
    pub thread_id: Option<Value>,
    /// `turnId`, else `turn.id`.
    pub turn_id: Option<Value>,
    /// `itemId`, else `item.id`.
    pub item_id: Option<Value>,
}

impl RoutingKeys {
    /// The keys of a params or result object (`{threadId}`, `{thread: {id}}`, …).
    pub fn of(body: &Value) -> RoutingKeys {
        let key = |flat: &str, nested: &str| {
            body.get(flat)
                .or_else(|| body.get(nested)?.get("id"))
                .filter(|v| v.is_string())
                .cloned()
        };
        RoutingKeys {
            thread_id: key("threadId", "thread"),
            turn_id: key("turnId", "turn"),
            item_id: key("itemId", "item"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn routing_keys_come_flat_or_nested() {
        let keys = RoutingKeys::of(&json!({"threadId": "t", "turn": {"id": "u"}, "item": {}}));
        assert_eq!(keys.thread_id, Some(json!("t")));
        assert_eq!(keys.turn_id, Some(json!("u")));
        assert_eq!(keys.item_id, None);
        let started = RoutingKeys::of(&json!({"thread": {"id": "x"}}));
        assert_eq!(started.thread_id, Some(json!("x")));
        assert_eq!(
            RoutingKeys::of(&json!({"threadId": 3})),
            RoutingKeys::default()
        );
    }

    #[test]
    fn describes_the_four_shapes_and_the_rest() {
        let shape = |v: Value| {
            let mut r = Record::bare(0, EventKind::Recv);
            r.describe(&v);
            (r.kind, r.method, r.id)
        };
        assert_eq!(
            shape(json!({"id": 1, "method": "m"})),
            (Some(FrameKind::Request), Some("m".into()), Some(json!(1)))
        );
        assert_eq!(
            shape(json!({"method": "n"})).0,
            Some(FrameKind::Notification)
        );
        assert_eq!(
            shape(json!({"id": "a", "result": {}})).0,
            Some(FrameKind::Response)
        );
        assert_eq!(
            shape(json!({"id": 2, "error": {}})).0,
            Some(FrameKind::Error)
        );
        assert_eq!(shape(json!({"id": 2})).0, Some(FrameKind::Malformed));
        assert_eq!(shape(json!([1])).0, Some(FrameKind::Malformed));
    }
}
