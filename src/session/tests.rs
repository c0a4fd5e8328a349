//! Unit tests of the session over an in-memory connection.

use super::*;
use crate::jsonrpc::RpcError;
use crate::transport::{memory, Inbound};
use pretty_assertions::assert_eq;
use serde_json::json;

const SHORT: Duration = Duration::from_millis(200);

/// A handler that refuses every server request with -32601.
struct RefuseAll;

impl ServerRequestHandler for RefuseAll {
    fn answer(&self, request: &ServerRequest) -> Option<Reply> {
        Some(Err(RpcError::new(
            -32601,
            format!("no policy for {}", request.method),
        )))
    }
}

async fn next_message(server: &mut Connection) -> Message {
    match tokio::time::timeout(SHORT, server.recv()).await {
        Ok(Some(Inbound::Message(m))) => m,
        other => panic!("expected a message, got {other:?}"),
    }
}

#[tokio::test]
async fn correlates_out_of_order_responses_by_id() {
    let (client, mut server) = memory::pair();
    let session = Arc::new(Session::start(client, Arc::new(QueueServerRequests)));
    let a = tokio::spawn({
        let s = session.clone();
        async move { s.request("a", Some(json!({})), SHORT).await }
    });
    let first = next_message(&mut server).await;
    let b = tokio::spawn({
        let s = session.clone();
        async move { s.request("b", None, SHORT).await }
    });
    let second = next_message(&mut server).await;
    let id_of = |m: &Message| match m {
        Message::Request { id, .. } => id.clone(),
        other => panic!("not a request: {other:?}"),
    };
    server
        .send(&Message::Response {
            id: id_of(&second),
            result: json!("B"),
        })
        .unwrap();
    server
        .send(&Message::Error {
            id: id_of(&first),
            error: RpcError::new(-32600, "no"),
        })
        .unwrap();
    assert_eq!(b.await.unwrap().unwrap(), Ok(json!("B")));
    assert_eq!(a.await.unwrap().unwrap(), Err(RpcError::new(-32600, "no")));
}

#[tokio::test]
async fn a_request_without_response_times_out() {
    let (client, _server) = memory::pair();
    let session = Session::start(client, Arc::new(QueueServerRequests));
    let err = session
        .request("thread/list", Some(json!({})), SHORT)
        .await
        .unwrap_err();
    assert_eq!(err.to_string(), "no response to thread/list within 200ms");
}

#[tokio::test]
async fn a_closed_connection_wakes_every_waiter_with_the_reason() {
    let (client, server) = memory::pair();
    let session = Session::start(client, Arc::new(QueueServerRequests));
    let wait = session.request("x", None, Duration::from_secs(5));
    let killer = async {
        tokio::time::sleep(Duration::from_millis(20)).await;
        drop(server);
    };
    let (reply, ()) = tokio::join!(wait, killer);
    assert_eq!(
        reply.unwrap_err().to_string(),
        "connection closed while waiting for x: peer dropped"
    );
    let err = session
        .await_notification("turn/completed", SHORT, |_| true)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("peer dropped"), "{err}");
}

#[tokio::test]
async fn server_requests_are_answered_before_reading_on_or_queued() {
    let (client, mut server) = memory::pair();
    let session = Session::start(client, Arc::new(RefuseAll));
    server
        .send(&Message::request(
            RequestId::Int(0),
            "item/unknown",
            Some(json!({})),
        ))
        .unwrap();
    let answer = next_message(&mut server).await;
    assert_eq!(
        answer,
        Message::Error {
            id: RequestId::Int(0),
            error: RpcError::new(-32601, "no policy for item/unknown")
        }
    );
    assert_eq!(session.answered().len(), 1);

    let (client, server) = memory::pair();
    let session = Session::start(client, Arc::new(QueueServerRequests));
    server
        .send(&Message::request(RequestId::Int(0), "ask", None))
        .unwrap();
    let req = session
        .await_server_request("ask", SHORT, |r| r.method == "ask")
        .await
        .unwrap();
    assert_eq!(req.id, RequestId::Int(0));
    assert!(session.take_unanswered().is_empty());
}

#[tokio::test]
async fn notifications_are_buffered_and_taken_by_match() {
    let (client, server) = memory::pair();
    let session = Session::start(client, Arc::new(QueueServerRequests));
    for method in ["configWarning", "remoteControl/status/changed"] {
        server
            .send(&Message::notification(method, Some(json!({}))))
            .unwrap();
    }
    server.send_text("{not json".into()).unwrap();
    let got = session
        .await_notification("remoteControl", SHORT, |n| {
            n.method.starts_with("remoteControl")
        })
        .await
        .unwrap();
    assert_eq!(got.seq, 1);
    let left: Vec<_> = session
        .buffered_notifications()
        .into_iter()
        .map(|n| n.method)
        .collect();
    assert_eq!(left, vec!["configWarning".to_owned()]);
    assert_eq!(session.malformed().len(), 1);
}

