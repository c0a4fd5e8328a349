//! The mock model: a wiremock server on 127.0.0.1 that speaks the Responses API as SSE.
//!
//! Hermetic codex runs point their model provider here, so no turn leaves the machine and every
//! answer is deterministic. A scenario's `[[model.responses]]` script answers first
//! ([`script`]); a request no scripted entry applies to is answered by the directive in its
//! latest user text ([`directive`]). Every request (headers and JSON body) is kept, in
//! arrival order, for `expect_model_request` steps and transcripts.

mod directive;
mod script;
mod sse;

pub use script::{CustomToolCall, FunctionCall, ModelScript, ScriptedResponse};

use serde_json::{Map, Value};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use script::ScriptState;

/// A running mock model server.
pub struct MockModel {
    server: MockServer,
    tap: RequestTapSlot,
}

/// Sees each request body the mock model receives, as it arrives (`null` when not JSON).
pub type RequestTap = Arc<dyn Fn(&Value) + Send + Sync>;

/// Where the request tap goes, shared with the responder.
type RequestTapSlot = Arc<Mutex<Option<RequestTap>>>;

/// One request codex made to the model: its headers (lower-case names) and JSON body.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelRequest {
    /// Header name → value (repeated headers joined with `, `).
    pub headers: Value,
    /// The JSON body (`null` when it was not JSON).
    pub body: Value,
}

impl MockModel {
    /// Starts the server on a free loopback port, answering by directives only.
    pub async fn start() -> MockModel {
        MockModel::start_scripted(ModelScript::default()).await
    }

    /// Starts the server on a free loopback port, answering by `script` first.
    pub async fn start_scripted(script: ModelScript) -> MockModel {
        let server = MockServer::start().await;
        let tap = RequestTapSlot::default();
        Mock::given(method("POST"))
            .and(path("/v1/responses"))
            .respond_with(ResponsesReplies {
                count: AtomicUsize::new(0),
                script: Mutex::new(ScriptState::new(script)),
                tap: tap.clone(),
            })
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
        self.requests().await.into_iter().map(|r| r.body).collect()
    }

    /// Every model request received so far, in arrival order.
    pub async fn requests(&self) -> Vec<ModelRequest> {
        let requests = self.server.received_requests().await.unwrap_or_default();
        requests.iter().map(model_request).collect()
    }
}

fn model_request(request: &Request) -> ModelRequest {
    let mut headers = Map::new();
    for (name, value) in &request.headers {
        let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
        match headers.get_mut(name.as_str()) {
            Some(Value::String(joined)) => {
                joined.push_str(", ");
                joined.push_str(&value);
            }
            _ => {
                headers.insert(name.as_str().to_owned(), Value::String(value));
            }
        }
    }
    ModelRequest {
        headers: Value::Object(headers),
        body: serde_json::from_slice(&request.body).unwrap_or(Value::Null),
    }
}

/// Answers each model request by the script, else by the directive in its latest user text.
struct ResponsesReplies {
    count: AtomicUsize,
    script: Mutex<ScriptState>,
    tap: RequestTapSlot,
}

impl Respond for ResponsesReplies {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let n = self.count.fetch_add(1, Ordering::Relaxed) + 1;
        let body: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
        if let Some(tap) = &*self.tap.lock().unwrap_or_else(|p| p.into_inner()) {
            tap(&body);
        }
        let scripted = match self.script.lock() {
            Ok(mut state) => state.take(&body),
            Err(poisoned) => poisoned.into_inner().take(&body),
        };
        match scripted {
            Some(entry) => entry.template(n),
            None => directive::reply(n, &body),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// POSTs `body` to the mock over plain HTTP/1.1; returns the status and the body text.
    async fn post(model: &MockModel, body: Value) -> (u16, String) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let url = model.base_url();
        let host = url.trim_start_matches("http://").trim_end_matches("/v1");
        let mut stream = tokio::net::TcpStream::connect(host).await.unwrap();
        let body = body.to_string();
        let head = format!(
            "POST /v1/responses HTTP/1.1\r\nhost: {host}\r\nx-probe: p\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
            body.len()
        );
        stream.write_all(head.as_bytes()).await.unwrap();
        stream.write_all(body.as_bytes()).await.unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).await.unwrap();
        let status = answer[9..12].parse().unwrap();
        (status, answer)
    }

    #[tokio::test]
    async fn a_script_answers_first_then_directives_take_over_and_requests_are_kept() {
        let script: ModelScript = toml::from_str(
            r#"
            [[responses]]
            function_call = { name = "exec_command", arguments = { cmd = "ls" } }
            [[responses]]
            error = 503
            delay = "300ms"
            "#,
        )
        .unwrap();
        let model = MockModel::start_scripted(script).await;
        let user = |t: &str| json!({"input": [{"role": "user", "content": [{"type": "input_text", "text": t}]}]});
        let (status, text) = post(&model, user("[[say:no]]")).await;
        assert_eq!(status, 200);
        assert!(text.contains("\"name\":\"exec_command\"") && !text.contains("no"));
        let started = std::time::Instant::now();
        let (status, _) = post(&model, user("hi")).await;
        assert_eq!(status, 503);
        assert!(started.elapsed() >= std::time::Duration::from_millis(300));
        let (status, text) = post(&model, user("[[say:free]]")).await;
        assert_eq!(status, 200);
        assert!(
            text.contains("free"),
            "directives answer once the script is spent"
        );
        let requests = model.requests().await;
        assert_eq!(requests.len(), 3);
        assert_eq!(requests[1].body["input"][0]["content"][0]["text"], "hi");
        assert_eq!(requests[0].headers["x-probe"], "p");
        assert_eq!(model.request_bodies().await.len(), 3);
    }
}
