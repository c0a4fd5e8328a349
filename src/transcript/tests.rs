//! The transcript end to end on an in-memory connection: both directions, verbatim frames.

use serde_json::{json, Value};
use std::time::Duration;

use super::*;
use crate::jsonrpc::{Message, RequestId};
use crate::transport::{memory, Inbound};

fn records(transcript: &Transcript) -> Vec<Value> {
    transcript
        .memory_lines()
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[tokio::test]
async fn records_both_directions_verbatim_with_routing_keys() {
    let (client, mut server) = memory::pair();
    let transcript = Transcript::in_memory("test", false);
    client.attach_tap(transcript.tap("main"));
    client
        .send(&Message::request(
            RequestId::Int(1),
            "thread/start",
            Some(json!({})),
        ))
        .unwrap();
    assert!(matches!(server.recv().await, Some(Inbound::Message(_))));
    let answer = r#"{"id":1, "result":{"thread":{"id":"t-1"},"z":1,"a":2},"extra":true}"#;
    server.send_text(answer.into()).unwrap();
    server.send_text("{oops".into()).unwrap();
    server
        .send_text(r#"{"method":"item/started","params":{"threadId":"t-1","turnId":"u","item":{"id":"i"}}}"#.into())
        .unwrap();
    drop(server);
    let mut client = client;
    while !matches!(client.recv().await, Some(Inbound::Closed(_)) | None) {}
    transcript.note(Some("main"), "done");
    let lines = transcript.memory_lines();
    let got = records(&transcript);
    assert_eq!(got[0]["event"], "start");
    assert_eq!(got[0]["schema"], SCHEMA);
    assert_eq!(got[1]["event"], "send");
    assert_eq!(got[1]["method"], "thread/start");
    assert_eq!(got[2]["event"], "recv");
    assert_eq!(got[2]["kind"], "response");
    assert_eq!(
        got[2]["method"], "thread/start",
        "the response names its request"
    );
    assert_eq!(got[2]["threadId"], "t-1");
    assert!(
        lines[2].contains(answer),
        "kept byte for byte: {}",
        lines[2]
    );
    assert_eq!(got[3]["kind"], "malformed");
    assert_eq!(got[3]["text"], "{oops");
    assert_eq!(
        (&got[4]["threadId"], &got[4]["turnId"], &got[4]["itemId"]),
        (&json!("t-1"), &json!("u"), &json!("i"))
    );
    assert_eq!(got[5]["event"], "closed");
    assert_eq!(got[6]["event"], "note");
}

#[tokio::test]
async fn a_review_log_leaves_server_request_params_out_and_appends_to_its_file() {
    let (client, server) = memory::pair();
    let transcript = Transcript::in_memory("review", true);
    client.attach_tap(transcript.tap("lane"));
    server
        .send_text(r#"{"id":0,"method":"item/commandExecution/requestApproval","params":{"command":"secret"}}"#.into())
        .unwrap();
    let mut client = client;
    assert!(matches!(client.recv().await, Some(Inbound::Message(_))));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sub/log.ndjson");
    transcript.attach_file(&path).unwrap();
    transcript.note(None, "after");
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(!text.contains("secret"), "{text}");
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[1]["redacted"], true);
    assert_eq!(lines[1]["method"], "item/commandExecution/requestApproval");
    assert_eq!(transcript.path(), Some(path));
    drop(server);
}

#[tokio::test]
async fn frames_sent_before_the_tap_are_not_lost_when_it_comes_at_once() {
    let (client, server) = memory::pair();
    server.send_text(r#"{"method":"early"}"#.into()).unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    let transcript = Transcript::in_memory("t", false);
    client.attach_tap(transcript.tap("main"));
    let got = records(&transcript);
    assert_eq!(got[1]["method"], "early", "{got:?}");
    drop(server);
}

#[test]
fn model_requests_and_instance_paths() {
    let transcript = Transcript::in_memory("t", false);
    (transcript.model_tap())(&json!({"input": []}));
    let got = records(&transcript);
    assert_eq!(got[1]["event"], "model_request");
    assert_eq!(got[1]["body"], json!({"input": []}));
    assert_eq!(
        instance_path(std::path::Path::new("/x/events.ndjson"), 3),
        std::path::Path::new("/x/events-3.ndjson")
    );
    assert_eq!(
        instance_path(std::path::Path::new("log"), 1),
        std::path::Path::new("log-1")
    );
}
