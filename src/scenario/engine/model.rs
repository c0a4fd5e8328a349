//! The `expect_model_request` step: what codex sent to the mock model.
//!
//! The step waits (up to its timeout) for the n-th request, or the one after the last
//! request a step checked, then checks its body and headers (subsets, by the matcher), a
//! tool output among its input items, and text in its input. What it observed is only what
//! it checked, so verdicts stay stable.

use serde_json::{json, Map, Value};
use std::time::Duration;
use tokio::time::Instant;

use super::{Outcome, Run};
use crate::errors::Why;
use crate::launch::{MockModel, ModelRequest};
use crate::matcher::{matches, project, substitute, Captures};
use crate::outcome::FailureCode;
use crate::scenario::format::{ExpectModelRequestStep, ToolOutputCheck};

/// How often the step looks for a request that has not arrived yet.
const POLL: Duration = Duration::from_millis(25);

impl Run<'_> {
    pub(super) async fn expect_model_request(
        &mut self,
        e: &ExpectModelRequestStep,
        timeout: Duration,
    ) -> Outcome {
        let Some(model) = self.model else {
            let message = "this step checks the mock model, which only codex targets have".into();
            return Outcome::failed(FailureCode::NoServer, message);
        };
        let index = e.index.unwrap_or(self.model_seen + 1);
        let request = match nth_request(model, index, timeout).await {
            Ok(request) => request,
            Err(seen) => {
                let message = format!(
                    "codex made {seen} model request(s) within {timeout:?}; the step checks request #{index}"
                );
                return Outcome::failed(FailureCode::NoModelRequest, message);
            }
        };
        self.model_seen = index;
        check_model_request(e, index, &request, &mut self.captures)
    }
}

/// Checks request `index` against the step (its `${NAME}`s resolved from `captures`, which
/// the body and header subsets may add to).
fn check_model_request(
    e: &ExpectModelRequestStep,
    index: usize,
    request: &ModelRequest,
    captures: &mut Captures,
) -> Outcome {
    let mut observed = Map::new();
    observed.insert("index".into(), json!(index));
    let mut failures = Vec::new();
    let parts = [
        ("body", &e.body, &request.body),
        ("headers", &e.headers, &request.headers),
    ];
    for (part, want, actual) in parts {
        let Some(want) = want.as_ref().map(|w| substitute(w, captures)) else {
            continue;
        };
        observed.insert(part.into(), project(&want, actual));
        if let Err(m) = matches(&want, actual, captures) {
            failures.push((FailureCode::ModelRequestMismatch, format!("{part} {m}")));
        }
    }
    if let Some(want) = &e.offers_tool {
        let want = substitute(want, captures);
        match offered_tool(&want, &request.body, captures) {
            Some(tool) => {
                observed.insert("offersTool".into(), project(&want, &tool));
            }
            None => {
                let message = format!("request #{index} offers no tool matching {want}");
                failures.push((FailureCode::ModelRequestMismatch, message));
            }
        }
    }
    let input = input_items(&request.body);
    if let Some(check) = &e.tool_output {
        let (call_id, contains) = tool_output_wants(check, captures);
        match find_tool_output(&input, call_id.as_deref(), contains.as_deref()) {
            Ok(()) => {
                let seen = json!({"callId": call_id, "contains": contains});
                observed.insert("toolOutput".into(), seen);
            }
            Err(why) => failures.push((FailureCode::ModelRequestMismatch, why.0)),
        }
    }
    if let Some(text) = &e.input_contains {
        let text = substitute_text(text, captures);
        if input.iter().flat_map(item_texts).any(|t| t.contains(&text)) {
            observed.insert("inputContains".into(), json!(text));
        } else {
            let message = format!("no input item of request #{index} contains {text:?}");
            failures.push((FailureCode::ModelRequestMismatch, message));
        }
    }
    Outcome {
        observed: Some(Value::Object(observed)),
        failures,
    }
}

