//! What a session hands its callers: replies, notifications and server requests as received,
//! and the handler and tap traits that see them in the read loop.

use serde_json::Value;

use crate::jsonrpc::{RequestId, RpcError};

/// What a request got back: a result or the server's error.
pub type Reply = Result<Value, RpcError>;

/// A notification as received, with its arrival number.
#[derive(Debug, Clone, PartialEq)]
pub struct Notification {
    /// Arrival order among all notifications and server requests of the session.
    pub seq: u64,
    /// The method.
    pub method: String,
    /// The params (`null` when absent).
    pub params: Value,
}

/// A request the server sent to the client.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerRequest {
    /// Arrival order among all notifications and server requests of the session.
    pub seq: u64,
    /// The id to answer.
    pub id: RequestId,
    /// The method, e.g. `item/commandExecution/requestApproval`.
    pub method: String,
    /// The params (`null` when absent).
    pub params: Value,
}

/// A server request the handler answered, as recorded for reports.
#[derive(Debug, Clone, PartialEq)]
pub struct AnsweredRequest {
    /// The request.
    pub request: ServerRequest,
    /// What was sent back.
    pub reply: Reply,
}

/// Decides what cas answers to a server request.
pub trait ServerRequestHandler: Send + Sync {
    /// Answers at once (`Some`) or leaves the request queued for [`super::Session::respond`] (`None`).
    fn answer(&self, request: &ServerRequest) -> Option<Reply>;
}

/// Sees every notification as it arrives, in order (e.g. to log hook runs).
pub trait NotificationTap: Send + Sync {
    /// Called once per notification, from the read loop; must not block.
    fn observe(&self, notification: &Notification);
}

/// Leaves every server request queued, for callers that answer them step by step.
pub struct QueueServerRequests;

impl ServerRequestHandler for QueueServerRequests {
    fn answer(&self, _request: &ServerRequest) -> Option<Reply> {
        None
    }
}
