//! JSON-RPC messages as codex app-server speaks them: JSON-RPC 2.0 without the `"jsonrpc"` field.
//!
//! Decoding is tolerant (a `"jsonrpc"` key and unknown fields are accepted and ignored) and
//! classifies a line the way the server does: request = valid id + method, notification = method
//! without a valid id, response = id + result, error = id + error. Encoding never writes
//! `"jsonrpc"`. One message is one line (stdio) or one text frame (websocket).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::fmt;

/// A line or frame that is not a JSON-RPC message.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    /// The text is not JSON.
    #[error("malformed JSON: {snippet}")]
    Json {
        /// The start of the offending text.
        snippet: String,
        /// What the JSON parser said.
        #[source]
        source: serde_json::Error,
    },
    /// The text is JSON but none of the four message shapes.
    #[error("not a JSON-RPC message ({reason}): {snippet}")]
    Shape {
        /// The start of the offending text.
        snippet: String,
        /// Why it is none of the four shapes.
        reason: &'static str,
    },
    /// A line that is not UTF-8 text.
    #[error("a line of {len} bytes that is not UTF-8")]
    NotUtf8 {
        /// Its length.
        len: usize,
    },
    /// A websocket binary frame, which the protocol does not use.
    #[error("binary websocket frame of {len} bytes")]
    BinaryFrame {
        /// Its length.
        len: usize,
    },
    /// A long line could not be set aside on disk while it streamed, so it was skipped.
    #[error("a line of {len} bytes could not be set aside while it streamed")]
    Spill {
        /// Its length so far.
        len: usize,
        /// What the file system said.
        #[source]
        source: std::io::Error,
    },
}

/// A request id: a JSON integer or a JSON string (floats and null are not ids).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(untagged)]
pub enum RequestId {
    /// An integer id; the server numbers its own requests 0, 1, 2, … per connection.
    Int(i64),
    /// A string id, echoed verbatim.
    Str(String),
}

impl RequestId {
    /// Reads an id from a JSON value, refusing floats, null and everything else.
    pub fn from_value(value: &Value) -> Option<RequestId> {
        match value {
            Value::Number(n) => n.as_i64().map(RequestId::Int),
            Value::String(s) => Some(RequestId::Str(s.clone())),
            _ => None,
        }
    }

    /// The id as a JSON value.
    pub fn to_value(&self) -> Value {
        match self {
            RequestId::Int(n) => Value::from(*n),
            RequestId::Str(s) => Value::from(s.clone()),
        }
    }
}

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RequestId::Int(n) => write!(f, "{n}"),
            RequestId::Str(s) => write!(f, "{s:?}"),
        }
    }
}

/// The error object of an error response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RpcError {
    /// The JSON-RPC error code (`-32600` for almost everything, `-32001` for overload).
    pub code: i64,
    /// The human-readable message; codex puts the meaning here, so classify by it too.
    pub message: String,
    /// Optional structured data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<Value>,
}

impl RpcError {
    /// Builds an error without data.
    pub fn new(code: i64, message: impl Into<String>) -> RpcError {
        RpcError {
            code,
            message: message.into(),
            data: None,
        }
    }

    /// The error as a JSON value (`{"code", "message", "data"?}`).
    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

impl fmt::Display for RpcError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {:?}", self.code, self.message)
    }
}

/// One JSON-RPC message in either direction.
#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    /// A request that expects a response with the same id.
    Request {
        /// The id the response must echo.
        id: RequestId,
        /// The method name, e.g. `thread/start`.
        method: String,
        /// The params; `None` omits the key (codex then refuses struct-params methods).
        params: Option<Value>,
    },
    /// A message that expects no response.
    Notification {
        /// The method name, e.g. `turn/completed`.
        method: String,
        /// The params, if any.
        params: Option<Value>,
        /// Server notifications carry a top-level `emittedAtMs`.
        emitted_at_ms: Option<i64>,
    },
    /// A successful response.
    Response {
        /// The id of the request answered.
        id: RequestId,
        /// The result; `{}` for empty results.
        result: Value,
    },
    /// An error response.
    Error {
        /// The id of the request answered.
        id: RequestId,
        /// What went wrong.
        error: RpcError,
    },
}