/// The first entry of the body's `tools` that contains `want` (its captures kept).
fn offered_tool(want: &Value, body: &Value, captures: &mut Captures) -> Option<Value> {
    let tools = body.get("tools").and_then(Value::as_array)?;
    let tool = tools
        .iter()
        .find(|t| matches(want, t, &mut captures.clone()).is_ok())?;
    let _ = matches(want, tool, captures);
    Some(tool.clone())
}

fn tool_output_wants(
    check: &ToolOutputCheck,
    captures: &Captures,
) -> (Option<String>, Option<String>) {
    let text = |t: &Option<String>| t.as_ref().map(|t| substitute_text(t, captures));
    (text(&check.call_id), text(&check.contains))
}

/// Waits up to `timeout` for the `index`-th request (1-based); on timeout, how many came.
async fn nth_request(
    model: &MockModel,
    index: usize,
    timeout: Duration,
) -> Result<ModelRequest, usize> {
    let deadline = Instant::now() + timeout;
    loop {
        let mut requests = model.requests().await;
        if requests.len() >= index {
            return Ok(requests.swap_remove(index - 1));
        }
        if Instant::now() >= deadline {
            return Err(requests.len());
        }
        tokio::time::sleep(POLL).await;
    }
}

fn substitute_text(text: &str, captures: &Captures) -> String {
    match substitute(&json!(text), captures) {
        Value::String(s) => s,
        other => other.to_string(),
    }
}

