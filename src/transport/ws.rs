//! JSON-RPC over a websocket: one message per text frame, on real loopback sockets.
//!
//! The client sends `Authorization: Bearer <token>` when given a token and never an `Origin`
//! header (codex answers 403 to one). The server side (used by the fake app-server) checks the
//! same header and answers 401 with codex's messages when it is wrong.

use futures_util::{SinkExt, StreamExt};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::error::CapacityError;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::{HeaderValue, StatusCode};
use tokio_tungstenite::tungstenite::protocol::{Message as Frame, WebSocketConfig};
use tokio_tungstenite::tungstenite::Error as Tungstenite;
use tokio_tungstenite::WebSocketStream;

use super::{decode_inbound, Connection, Inbound, TapKind, TapSlot};
use crate::errors::{DecodeError, TransportError, WsError};

/// Connects to `url`, presenting `token` as a bearer token when given, within `deadline`;
/// inbound messages are capped at [`super::max_message_bytes`].
pub async fn connect(
    url: &str,
    token: Option<&str>,
    deadline: Duration,
) -> Result<Connection, TransportError> {
    connect_limited(url, token, deadline, super::max_message_bytes()).await
}

/// Like [`connect`], with inbound messages (and frames) capped at `max_message` bytes: a larger
/// one is reported as [`Inbound::Oversized`] and, as a websocket cannot skip it, ends the
/// connection.
pub async fn connect_limited(
    url: &str,
    token: Option<&str>,
    deadline: Duration,
    max_message: usize,
) -> Result<Connection, TransportError> {
    let connect_err = |e| TransportError::Connect {
        url: url.to_owned(),
        source: WsError(e),
    };
    let mut request = url.into_client_request().map_err(connect_err)?;
    if let Some(token) = token {
        let value = HeaderValue::from_str(&format!("Bearer {token}")).map_err(|_| {
            TransportError::BadToken {
                url: url.to_owned(),
            }
        })?;
        request.headers_mut().insert("authorization", value);
    }
    let config = WebSocketConfig::default()
        .max_message_size(Some(max_message))
        .max_frame_size(Some(max_message));
    let attempt = tokio_tungstenite::connect_async_with_config(request, Some(config), false);
    let (stream, _response) = match tokio::time::timeout(deadline, attempt).await {
        Err(_) => {
            return Err(TransportError::ConnectTimeout {
                url: url.to_owned(),
                after: deadline,
            })
        }
        Ok(Err(e)) => return Err(connect_err(e)),
        Ok(Ok(pair)) => pair,
    };
    Ok(from_stream(url.to_owned(), stream))
}

/// Accepts a websocket upgrade on `stream`, requiring `Authorization: Bearer <token>` if a token is set.
#[allow(clippy::result_large_err)] // the header callback's signature is tungstenite's
pub async fn accept<S>(
    stream: S,
    token: Option<String>,
) -> Result<WebSocketStream<S>, TransportError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let check = move |request: &Request, response: Response| -> Result<Response, ErrorResponse> {
        if request.headers().contains_key("origin") {
            return Err(refusal(
                StatusCode::FORBIDDEN,
                "origin header is not allowed",
            ));
        }
        let Some(expected) = token.as_deref() else {
            return Ok(response);
        };
        let Some(header) = request.headers().get("authorization") else {
            return Err(refusal(
                StatusCode::UNAUTHORIZED,
                "missing websocket bearer token",
            ));
        };
        let header = header.to_str().unwrap_or_default();
        let Some((scheme, presented)) = header.split_once(' ') else {
            return Err(refusal(
                StatusCode::UNAUTHORIZED,
                "invalid authorization header",
            ));
        };
        if !scheme.eq_ignore_ascii_case("bearer") {
            return Err(refusal(
                StatusCode::UNAUTHORIZED,
                "invalid authorization header",
            ));
        }
        if presented.trim() != expected {
            return Err(refusal(
                StatusCode::UNAUTHORIZED,
                "invalid websocket bearer token",
            ));
        }
        Ok(response)
    };
    tokio_tungstenite::accept_hdr_async(stream, check)
        .await
        .map_err(|e| TransportError::Connect {
            url: "incoming websocket".into(),
            source: WsError(e),
        })
}