impl Message {
    /// Builds a request.
    pub fn request(id: RequestId, method: impl Into<String>, params: Option<Value>) -> Message {
        Message::Request {
            id,
            method: method.into(),
            params,
        }
    }

    /// Builds a client notification (no `emittedAtMs`).
    pub fn notification(method: impl Into<String>, params: Option<Value>) -> Message {
        Message::Notification {
            method: method.into(),
            params,
            emitted_at_ms: None,
        }
    }

    /// The method of a request or notification.
    pub fn method(&self) -> Option<&str> {
        match self {
            Message::Request { method, .. } | Message::Notification { method, .. } => Some(method),
            _ => None,
        }
    }

    /// Decodes one line or text frame.
    pub fn decode(text: &str) -> Result<Message, DecodeError> {
        let value: Value = serde_json::from_str(text).map_err(|source| DecodeError::Json {
            snippet: snippet(text),
            source,
        })?;
        Message::from_value(value).map_err(|reason| DecodeError::Shape {
            snippet: snippet(text),
            reason,
        })
    }

    /// Classifies a parsed JSON value as one of the four message kinds.
    pub fn from_value(value: Value) -> Result<Message, &'static str> {
        let Value::Object(mut obj) = value else {
            return Err("not a JSON object");
        };
        let id = obj.get("id").and_then(RequestId::from_value);
        if let Some(method) = obj.get("method").and_then(Value::as_str).map(str::to_owned) {
            let params = obj.remove("params");
            return Ok(match id {
                Some(id) => Message::Request { id, method, params },
                None => Message::Notification {
                    method,
                    params,
                    emitted_at_ms: obj.get("emittedAtMs").and_then(Value::as_i64),
                },
            });
        }
        let id = id.ok_or("no method and no valid id")?;
        if let Some(result) = obj.remove("result") {
            return Ok(Message::Response { id, result });
        }
        let error = obj.remove("error").ok_or("id without result or error")?;
        let error: RpcError =
            serde_json::from_value(error).map_err(|_| "error is not {code, message}")?;
        Ok(Message::Error { id, error })
    }

    /// The message as a JSON object, never with a `"jsonrpc"` key.
    pub fn to_value(&self) -> Value {
        let mut obj = Map::new();
        match self {
            Message::Request { id, method, params } => {
                obj.insert("id".into(), id.to_value());
                obj.insert("method".into(), Value::from(method.clone()));
                if let Some(params) = params {
                    obj.insert("params".into(), params.clone());
                }
            }
            Message::Notification {
                method,
                params,
                emitted_at_ms,
            } => {
                obj.insert("method".into(), Value::from(method.clone()));
                if let Some(params) = params {
                    obj.insert("params".into(), params.clone());
                }
                if let Some(ms) = emitted_at_ms {
                    obj.insert("emittedAtMs".into(), Value::from(*ms));
                }
            }
            Message::Response { id, result } => {
                obj.insert("id".into(), id.to_value());
                obj.insert("result".into(), result.clone());
            }
            Message::Error { id, error } => {
                obj.insert("id".into(), id.to_value());
                obj.insert("error".into(), error.to_value());
            }
        }
        Value::Object(obj)
    }

    /// Encodes the message as one line of JSON without the trailing newline (and with room
    /// for it), serializing straight from the borrowed fields.
    pub fn encode(&self) -> String {
        let mut out = Vec::with_capacity(128);
        let written = match self {
            Message::Request { id, method, params } => serde_json::to_writer(
                &mut out,
                &RequestOut {
                    id,
                    method,
                    params: params.as_ref(),
                },
            ),
            Message::Notification {
                method,
                params,
                emitted_at_ms,
            } => serde_json::to_writer(
                &mut out,
                &NotificationOut {
                    method,
                    params: params.as_ref(),
                    emitted_at_ms: *emitted_at_ms,
                },
            ),
            Message::Response { id, result } => {
                serde_json::to_writer(&mut out, &ResponseOut { id, result })
            }
            Message::Error { id, error } => {
                serde_json::to_writer(&mut out, &ErrorOut { id, error })
            }
        };
        match written.ok().and_then(|()| String::from_utf8(out).ok()) {
            Some(text) => text,
            None => self.to_value().to_string(),
        }
    }
}