#[tokio::test]
async fn initialize_is_sent_exactly_once() {
    let (client, mut server) = memory::pair();
    let session = Arc::new(Session::start(client, Arc::new(QueueServerRequests)));
    let info = ClientInfo::named("cas-test");
    let init = tokio::spawn({
        let (s, info) = (session.clone(), info.clone());
        async move { s.initialize(&info, SHORT).await }
    });
    let Message::Request { id, method, .. } = next_message(&mut server).await else {
        panic!("expected initialize request")
    };
    assert_eq!(method, "initialize");
    let result = json!({"userAgent":"x/0.169.0 (y)","codexHome":"/h","platformFamily":"unix","platformOs":"linux"});
    server.send(&Message::Response { id, result }).unwrap();
    assert_eq!(
        init.await.unwrap().unwrap().server_version(),
        Some("0.169.0")
    );
    assert_eq!(
        next_message(&mut server).await,
        Message::notification("initialized", None)
    );
    let again = session.initialize(&info, SHORT).await.unwrap_err();
    assert!(matches!(again, SessionError::AlreadyInitialized));
}

#[tokio::test]
async fn requests_in_flight_are_capped() {
    let (client, mut server) = memory::pair();
    let session = Arc::new(Session::with_max_in_flight(
        client,
        Arc::new(QueueServerRequests),
        2,
    ));
    let mut waiting = Vec::new();
    for _ in 0..3 {
        let s = session.clone();
        waiting.push(tokio::spawn(async move {
            s.request("x", None, Duration::from_secs(2)).await
        }));
    }
    let first = next_message(&mut server).await;
    let _second = next_message(&mut server).await;
    assert!(
        tokio::time::timeout(Duration::from_millis(100), server.recv())
            .await
            .is_err(),
        "a third request went out while two were in flight"
    );
    let Message::Request { id, .. } = first else {
        panic!("not a request")
    };
    server
        .send(&Message::Response {
            id,
            result: json!(1),
        })
        .unwrap();
    assert!(matches!(
        next_message(&mut server).await,
        Message::Request { .. }
    ));
}

#[tokio::test]
async fn a_refused_initialize_may_be_tried_again() {
    let (client, mut server) = memory::pair();
    let session = Arc::new(Session::start(client, Arc::new(QueueServerRequests)));
    let info = ClientInfo::named("cas-test");
    for answer_ok in [false, true] {
        let init = tokio::spawn({
            let (s, info) = (session.clone(), info.clone());
            async move { s.initialize(&info, SHORT).await }
        });
        let Message::Request { id, .. } = next_message(&mut server).await else {
            panic!("expected initialize")
        };
        let reply = if answer_ok {
            Message::Response {
                id,
                result: json!({"userAgent":"x/1 (y)","codexHome":"/h","platformFamily":"unix","platformOs":"linux"}),
            }
        } else {
            Message::Error {
                id,
                error: RpcError::new(-32600, "Invalid request: missing field `version`"),
            }
        };
        server.send(&reply).unwrap();
        let outcome = init.await.unwrap();
        assert_eq!(outcome.is_ok(), answer_ok, "{outcome:?}");
    }
    assert!(matches!(
        session.initialize(&info, SHORT).await,
        Err(SessionError::AlreadyInitialized)
    ));
}

#[tokio::test]
async fn past_the_inbox_cap_the_oldest_notifications_are_dropped_and_counted() {
    let (client, server) = memory::pair();
    let limits = InboxLimits {
        max_notifications: 3,
        max_bytes: usize::MAX,
    };
    let handler = Arc::new(QueueServerRequests);
    let session = Session::with_limits(client, handler, 4, None, limits);
    for i in 0..5 {
        server
            .send(&Message::notification(format!("n/{i}"), None))
            .unwrap();
    }
    server.send_text(r#"{"id":99,"result":{}}"#.into()).unwrap();
    server.send_text("{oops".into()).unwrap();
    let malformed = |i: &Inbox| !i.counters.malformed_lines.is_empty();
    session
        .wait_for("the bad line", SHORT, |i| malformed(i).then_some(()))
        .await
        .unwrap();
    let kept: Vec<String> = session
        .buffered_notifications()
        .into_iter()
        .map(|n| n.method)
        .collect();
    assert_eq!(kept, ["n/2", "n/3", "n/4"]);
    let counters = session.counters();
    assert_eq!(counters.dropped_notifications.count, 2);
    assert_eq!(counters.dropped_notifications.samples, ["n/0", "n/1"]);
    assert_eq!(counters.stray_responses.samples, ["99"]);
    assert_eq!(counters.malformed_lines.count, 1);
    assert!(counters.oversized_lines.is_empty());
}
