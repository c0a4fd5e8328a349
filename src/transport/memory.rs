//! An in-memory connection pair for unit tests: no process, no socket.
//!
//! Text still goes through the codec, so encoding bugs show up here too. When one end is
//! dropped the other receives `Closed("peer dropped")`. Needs a tokio runtime.

use tokio::sync::mpsc;

use super::{decode_inbound, Connection, Inbound, TapKind, TapSlot};

/// Two connected ends, `(client, server)`.
pub fn pair() -> (Connection, Connection) {
    let (client_out, client_to_server) = mpsc::unbounded_channel::<String>();
    let (server_out, server_to_client) = mpsc::unbounded_channel::<String>();
    let (client_in_tx, client_in) = mpsc::channel::<Inbound>(super::INBOUND_QUEUE);
    let (server_in_tx, server_in) = mpsc::channel::<Inbound>(super::INBOUND_QUEUE);
    let (client_tap, server_tap) = (TapSlot::default(), TapSlot::default());
    let to_server = tokio::spawn(pump(client_to_server, server_in_tx, server_tap.clone()));
    let to_client = tokio::spawn(pump(server_to_client, client_in_tx, client_tap.clone()));
    (
        Connection::new(
            "memory:server",
            client_out,
            client_in,
            to_client,
            None,
            client_tap,
        ),
        Connection::new(
            "memory:client",
            server_out,
            server_in,
            to_server,
            None,
            server_tap,
        ),
    )
}

async fn pump(mut rx: mpsc::UnboundedReceiver<String>, tx: mpsc::Sender<Inbound>, tap: TapSlot) {
    while let Some(text) = rx.recv().await {
        if tx.send(decode_inbound(&text, &tap)).await.is_err() {
            return;
        }
    }
    tap.event(TapKind::Closed, "peer dropped");
    let _ = tx.send(Inbound::Closed("peer dropped".to_owned())).await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jsonrpc::{Message, RequestId};

    #[tokio::test]
    async fn carries_messages_both_ways_and_reports_close() {
        let (mut client, mut server) = pair();
        let req = Message::request(RequestId::Int(1), "x", None);
        client.send(&req).unwrap();
        match server.recv().await {
            Some(Inbound::Message(m)) => assert_eq!(m, req),
            other => panic!("got {other:?}"),
        }
        server.send_text("{oops".into()).unwrap();
        assert!(matches!(client.recv().await, Some(Inbound::Malformed(_))));
        drop(server);
        match client.recv().await {
            Some(Inbound::Closed(reason)) => assert_eq!(reason, "peer dropped"),
            other => panic!("got {other:?}"),
        }
    }
}
