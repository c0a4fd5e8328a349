//! The mock model: a wiremock server on 127.0.0.1 that speaks the Responses API as SSE.
//!
//! Hermetic codex runs point their model provider here, so no turn leaves the machine and every
//! answer is deterministic. The reply is chosen by a directive in the latest user text:
//! `[[say:TEXT]]` answers TEXT, `[[fail]]` answers HTTP 500, `[[stall:SECS]]` streams one delta
//! a second before finishing; anything else answers `mock reply #N`. Every request body is kept
//! by wiremock for later assertions.
//!
//! A review request (its first developer message starts `# Review guidelines:`) is answered
//! with the review JSON of `fixtures/review/mock-review.json` (compiled in; `${CWD}` becomes the
//! cwd of the request's environment context), after the stall of a `[[stall:SECS]]` directive;
//! `[[say:TEXT]]` answers TEXT instead (not review JSON) and `[[fail]]` answers HTTP 500.

use serde_json::{json, Value};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

/// A running mock model server.
pub struct MockModel {
    server: MockServer,
    tap: RequestTapSlot,
}

/// Sees each request body the mock model receives, as it arrives (`null` when not JSON).
pub type RequestTap = Arc<dyn Fn(&Value) + Send + Sync>;

/// Where the request tap goes, shared with the responder.
type RequestTapSlot = Arc<Mutex<Option<RequestTap>>>;

impl MockModel {
    /// Starts the server on a free loopback port and mounts the Responses endpoint.
    pub async fn start() -> MockModel {
        let server = MockServer::start().await;
        let tap = RequestTapSlot::default();
        let replies = ResponsesReplies {
            tap: tap.clone(),
            ..ResponsesReplies::default()
        };
        Mock::given(method("POST"))
            .and(path("/v1/responses"))
            .respond_with(replies)
            .mount(&server)
            .await;
        MockModel { server, tap }
    }

    /// Lets `tap` see every request body from now on (replacing an earlier tap).
    pub fn tap_requests(&self, tap: RequestTap) {
        *self.tap.lock().unwrap_or_else(|p| p.into_inner()) = Some(tap);
    }

    /// The provider base URL for config.toml, e.g. `http://127.0.0.1:4372/v1`.
    pub fn base_url(&self) -> String {
        format!("{}/v1", self.server.uri())
    }

    /// The JSON bodies of every model request received so far.
    pub async fn request_bodies(&self) -> Vec<Value> {
        let requests = self.server.received_requests().await.unwrap_or_default();
        requests
            .iter()
            .filter_map(|r| serde_json::from_slice(&r.body).ok())
            .collect()
    }
}

/// Answers each model request according to the directive in its latest user text.
#[derive(Default)]
struct ResponsesReplies {
    count: AtomicUsize,
    tap: RequestTapSlot,
}

impl Respond for ResponsesReplies {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let n = self.count.fetch_add(1, Ordering::Relaxed) + 1;
        let body: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
        if let Some(tap) = &*self.tap.lock().unwrap_or_else(|p| p.into_inner()) {
            tap(&body);
        }
        let text = latest_user_text(&body).unwrap_or_default();
        if is_review_request(&body) {
            return review_reply(n, &body, Directive::parse(&text));
        }
        match Directive::parse(&text) {
            Directive::Fail => ResponseTemplate::new(500).set_body_string("mock failure"),
            Directive::Say(said) => sse(&final_message(n, &said)),
            Directive::Stall(secs) => sse(&final_message(n, &format!("stalled {secs}s")))
                .set_delay(Duration::from_secs(secs)),
            Directive::None => sse(&final_message(n, &format!("mock reply #{n}"))),
        }
    }
}

/// What the latest user text asks the mock to do.
#[derive(Debug, PartialEq)]
enum Directive {
    Say(String),
    Fail,
    Stall(u64),
    None,
}

impl Directive {
    fn parse(text: &str) -> Directive {
        let Some(start) = text.find("[[") else {
            return Directive::None;
        };
        let Some(len) = text[start..].find("]]") else {
            return Directive::None;
        };
        let inner = &text[start + 2..start + len];
        match inner.split_once(':') {
            Some(("say", said)) => Directive::Say(said.to_owned()),
            Some(("stall", secs)) => secs
                .trim()
                .parse()
                .map(Directive::Stall)
                .unwrap_or(Directive::None),
            None if inner == "fail" => Directive::Fail,
            _ => Directive::None,
        }
    }
}

/// The review JSON the mock answers to review requests.
pub const REVIEW_ANSWER: &str = include_str!("../../fixtures/review/mock-review.json");

