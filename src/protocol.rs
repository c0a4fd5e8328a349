//! Method names cas uses and the few typed views of server payloads it inspects.
//!
//! Everything else stays `serde_json::Value`: cas decodes tolerantly, so an unknown field or enum
//! value from a newer codex is data, not an error. Errors are classified by code *and* message,
//! because codex uses `-32600` for almost everything.

use serde_json::{json, Value};
use std::fmt;

use crate::jsonrpc::RpcError;

/// The handshake request.
pub const INITIALIZE: &str = "initialize";
/// The handshake notification the client sends after the initialize response.
pub const INITIALIZED: &str = "initialized";

/// JSON-RPC "invalid request": codex's code for nearly every refusal.
pub const INVALID_REQUEST: i64 = -32600;
/// JSON-RPC "method not found": what cas answers to a server request it has no policy for.
pub const METHOD_NOT_FOUND: i64 = -32601;
/// Overload: the server's ingress queue is full; the only code cas retries.
pub const OVERLOADED: i64 = -32001;

/// What kind of refusal a server error is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    /// `-32600 "Not initialized"`: a request before `initialize`.
    NotInitialized,
    /// `-32600 "Already initialized"`: a second `initialize`.
    AlreadyInitialized,
    /// `-32600 "… requires experimentalApi capability"`.
    ExperimentalGated,
    /// `-32600 "Invalid request: unknown variant `X`, …"` (codex) or `-32601`.
    UnknownMethod,
    /// `-32600 "Invalid request: …"` for bad params.
    InvalidParams,
    /// `-32001`: retry later.
    Overloaded,
    /// `"Server is draining; …"`: reconnect and retry.
    Draining,
    /// Anything else: a handler-level refusal such as "thread not found".
    Other,
}

impl ErrorClass {
    /// Classifies a server error by its code and message.
    pub fn of(error: &RpcError) -> ErrorClass {
        let msg = error.message.as_str();
        if error.code == OVERLOADED {
            return ErrorClass::Overloaded;
        }
        if error.code == METHOD_NOT_FOUND {
            return ErrorClass::UnknownMethod;
        }
        if msg == "Not initialized" {
            ErrorClass::NotInitialized
        } else if msg == "Already initialized" {
            ErrorClass::AlreadyInitialized
        } else if msg.ends_with("requires experimentalApi capability") {
            ErrorClass::ExperimentalGated
        } else if msg.starts_with("Invalid request: unknown variant")
            && msg.contains("expected one of `initialize`")
        {
            ErrorClass::UnknownMethod
        } else if msg.starts_with("Invalid request:") {
            ErrorClass::InvalidParams
        } else if msg.starts_with("Server is draining") {
            ErrorClass::Draining
        } else {
            ErrorClass::Other
        }
    }

    /// A stable snake_case name for reports.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorClass::NotInitialized => "not_initialized",
            ErrorClass::AlreadyInitialized => "already_initialized",
            ErrorClass::ExperimentalGated => "experimental_gated",
            ErrorClass::UnknownMethod => "unknown_method",
            ErrorClass::InvalidParams => "invalid_params",
            ErrorClass::Overloaded => "overloaded",
            ErrorClass::Draining => "draining",
            ErrorClass::Other => "other",
        }
    }
}

impl fmt::Display for ErrorClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The client identity and capabilities sent in `initialize`.
#[derive(Debug, Clone)]
pub struct ClientInfo {
    /// `clientInfo.name`; becomes the user-agent prefix and the thread originator.
    pub name: String,
    /// `clientInfo.version`.
    pub version: String,
    /// `capabilities.experimentalApi`.
    pub experimental_api: bool,
    /// `capabilities.optOutNotificationMethods`.
    pub opt_out_notification_methods: Vec<String>,
}

impl ClientInfo {
    /// An identity with cas's version, no experimental API and no opt-outs.
    pub fn named(name: impl Into<String>) -> ClientInfo {
        ClientInfo {
            name: name.into(),
            version: env!("CARGO_PKG_VERSION").into(),
            experimental_api: false,
            opt_out_notification_methods: Vec::new(),
        }
    }

    /// The `initialize` params for this identity.
    pub fn initialize_params(&self) -> Value {
        json!({
            "clientInfo": {"name": self.name, "title": null, "version": self.version},
            "capabilities": {
                "experimentalApi": self.experimental_api,
                "optOutNotificationMethods": self.opt_out_notification_methods,
            }
        })
    }
}

/// The fields of an `initialize` result that cas reads.
#[derive(Debug, Clone, PartialEq)]
pub struct InitializeResult {
    /// e.g. `cas/0.169.0 (Debian 12.0.0; x86_64) …`; carries the server version.
    pub user_agent: String,
    /// The server's CODEX_HOME.
    pub codex_home: String,
    /// `unix` or `windows`.
    pub platform_family: String,
    /// `linux`, `macos` or `windows`.
    pub platform_os: String,
}

