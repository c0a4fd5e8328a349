//! The lane's NDJSON log of raw traffic, the session hooks that feed it, and the host's log.
//!
//! The log is a transcript (`cas.transcript/1`, see [`crate::transcript`]): every frame cas
//! sends and receives on the lane's connections, verbatim, except that the params of requests
//! the server sends are left out (`"redacted": true`; approvals carry commands and paths, and
//! the policy module keeps the same rule), plus a note for each request that got no response.
//! The capability token never passes through here: it lives only in its 0600 file and the
//! upgrade request's header. Lines written before the review has a thread id are kept in memory
//! and flushed once it has one; a second process (an interrupt) appends to the same file.

use serde_json::Value;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use crate::hooks::HookObserver;
use crate::policy::ServerRequestPolicy;
use crate::session::{
    Notification, NotificationTap, Reply, ServerRequest, ServerRequestHandler, Session,
};
use crate::transcript::Transcript;
use crate::transport::Connection;

/// An append-only NDJSON log: a transcript of the lane's connections.
pub struct LaneLog {
    transcript: Arc<Transcript>,
}

impl Default for LaneLog {
    fn default() -> Self {
        LaneLog {
            transcript: Transcript::in_memory("review_session", true),
        }
    }
}

impl LaneLog {
    /// A log appending to `path` at once.
    pub fn open(path: &Path) -> std::io::Result<LaneLog> {
        let log = LaneLog::default();
        log.attach(path)?;
        Ok(log)
    }

    /// Starts writing to `path` (mode 0600, appended), flushing what was kept so far.
    pub fn attach(&self, path: &Path) -> std::io::Result<()> {
        self.transcript.attach_file(path)
    }

    /// Records every frame of `connection` from now on, under the name `conn`.
    pub fn record(&self, connection: &Connection, conn: &str) {
        connection.attach_tap(self.transcript.tap(conn));
    }

    /// Sends a request through `session` (whose frames the log records); a request that got
    /// no response is noted with why.
    pub async fn request(
        &self,
        session: &Session,
        method: &str,
        params: Value,
        timeout: Duration,
    ) -> Result<Reply, crate::errors::SessionError> {
        let reply = session.request(method, Some(params), timeout).await;
        if let Err(e) = &reply {
            let text = format!("{method}: no response ({e})");
            self.transcript.note(None, &text);
        }
        reply
    }
}

/// Sees every notification and passes it to the hook observer (the log has its frame).
pub struct LaneTap {
    /// The hook observer.
    pub hooks: Arc<HookObserver>,
}

impl NotificationTap for LaneTap {
    fn observe(&self, n: &Notification) {
        self.hooks.observe(n);
    }
}

/// The server-request policy (the log has each request, redacted, and the answer sent).
pub struct LoggedPolicy {
    /// The policy.
    pub policy: Arc<ServerRequestPolicy>,
}

impl ServerRequestHandler for LoggedPolicy {
    fn answer(&self, request: &ServerRequest) -> Option<Reply> {
        self.policy.answer(request)
    }
}

/// The approvals cas declined or cancelled, by method.
pub fn denied_approvals(policy: &ServerRequestPolicy) -> Vec<String> {
    policy
        .records()
        .into_iter()
        .filter(|r| r.method.ends_with("requestApproval"))
        .filter(|r| r.answer.is_denial())
        .map(|r| r.method)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::review::outcome::{classify, Observed};
    use serde_json::json;

    /// codex 0.169.0 runs a review's tools without asking the client, so no live review sends
    /// an approval; this drives the lane's own policy and classifier with the request instead.
    #[test]
    fn a_declined_approval_makes_the_review_approval_denied() {
        let policy = ServerRequestPolicy::default();
        let request = ServerRequest {
            seq: 0,
            id: crate::jsonrpc::RequestId::Int(0),
            method: "item/commandExecution/requestApproval".into(),
            params: json!({"command": "touch x", "availableDecisions": ["accept", "cancel"]}),
        };
        let reply = policy.answer(&request);
        assert_eq!(reply, Some(Ok(json!({"decision": "decline"}))));
        let denied = denied_approvals(&policy);
        assert_eq!(denied, ["item/commandExecution/requestApproval"]);
        let observed = Observed {
            turn_status: Some("completed".into()),
            approvals_denied: denied,
            has_result: true,
            ..Observed::default()
        };
        assert_eq!(
            classify(&observed).0,
            Some(crate::outcome::FailureCode::ApprovalDenied)
        );
    }

    #[tokio::test]
    async fn buffers_until_attached_then_appends_with_server_request_params_left_out() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/log.ndjson");
        let (client, server) = crate::transport::memory::pair();
        let log = LaneLog::default();
        log.record(&client, "lane");
        let session = Session::start(client, Arc::new(crate::session::QueueServerRequests));
        let ask = r#"{"id":0,"method":"item/commandExecution/requestApproval","params":{"command":"rm -rf /secret"}}"#;
        server.send_text(ask.into()).unwrap();
        let asked = session
            .await_server_request("ask", Duration::from_secs(5), |_| true)
            .await
            .unwrap();
        session
            .respond(asked.id, Ok(json!({"decision": "decline"})))
            .unwrap();
        log.attach(&path).unwrap();
        let missing = log.request(&session, "x/y", json!({}), Duration::from_millis(50));
        assert!(missing.await.is_err());
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(!text.contains("secret"), "{text}");
        let events: Vec<Value> = text
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap())
            .collect();
        let kinds: Vec<&str> = events
            .iter()
            .map(|e| e["event"].as_str().unwrap())
            .collect();
        assert_eq!(kinds, ["start", "recv", "send", "send", "note"], "{text}");
        assert_eq!(events[1]["redacted"], true);
        assert!(events[2]["frame"]["result"]["decision"] == "decline");
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        drop(server);
    }
}
