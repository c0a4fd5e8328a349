//! The Responses-API server-sent events the mock model answers with.
//!
//! A response is `response.created`, then per output item the events a Responses-API server
//! streams for it (see `stream`: added, text deltas, done), then `response.completed`; a
//! mid-stream failure leaves the last event out, which codex reports as `stream disconnected
//! before completion`.

use serde_json::{json, Value};
use wiremock::ResponseTemplate;

mod stream;

/// The output items of one scripted or directed answer, before they are framed as events.
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct Reply {
    /// The output items, in order (reasoning, message, function calls, …).
    pub(super) items: Vec<Value>,
    /// Close the stream before `response.completed`.
    pub(super) truncate: bool,
    /// Send each item whole (`response.output_item.done` only), without streaming it.
    pub(super) whole: bool,
}

impl Reply {
    /// A reply of one assistant message.
    pub(super) fn message(n: usize, text: &str) -> Reply {
        Reply {
            items: vec![message_item(n, text)],
            truncate: false,
            whole: false,
        }
    }

    /// A reply of one assistant message sent whole, as codex's review mode needs its JSON.
    pub(super) fn whole_message(n: usize, text: &str) -> Reply {
        Reply {
            whole: true,
            ..Reply::message(n, text)
        }
    }

    /// The SSE events of this reply as answer `n`.
    pub(super) fn events(&self, n: usize) -> Vec<Value> {
        let id = format!("resp-{n}");
        let mut events = vec![json!({"type": "response.created", "response": {"id": id}})];
        for (index, item) in self.items.iter().enumerate() {
            if self.whole {
                events.push(json!({"type": "response.output_item.done", "output_index": index, "item": item}));
            } else {
                events.extend(stream::item_events(index, item));
            }
        }
        if !self.truncate {
            events.push(
                json!({"type": "response.completed", "response": {"id": id, "usage": {
                "input_tokens": 10, "input_tokens_details": null, "output_tokens": 5,
                "output_tokens_details": null, "total_tokens": 15}}}),
            );
        }
        events
    }

    /// The reply as an HTTP 200 event stream.
    pub(super) fn template(&self, n: usize) -> ResponseTemplate {
        sse(&self.events(n))
    }
}

/// An assistant message item.
pub(super) fn message_item(n: usize, text: &str) -> Value {
    json!({"type": "message", "role": "assistant", "id": format!("msg-{n}"),
        "content": [{"type": "output_text", "text": text}]})
}

/// A reasoning item whose summary and raw reasoning text are both `text`.
pub(super) fn reasoning_item(n: usize, text: &str) -> Value {
    json!({"type": "reasoning", "id": format!("rs-{n}"),
        "summary": [{"type": "summary_text", "text": text}],
        "content": [{"type": "reasoning_text", "text": text}]})
}

/// A function-call item (arguments as JSON text, as the Responses API sends them).
pub(super) fn function_call_item(call_id: &str, name: &str, arguments: &str) -> Value {
    json!({"type": "function_call", "id": call_id, "call_id": call_id, "name": name,
        "arguments": arguments})
}

/// A custom (freeform) tool-call item.
pub(super) fn custom_tool_call_item(call_id: &str, name: &str, input: &str) -> Value {
    json!({"type": "custom_tool_call", "id": call_id, "call_id": call_id, "name": name,
        "input": input})
}

/// `events` as an HTTP 200 `text/event-stream` body.
pub(super) fn sse(events: &[Value]) -> ResponseTemplate {
    let mut body = String::new();
    for event in events {
        let kind = event
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or("message");
        body.push_str(&format!("event: {kind}\ndata: {event}\n\n"));
    }
    ResponseTemplate::new(200)
        .insert_header("content-type", "text/event-stream")
        .set_body_string(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_truncated_reply_has_no_completed_event() {
        let mut reply = Reply::message(3, "hi");
        let kinds = |r: &Reply| -> Vec<String> {
            r.events(3)
                .iter()
                .map(|e| e["type"].as_str().unwrap().to_owned())
                .collect()
        };
        assert_eq!(
            kinds(&reply),
            [
                "response.created",
                "response.output_item.added",
                "response.output_text.delta",
                "response.output_item.done",
                "response.completed"
            ]
        );
        reply.truncate = true;
        assert_eq!(kinds(&reply).last().unwrap(), "response.output_item.done");
        assert_eq!(reply.events(3)[3]["item"]["content"][0]["text"], "hi");
    }

    #[test]
    fn a_whole_message_is_not_streamed() {
        let reply = Reply::whole_message(2, "{\"a\": 1}");
        let kinds: Vec<String> = reply
            .events(2)
            .iter()
            .map(|e| e["type"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(
            kinds,
            [
                "response.created",
                "response.output_item.done",
                "response.completed"
            ]
        );
    }
}