#[derive(Serialize)]
struct RequestOut<'a> {
    id: &'a RequestId,
    method: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    params: Option<&'a Value>,
}

#[derive(Serialize)]
struct NotificationOut<'a> {
    method: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    params: Option<&'a Value>,
    #[serde(rename = "emittedAtMs", skip_serializing_if = "Option::is_none")]
    emitted_at_ms: Option<i64>,
}

#[derive(Serialize)]
struct ResponseOut<'a> {
    id: &'a RequestId,
    result: &'a Value,
}

#[derive(Serialize)]
struct ErrorOut<'a> {
    id: &'a RequestId,
    error: &'a RpcError,
}

/// The first 200 characters of a bad line, for error messages.
fn snippet(text: &str) -> String {
    crate::text::cut(text, 200)
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use serde_json::json;

    #[test]
    fn classifies_the_four_kinds_like_the_server() {
        let cases = [
            (
                r#"{"id":1,"method":"thread/list","params":{}}"#,
                Message::request(RequestId::Int(1), "thread/list", Some(json!({}))),
            ),
            (
                r#"{"jsonrpc":"2.0","id":"a","method":"x","extra":true}"#,
                Message::request(RequestId::Str("a".into()), "x", None),
            ),
            (
                r#"{"id":1.5,"method":"x"}"#,
                Message::notification("x", None),
            ),
            (
                r#"{"id":null,"method":"x","params":{"a":1}}"#,
                Message::notification("x", Some(json!({"a":1}))),
            ),
            (
                r#"{"id":-3,"result":{}}"#,
                Message::Response {
                    id: RequestId::Int(-3),
                    result: json!({}),
                },
            ),
            (
                r#"{"id":2,"error":{"code":-32600,"message":"Not initialized"}}"#,
                Message::Error {
                    id: RequestId::Int(2),
                    error: RpcError::new(-32600, "Not initialized"),
                },
            ),
        ];
        for (line, want) in cases {
            assert_eq!(Message::decode(line).unwrap(), want, "{line}");
        }
    }

    #[test]
    fn keeps_emitted_at_ms_of_server_notifications() {
        let m = Message::decode(r#"{"method":"a","params":{},"emittedAtMs":17}"#).unwrap();
        assert_eq!(
            m,
            Message::Notification {
                method: "a".into(),
                params: Some(json!({})),
                emitted_at_ms: Some(17)
            }
        );
        assert_eq!(m.encode(), r#"{"method":"a","params":{},"emittedAtMs":17}"#);
    }

    #[test]
    fn refuses_what_is_not_a_message() {
        for line in [
            "{not json",
            "[1,2]",
            r#"{"foo":1}"#,
            r#"{"id":10}"#,
            r#"{"id":1,"error":"x"}"#,
        ] {
            assert!(Message::decode(line).is_err(), "{line}");
        }
    }

    #[test]
    fn never_writes_jsonrpc() {
        let m = Message::request(RequestId::Int(7), "initialize", Some(json!({})));
        assert_eq!(m.encode(), r#"{"id":7,"method":"initialize","params":{}}"#);
        let e = Message::Error {
            id: RequestId::Str("s".into()),
            error: RpcError::new(-32001, "Server overloaded; retry later."),
        };
        assert_eq!(
            e.encode(),
            r#"{"id":"s","error":{"code":-32001,"message":"Server overloaded; retry later."}}"#
        );
    }
}