impl InitializeResult {
    /// The server version embedded in the user agent (`name/VERSION (…`), if present.
    pub fn server_version(&self) -> Option<&str> {
        let after_slash = self.user_agent.split_once('/')?.1;
        after_slash.split_whitespace().next()
    }
}

/// An `initialize` result without one of the string fields cas reads.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("missing string field `{0}`")]
pub struct MissingField(pub &'static str);

impl TryFrom<&Value> for InitializeResult {
    type Error = MissingField;

    fn try_from(value: &Value) -> Result<Self, Self::Error> {
        let field = |name: &'static str| -> Result<String, MissingField> {
            value
                .get(name)
                .and_then(Value::as_str)
                .map(str::to_owned)
                .ok_or(MissingField(name))
        };
        Ok(InitializeResult {
            user_agent: field("userAgent")?,
            codex_home: field("codexHome")?,
            platform_family: field("platformFamily")?,
            platform_os: field("platformOs")?,
        })
    }
}

/// A thread's `status.type` as codex reports it; a value cas does not know is kept as data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ThreadStatus {
    /// `notLoaded`: the thread is not loaded in this server.
    NotLoaded,
    /// `idle`: loaded, no turn running.
    Idle,
    /// `systemError`: the thread failed.
    SystemError,
    /// `active`: a turn is running.
    Active,
    /// A status this version of cas does not know.
    Other(String),
}

impl ThreadStatus {
    /// The status of a `thread` object (`thread.status.type`), if it has one.
    pub fn of_thread(thread: &Value) -> Option<ThreadStatus> {
        thread["status"]["type"].as_str().map(ThreadStatus::from)
    }

    /// The status as codex spells it.
    pub fn as_str(&self) -> &str {
        match self {
            ThreadStatus::NotLoaded => "notLoaded",
            ThreadStatus::Idle => "idle",
            ThreadStatus::SystemError => "systemError",
            ThreadStatus::Active => "active",
            ThreadStatus::Other(s) => s,
        }
    }
}

impl From<&str> for ThreadStatus {
    fn from(s: &str) -> ThreadStatus {
        match s {
            "notLoaded" => ThreadStatus::NotLoaded,
            "idle" => ThreadStatus::Idle,
            "systemError" => ThreadStatus::SystemError,
            "active" => ThreadStatus::Active,
            other => ThreadStatus::Other(other.to_owned()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn classifies_by_code_and_message() {
        let cases = [
            (-32600, "Not initialized", ErrorClass::NotInitialized),
            (
                -32600,
                "Already initialized",
                ErrorClass::AlreadyInitialized,
            ),
            (
                -32600,
                "collaborationMode/list requires experimentalApi capability",
                ErrorClass::ExperimentalGated,
            ),
            (
                -32600,
                "Invalid request: unknown variant `no/such`, expected one of `initialize`, `x`",
                ErrorClass::UnknownMethod,
            ),
            (
                -32600,
                "Invalid request: missing field `params`",
                ErrorClass::InvalidParams,
            ),
            (
                -32001,
                "Server overloaded; retry later.",
                ErrorClass::Overloaded,
            ),
            (-32001, "anything", ErrorClass::Overloaded),
            (-32601, "Method not found", ErrorClass::UnknownMethod),
            (
                -32600,
                "Server is draining; retry after reconnecting",
                ErrorClass::Draining,
            ),
            (-32600, "thread not found: x", ErrorClass::Other),
        ];
        for (code, message, want) in cases {
            assert_eq!(
                ErrorClass::of(&RpcError::new(code, message)),
                want,
                "{message}"
            );
        }
    }

    #[test]
    fn reads_the_initialize_result_and_version() {
        let v = json!({"userAgent":"cas/0.169.0 (Debian 12.0.0; x86_64) xterm (cas; 0.1.0)",
            "codexHome":"/h","platformFamily":"unix","platformOs":"linux","extra":1});
        let r = InitializeResult::try_from(&v).unwrap();
        assert_eq!(r.server_version(), Some("0.169.0"));
        assert!(InitializeResult::try_from(&json!({"userAgent":"x"})).is_err());
    }

    #[test]
    fn reads_thread_statuses_tolerantly() {
        let of = |v: Value| ThreadStatus::of_thread(&json!({"status": v}));
        assert_eq!(of(json!({"type": "idle"})), Some(ThreadStatus::Idle));
        let active = of(json!({"type": "active", "activeFlags": []}));
        assert_eq!(active, Some(ThreadStatus::Active));
        let new = of(json!({"type": "sleeping"}));
        assert_eq!(new, Some(ThreadStatus::Other("sleeping".into())));
        assert_eq!(
            new.map(|s| s.as_str().to_owned()).as_deref(),
            Some("sleeping")
        );
        assert_eq!(of(json!(null)), None);
    }
}