/// The `input` items of a Responses request body.
fn input_items(body: &Value) -> Vec<Value> {
    body.get("input")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

/// The texts an input item carries: message parts' `text`, a tool output (a string, or
/// content parts with `text`).
fn item_texts(item: &Value) -> Vec<String> {
    let mut out = Vec::new();
    for key in ["content", "output"] {
        match item.get(key) {
            Some(Value::String(s)) => out.push(s.clone()),
            Some(Value::Array(parts)) => out.extend(
                parts
                    .iter()
                    .filter_map(|p| p.get("text").and_then(Value::as_str))
                    .map(str::to_owned),
            ),
            _ => {}
        }
    }
    out
}

/// Finds a tool-output item answering `call_id` (any, if none) whose text contains `contains`.
fn find_tool_output(
    input: &[Value],
    call_id: Option<&str>,
    contains: Option<&str>,
) -> Result<(), Why> {
    let outputs: Vec<&Value> = input
        .iter()
        .filter(|item| {
            let kind = item.get("type").and_then(Value::as_str).unwrap_or_default();
            kind.ends_with("call_output")
                && call_id.is_none_or(|id| item.get("call_id").and_then(Value::as_str) == Some(id))
        })
        .collect();
    let whose = call_id
        .map(|id| format!(" for call {id:?}"))
        .unwrap_or_default();
    if outputs.is_empty() {
        return Err(Why(format!("the request carries no tool output{whose}")));
    }
    let Some(needle) = contains else {
        return Ok(());
    };
    if outputs
        .iter()
        .any(|item| item_texts(item).iter().any(|t| t.contains(needle)))
    {
        return Ok(());
    }
    let seen: Vec<String> = outputs.iter().flat_map(|i| item_texts(i)).collect();
    Err(Why(format!(
        "no tool output{whose} contains {needle:?}; outputs: {}",
        super::protocol::brief(&json!(seen))
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body() -> Value {
        json!({"tools": [{"type": "function", "name": "write_stdin"}, {"type": "function", "name": "exec_command"}], "input": [
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "run it"}]},
            {"type": "function_call", "call_id": "call-1", "name": "exec_command", "arguments": "{\"cmd\":\"printf x\"}"},
            {"type": "function_call_output", "call_id": "call-1", "output": "Chunk ID: 1\nOutput:\ncas-probe-ok"},
        ]})
    }

    #[test]
    fn finds_a_tool_output_by_call_and_text() {
        let input = input_items(&body());
        assert_eq!(
            find_tool_output(&input, Some("call-1"), Some("cas-probe-ok")),
            Ok(())
        );
        assert_eq!(find_tool_output(&input, None, None), Ok(()));
        let wrong_call = find_tool_output(&input, Some("call-2"), None).unwrap_err();
        assert!(
            wrong_call.contains("no tool output for call \"call-2\""),
            "{wrong_call}"
        );
        let wrong_text = find_tool_output(&input, Some("call-1"), Some("rejected")).unwrap_err();
        assert!(wrong_text.contains("cas-probe-ok"), "{wrong_text}");
        assert!(find_tool_output(&input[..2], None, None).is_err());
    }

    fn step(toml_text: &str) -> ExpectModelRequestStep {
        toml::from_str(toml_text).unwrap()
    }

    fn codes(o: &Outcome) -> Vec<FailureCode> {
        o.failures.iter().map(|(c, _)| *c).collect()
    }

    #[test]
    fn checks_body_headers_tool_output_and_input_text() {
        let request = ModelRequest {
            headers: json!({"originator": "cas-conformance"}),
            body: body(),
        };
        let mut captures = Captures::new();
        captures.insert("probe".into(), json!("cas-probe-ok"));
        let pass = step(
            r#"
            body = { input = [{ type = "message" }, { name = "exec_command", call_id = "$capture:call" }, { type = "function_call_output" }] }
            headers = { originator = "cas-conformance" }
            tool_output = { call_id = "${call}", contains = "${probe}" }
            input_contains = "run it"
            offers_tool = { name = "exec_command", type = "function" }
            "#,
        );
        let outcome = check_model_request(&pass, 2, &request, &mut captures);
        assert!(outcome.failures.is_empty(), "{:?}", outcome.failures);
        let observed = outcome.observed.unwrap();
        assert_eq!(observed["index"], 2);
        assert_eq!(observed["toolOutput"]["callId"], "call-1");
        assert_eq!(
            observed["headers"],
            json!({"originator": "cas-conformance"})
        );
        assert_eq!(observed["offersTool"]["name"], "exec_command");
        let fail = step(
            r#"
            body = { model = "gpt" }
            headers = { originator = "other" }
            tool_output = { contains = "rejected" }
            input_contains = "never said"
            offers_tool = { name = "cas_lookup" }
            "#,
        );
        let outcome = check_model_request(&fail, 2, &request, &mut captures);
        assert_eq!(codes(&outcome), [FailureCode::ModelRequestMismatch; 5]);
    }

    #[tokio::test]
    async fn waits_for_the_nth_request_within_the_timeout() {
        let model = MockModel::start().await;
        assert_eq!(
            nth_request(&model, 1, Duration::from_millis(100)).await,
            Err(0)
        );
        let url = model.base_url();
        let host = url
            .trim_start_matches("http://")
            .trim_end_matches("/v1")
            .to_owned();
        let poster = tokio::spawn(async move {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            tokio::time::sleep(Duration::from_millis(150)).await;
            let mut s = tokio::net::TcpStream::connect(&host).await.unwrap();
            let body = r#"{"input":[],"n":1}"#;
            let head = format!("POST /v1/responses HTTP/1.1\r\nhost: {host}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n", body.len());
            s.write_all(head.as_bytes()).await.unwrap();
            s.write_all(body.as_bytes()).await.unwrap();
            let mut sink = Vec::new();
            s.read_to_end(&mut sink).await.unwrap();
        });
        let request = nth_request(&model, 1, Duration::from_secs(5))
            .await
            .unwrap();
        assert_eq!(request.body["n"], 1);
        poster.await.unwrap();
        assert_eq!(
            nth_request(&model, 2, Duration::from_millis(50)).await,
            Err(1)
        );
    }

    #[test]
    fn item_texts_read_messages_and_outputs() {
        let input = input_items(&body());
        assert_eq!(item_texts(&input[0]), ["run it"]);
        assert!(
            item_texts(&input[1]).is_empty(),
            "arguments are not input text"
        );
        assert!(item_texts(&input[2])[0].ends_with("cas-probe-ok"));
        let parts = json!({"type": "function_call_output", "output": [{"type": "input_text", "text": "a"}]});
        assert_eq!(item_texts(&parts), ["a"]);
    }
}
