//! Unit tests of the fake server over an in-memory connection.

use super::*;
use crate::transport::memory;
use pretty_assertions::assert_eq;
use std::time::Duration;

fn script(toml_text: &str) -> Arc<FakeScript> {
    Arc::new(toml::from_str(toml_text).unwrap())
}

struct Client {
    conn: Connection,
    next: i64,
}

impl Client {
    fn start(script: Arc<FakeScript>) -> (Client, tokio::task::JoinHandle<ServeEnd>) {
        let (client, server) = memory::pair();
        (
            Client {
                conn: client,
                next: 1,
            },
            tokio::spawn(serve(server, script)),
        )
    }

    async fn recv(&mut self) -> Message {
        match tokio::time::timeout(Duration::from_secs(1), self.conn.recv()).await {
            Ok(Some(Inbound::Message(m))) => m,
            other => panic!("expected a message, got {other:?}"),
        }
    }

    async fn call(&mut self, method: &str, params: Option<Value>) -> Result<Value, RpcError> {
        let id = RequestId::Int(self.next);
        self.next += 1;
        self.conn
            .send(&Message::request(id.clone(), method, params))
            .unwrap();
        match self.recv().await {
            Message::Response { id: got, result } if got == id => Ok(result),
            Message::Error { id: got, error } if got == id => Err(error),
            other => panic!("expected the answer to {method}, got {other:?}"),
        }
    }

    async fn init(&mut self, experimental: bool) -> Value {
        let params = json!({"clientInfo": {"name": "t", "version": "1"}, "capabilities": {"experimentalApi": experimental}});
        self.call("initialize", Some(params)).await.unwrap()
    }
}

fn message(r: Result<Value, RpcError>) -> String {
    r.unwrap_err().message
}

#[tokio::test]
async fn keeps_codex_gate_order_and_messages() {
    let (mut c, _task) = Client::start(script(
        "[[rules]]\nmethod = \"thread/list\"\nresult = { data = [] }\n",
    ));
    assert_eq!(
        message(c.call("thread/list", Some(json!({}))).await),
        "Not initialized"
    );
    assert_eq!(
        message(c.call("thread/list", None).await),
        "Invalid request: missing field `params`"
    );
    assert!(message(c.call("no/such", Some(json!({}))).await)
        .starts_with("Invalid request: unknown variant `no/such`"));
    let init = c.init(false).await;
    assert_eq!(
        init["userAgent"],
        "t/0.169.0 (cas fake server; x86_64) (t; 1)"
    );
    assert_eq!(
        c.call("thread/list", Some(json!({}))).await,
        Ok(json!({"data": []}))
    );
    assert_eq!(
        message(c.call("collaborationMode/list", Some(json!({}))).await),
        "collaborationMode/list requires experimentalApi capability"
    );
    assert_eq!(
        message(
            c.call(
                "initialize",
                Some(json!({"clientInfo": {"name": "t", "version": "1"}}))
            )
            .await
        ),
        "Already initialized"
    );
    let unscripted = c.call("model/list", Some(json!({}))).await.unwrap_err();
    assert_eq!(unscripted.code, -32603);
}

#[tokio::test]
async fn rules_match_params_count_uses_and_send_scripted_messages() {
    let text = r#"
[[after_initialize]]
notify = { method = "hello", params = { n = 1 } }
[[rules]]
method = "thread/read"
when_params = { threadId = "a" }
result = { which = "a" }
times = 1
then = [{ request = { method = "item/tool/call", params = { x = 1 } } }, { request = { method = "item/tool/call" } }]
[[rules]]
method = "thread/read"
error = { code = -32600, message = "thread not loaded: b" }
"#;
    let (mut c, _task) = Client::start(script(text));
    c.init(false).await;
    assert!(
        matches!(c.recv().await, Message::Notification { method, emitted_at_ms: Some(_), .. } if method == "hello")
    );
    assert_eq!(
        c.call("thread/read", Some(json!({"threadId": "a"}))).await,
        Ok(json!({"which": "a"}))
    );
    for want in [0, 1] {
        assert!(
            matches!(c.recv().await, Message::Request { id: RequestId::Int(n), .. } if n == want)
        );
    }
    // The first rule is used up; the second answers.
    assert_eq!(
        message(c.call("thread/read", Some(json!({"threadId": "a"}))).await),
        "thread not loaded: b"
    );
}

#[tokio::test]
async fn echoes_the_clients_answers_to_server_requests() {
    let (mut c, _task) = Client::start(script(""));
    c.conn
        .send(&Message::Response {
            id: RequestId::Int(0),
            result: json!({"decision": "decline"}),
        })
        .unwrap();
    let echo = c.recv().await;
    assert_eq!(
        echo,
        Message::notification(
            ANSWER_ECHO,
            Some(json!({"id": 0, "result": {"decision": "decline"}}))
        )
    );
}

#[tokio::test]
async fn a_crash_rule_ends_serving_without_an_answer() {
    let (mut c, task) = Client::start(script(
        "[[rules]]\nmethod = \"thread/list\"\naction = \"crash\"\n",
    ));
    c.init(false).await;
    c.conn
        .send(&Message::request(
            RequestId::Int(9),
            "thread/list",
            Some(json!({})),
        ))
        .unwrap();
    assert_eq!(task.await.unwrap(), ServeEnd::Crash);
}

#[tokio::test]
async fn faults_break_the_rules_on_purpose() {
    let (mut c, _task) = Client::start(script("faults = [\"serve_before_initialize\", \"accept_second_initialize\"]\n[[rules]]\nmethod = \"thread/list\"\n"));
    assert_eq!(c.call("thread/list", Some(json!({}))).await, Ok(json!({})));
    c.init(false).await;
    c.init(false).await;
}

#[tokio::test]
async fn null_marker_is_sent_as_null_in_results_errors_and_notifications() {
    let text = r#"
[[rules]]
method = "thread/read"
times = 1
result = { cursor = "$null" }
then = [{ notify = { method = "thread/section/changed", params = { sectionId = "$null" } } }]
[[rules]]
method = "thread/read"
error = { code = -32600, message = "read state changed", data = { firstUnread = "$null" } }
"#;
    let (mut c, _task) = Client::start(script(text));
    c.init(false).await;
    let answer = c.call("thread/read", Some(json!({}))).await;
    assert_eq!(answer, Ok(json!({"cursor": null})));
    assert!(
        matches!(c.recv().await, Message::Notification { params: Some(p), .. } if p == json!({"sectionId": null}))
    );
    let error = c.call("thread/read", Some(json!({}))).await.unwrap_err();
    assert_eq!(error.data, Some(json!({"firstUnread": null})));
}