/// The reply to a review request: the review JSON unless a directive says otherwise.
fn review_reply(n: usize, body: &Value, directive: Directive) -> ResponseTemplate {
    let cwd = environment_cwd(body).unwrap_or_default();
    let answer = REVIEW_ANSWER.trim().replace("${CWD}", &cwd);
    match directive {
        Directive::Fail => ResponseTemplate::new(500).set_body_string("mock failure"),
        Directive::Say(said) => sse(&final_message(n, &said)),
        Directive::Stall(secs) => {
            sse(&final_message(n, &answer)).set_delay(Duration::from_secs(secs))
        }
        Directive::None => sse(&final_message(n, &answer)),
    }
}

/// Whether the request is a review: its first developer message starts `# Review guidelines:`,
/// or (codex 0.118.x) its `instructions` do.
fn is_review_request(body: &Value) -> bool {
    let guidelines = |t: &str| t.trim_start().starts_with("# Review guidelines:");
    if body
        .get("instructions")
        .and_then(Value::as_str)
        .is_some_and(guidelines)
    {
        return true;
    }
    let Some(input) = body.get("input").and_then(Value::as_array) else {
        return false;
    };
    input
        .iter()
        .find(|item| item.get("role").and_then(Value::as_str) == Some("developer"))
        .and_then(|m| m.get("content")?.as_array()?.first()?.get("text")?.as_str())
        .is_some_and(guidelines)
}

/// The `<cwd>` of the request's environment context, if any.
fn environment_cwd(body: &Value) -> Option<String> {
    let input = body.get("input")?.as_array()?;
    input
        .iter()
        .filter_map(|item| item.get("content")?.as_array())
        .flatten()
        .filter_map(|part| part.get("text")?.as_str())
        .find_map(|text| {
            let start = text.find("<cwd>")? + "<cwd>".len();
            let len = text[start..].find("</cwd>")?;
            Some(text[start..start + len].trim().to_owned())
        })
}

/// The text of the last `user` message in a Responses request body.
fn latest_user_text(body: &Value) -> Option<String> {
    let input = body.get("input")?.as_array()?;
    let message = input
        .iter()
        .rev()
        .find(|item| item.get("role").and_then(Value::as_str) == Some("user"))?;
    let parts = message.get("content")?.as_array()?;
    let text: Vec<&str> = parts
        .iter()
        .filter_map(|p| p.get("text").and_then(Value::as_str))
        .collect();
    Some(text.join("\n"))
}

/// The SSE events of one complete assistant message.
fn final_message(n: usize, text: &str) -> Vec<Value> {
    let id = format!("resp-{n}");
    vec![
        json!({"type": "response.created", "response": {"id": id}}),
        json!({"type": "response.output_item.done", "item": {
            "type": "message", "role": "assistant", "id": format!("msg-{n}"),
            "content": [{"type": "output_text", "text": text}]}}),
        json!({"type": "response.completed", "response": {"id": id, "usage": {
            "input_tokens": 10, "input_tokens_details": null, "output_tokens": 5,
            "output_tokens_details": null, "total_tokens": 15}}}),
    ]
}

fn sse(events: &[Value]) -> ResponseTemplate {
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
    fn parses_directives() {
        assert_eq!(
            Directive::parse("hi [[say:hello there]]"),
            Directive::Say("hello there".into())
        );
        assert_eq!(Directive::parse("[[fail]]"), Directive::Fail);
        assert_eq!(Directive::parse("[[stall:3]]"), Directive::Stall(3));
        assert_eq!(Directive::parse("[[stall:x]]"), Directive::None);
        assert_eq!(Directive::parse("plain"), Directive::None);
    }

    #[test]
    fn answers_review_requests_with_the_fixture_json() {
        let body = json!({"input": [
            {"role": "developer", "content": [{"type": "input_text", "text": "# Review guidelines:\n…"}]},
            {"role": "user", "content": [{"type": "input_text", "text": "<environment_context>\n  <cwd>/r</cwd>\n</environment_context>"}]},
            {"role": "user", "content": [{"type": "input_text", "text": "review it"}]}]});
        assert!(is_review_request(&body));
        let old_style = json!({"instructions": "# Review guidelines:\nbe kind", "input": []});
        assert!(
            is_review_request(&old_style),
            "0.118.x sends the guidelines as instructions"
        );
        assert_eq!(environment_cwd(&body).as_deref(), Some("/r"));
        let plain = json!({"input": [{"role": "developer", "content": [{"type": "input_text", "text": "You are Codex"}]}]});
        assert!(!is_review_request(&plain));
        let answer: Value = serde_json::from_str(REVIEW_ANSWER).unwrap();
        assert_eq!(answer["findings"][0]["priority"], 1);
    }

    #[test]
    fn finds_the_latest_user_text() {
        let body = json!({"input": [
            {"role": "user", "content": [{"type": "input_text", "text": "first"}]},
            {"role": "developer", "content": [{"type": "input_text", "text": "x"}]},
            {"role": "user", "content": [{"type": "input_text", "text": "second"}]}]});
        assert_eq!(latest_user_text(&body).as_deref(), Some("second"));
    }
}
