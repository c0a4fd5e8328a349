//! The events a Responses-API server streams for one output item, as codex expects them.
//!
//! A message is announced empty (`response.output_item.added`), its text follows word by word
//! as `response.output_text.delta` events (a word with the spaces before it), then `response.output_item.done` carries it whole. A reasoning
//! item streams each summary part (`response.reasoning_summary_part.added`, then
//! `response.reasoning_summary_text.delta`) and each raw reasoning text
//! (`response.reasoning_text.delta`). Other items (tool calls) are sent whole, as `done` only.

use serde_json::{json, Value};

/// The events of output item `item` at position `index` of the response.
pub(super) fn item_events(index: usize, item: &Value) -> Vec<Value> {
    let done = json!({"type": "response.output_item.done", "output_index": index, "item": item});
    let id = item.get("id").and_then(Value::as_str).unwrap_or_default();
    let mut events = match item.get("type").and_then(Value::as_str) {
        Some("message") => message_events(index, id, item),
        Some("reasoning") => reasoning_events(index, id, item),
        _ => Vec::new(),
    };
    events.push(done);
    events
}

/// The texts of the parts of `item[key]` that have one, in order.
fn part_texts<'a>(item: &'a Value, key: &str) -> Vec<&'a str> {
    item.get(key)
        .and_then(Value::as_array)
        .map(|parts| {
            parts
                .iter()
                .filter_map(|part| part.get("text").and_then(Value::as_str))
                .collect()
        })
        .unwrap_or_default()
}

/// `text` cut before each word that follows a space: `"a b  c"` is `["a", " b", "  c"]`.
fn word_chunks(text: &str) -> Vec<&str> {
    let mut chunks = Vec::new();
    let mut start = 0;
    let mut after_space = false;
    for (at, ch) in text.char_indices() {
        if ch.is_whitespace() {
            if !after_space && at > start {
                chunks.push(&text[start..at]);
                start = at;
            }
            after_space = true;
        } else {
            after_space = false;
        }
    }
    if start < text.len() {
        chunks.push(&text[start..]);
    }
    chunks
}

/// An assistant message: added empty, then its text word by word, part by part.
fn message_events(index: usize, id: &str, item: &Value) -> Vec<Value> {
    let mut added = item.clone();
    added["content"] = json!([]);
    let mut events =
        vec![json!({"type": "response.output_item.added", "output_index": index, "item": added})];
    for (part, text) in part_texts(item, "content").into_iter().enumerate() {
        for chunk in word_chunks(text) {
            events.push(json!({"type": "response.output_text.delta", "item_id": id,
                "output_index": index, "content_index": part, "delta": chunk}));
        }
    }
    events
}

/// A reasoning item: added empty, then each summary part and each raw reasoning text.
fn reasoning_events(index: usize, id: &str, item: &Value) -> Vec<Value> {
    let mut added = item.clone();
    added["summary"] = json!([]);
    if added.get("content").is_some() {
        added["content"] = json!([]);
    }
    let mut events =
        vec![json!({"type": "response.output_item.added", "output_index": index, "item": added})];
    for (part, text) in part_texts(item, "summary").into_iter().enumerate() {
        events.push(
            json!({"type": "response.reasoning_summary_part.added", "item_id": id,
            "output_index": index, "summary_index": part,
            "part": {"type": "summary_text", "text": ""}}),
        );
        events.push(
            json!({"type": "response.reasoning_summary_text.delta", "item_id": id,
            "output_index": index, "summary_index": part, "delta": text}),
        );
    }
    for (part, text) in part_texts(item, "content").into_iter().enumerate() {
        events.push(
            json!({"type": "response.reasoning_text.delta", "item_id": id,
            "output_index": index, "content_index": part, "delta": text}),
        );
    }
    events
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(events: &[Value]) -> Vec<&str> {
        events.iter().map(|e| e["type"].as_str().unwrap()).collect()
    }

    #[test]
    fn words_keep_the_spaces_before_them() {
        assert_eq!(word_chunks("a b  c"), ["a", " b", "  c"]);
        assert_eq!(word_chunks(" lead trail "), [" lead", " trail", " "]);
        assert_eq!(word_chunks("one"), ["one"]);
        assert!(word_chunks("").is_empty());
    }

    #[test]
    fn a_message_streams_its_words_between_added_and_done() {
        let item = json!({"type": "message", "id": "msg-1",
            "content": [{"type": "output_text", "text": "hi there"}]});
        let events = item_events(0, &item);
        assert_eq!(
            kinds(&events),
            [
                "response.output_item.added",
                "response.output_text.delta",
                "response.output_text.delta",
                "response.output_item.done"
            ]
        );
        assert_eq!(events[0]["item"]["content"], json!([]));
        assert_eq!(events[1]["delta"], "hi");
        assert_eq!(events[2]["delta"], " there");
        assert_eq!(events[2]["item_id"], "msg-1");
        assert_eq!(events[3]["item"], item);
    }

    #[test]
    fn a_reasoning_item_streams_summary_parts_and_raw_text() {
        let item = json!({"type": "reasoning", "id": "rs-1",
            "summary": [{"type": "summary_text", "text": "s"}],
            "content": [{"type": "reasoning_text", "text": "r"}]});
        let events = item_events(2, &item);
        assert_eq!(
            kinds(&events),
            [
                "response.output_item.added",
                "response.reasoning_summary_part.added",
                "response.reasoning_summary_text.delta",
                "response.reasoning_text.delta",
                "response.output_item.done"
            ]
        );
        assert_eq!(events[0]["item"]["summary"], json!([]));
        assert_eq!(events[2]["delta"], "s");
        assert_eq!(events[3]["delta"], "r");
        assert_eq!(events[3]["output_index"], 2);
    }

    #[test]
    fn a_tool_call_is_sent_whole() {
        let item = json!({"type": "function_call", "id": "c", "call_id": "c", "name": "f"});
        assert_eq!(kinds(&item_events(0, &item)), ["response.output_item.done"]);
    }
}