fn refusal(status: StatusCode, message: &str) -> ErrorResponse {
    let mut response = ErrorResponse::new(Some(message.to_owned()));
    *response.status_mut() = status;
    response
}

/// A binary frame, which the protocol does not use: shown to the tap, reported as malformed.
fn binary_frame(len: usize, tap: &TapSlot) -> Inbound {
    let error = DecodeError::BinaryFrame { len };
    tap.event(TapKind::Unreadable, &error.to_string());
    Inbound::Malformed(error)
}

/// Why the peer closed, from its close frame.
fn close_reason(frame: Option<tokio_tungstenite::tungstenite::protocol::CloseFrame>) -> String {
    match frame {
        Some(f) => format!("websocket closed by peer ({} {})", f.code, f.reason),
        None => "websocket closed by peer".to_owned(),
    }
}

/// Wraps an open websocket as a connection.
pub fn from_stream<S>(label: String, stream: WebSocketStream<S>) -> Connection
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (mut sink, mut source) = stream.split();
    let (out_tx, mut out_rx) = mpsc::unbounded_channel::<String>();
    let (in_tx, in_rx) = mpsc::channel::<Inbound>(super::INBOUND_QUEUE);
    let tap = TapSlot::default();
    let reader_tap = tap.clone();
    let reader = tokio::spawn(async move {
        let tap = reader_tap;
        let reason = loop {
            let item = match source.next().await {
                None => break "websocket stream ended".to_owned(),
                Some(Err(Tungstenite::Capacity(CapacityError::MessageTooLong {
                    size,
                    max_size,
                }))) => {
                    let what = format!("a message of {size} bytes over the cap");
                    tap.event(TapKind::Unreadable, &what);
                    let _ = in_tx.send(Inbound::Oversized(size as u64)).await;
                    break format!(
                        "websocket message of {size} bytes is over the {max_size}-byte cap"
                    );
                }
                Some(Err(e)) => break format!("websocket error: {}", WsError(e)),
                Some(Ok(frame)) => match frame {
                    Frame::Text(text) => decode_inbound(text.as_str(), &tap),
                    Frame::Binary(bytes) => binary_frame(bytes.len(), &tap),
                    Frame::Close(frame) => break close_reason(frame),
                    Frame::Ping(_) | Frame::Pong(_) | Frame::Frame(_) => continue,
                },
            };
            if in_tx.send(item).await.is_err() {
                return;
            }
        };
        tap.event(TapKind::Closed, &reason);
        let _ = in_tx.send(Inbound::Closed(reason)).await;
    });
    let writer = tokio::spawn(async move {
        while let Some(text) = out_rx.recv().await {
            if sink.feed(Frame::text(text)).await.is_err() {
                return;
            }
            if out_rx.is_empty() && sink.flush().await.is_err() {
                return;
            }
        }
        let _ = sink.close().await;
    });
    Connection::new(label, out_tx, in_rx, reader, Some(writer), tap)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jsonrpc::{Message, RequestId};
    use tokio::net::TcpListener;

    /// A one-connection echo server that requires `token`.
    async fn echo_server(token: &str) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("ws://{}", listener.local_addr().unwrap());
        let token = token.to_owned();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let Ok(socket) = accept(stream, Some(token.clone())).await else {
                    continue;
                };
                let mut conn = from_stream("echo".into(), socket);
                while let Some(Inbound::Message(m)) = conn.recv().await {
                    conn.send(&m).unwrap();
                }
            }
        });
        url
    }

    #[tokio::test]
    async fn bearer_token_is_sent_and_checked() {
        let url = echo_server("s3cret").await;
        let deadline = Duration::from_secs(5);
        for (token, refusal) in [
            (None, "HTTP 401: missing websocket bearer token"),
            (Some("wrong"), "HTTP 401: invalid websocket bearer token"),
        ] {
            let err = connect(&url, token, deadline).await.err().expect("refused");
            let shown = crate::errors::Chain(&err).to_string();
            assert!(shown.contains(refusal), "{shown}");
        }
        let mut conn = connect(&url, Some("s3cret"), deadline).await.unwrap();
        let ping = Message::request(RequestId::Int(1), "x", None);
        conn.send(&ping).unwrap();
        match conn.recv().await {
            Some(Inbound::Message(m)) => assert_eq!(m, ping),
            other => panic!("got {other:?}"),
        }
    }
}
