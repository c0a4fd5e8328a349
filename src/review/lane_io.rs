//! The lane's NDJSON log of raw traffic, the session hooks that feed it, and the host's log.
//!
//! Every request cas sends and every response, notification and server request it receives
//! is appended as one JSON line `{atMs, dir, kind, method, …}`. Server requests are logged by
//! method and id with the name of cas's answer, never with their bodies (approvals carry
//! commands and paths; the policy module keeps the same rule). The capability token never
//! passes through here: it lives only in its 0600 file and the upgrade request's header.
//! Lines written before the review has a thread id are buffered and flushed once it has one.

use serde_json::{json, Value};
use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::hooks::HookObserver;
use crate::policy::ServerRequestPolicy;
use crate::session::{
    Notification, NotificationTap, Reply, ServerRequest, ServerRequestHandler, Session,
};

enum Sink {
    Buffer(Vec<String>),
    File(std::fs::File),
}

/// An append-only NDJSON log.
pub struct LaneLog {
    sink: Mutex<Sink>,
}

impl Default for LaneLog {
    fn default() -> Self {
        LaneLog {
            sink: Mutex::new(Sink::Buffer(Vec::new())),
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

    /// Starts writing to `path` (mode 0600, appended), flushing what was buffered.
    pub fn attach(&self, path: &Path) -> std::io::Result<()> {
        use std::os::unix::fs::OpenOptionsExt;
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(path)?;
        let mut sink = self.sink.lock().unwrap_or_else(|p| p.into_inner());
        if let Sink::Buffer(lines) = &*sink {
            for line in lines {
                writeln!(file, "{line}")?;
            }
        }
        *sink = Sink::File(file);
        Ok(())
    }

    /// Appends one entry, stamped with the time.
    pub fn write(&self, mut entry: Value) {
        if let Some(map) = entry.as_object_mut() {
            map.insert("atMs".into(), json!(super::record::now_ms()));
        }
        let line = entry.to_string();
        let mut sink = self.sink.lock().unwrap_or_else(|p| p.into_inner());
        match &mut *sink {
            Sink::Buffer(lines) => lines.push(line),
            // A log line that cannot be written must not stop the review.
            Sink::File(file) => {
                let _ = writeln!(file, "{line}");
            }
        }
    }

    /// Sends a request through `session`, logging it and its response.
    pub async fn request(
        &self,
        session: &Session,
        method: &str,
        params: Value,
        timeout: Duration,
    ) -> Result<Reply, crate::errors::SessionError> {
        self.write(json!({"dir": "out", "kind": "request", "method": method, "params": params}));
        let reply = session.request(method, Some(params), timeout).await;
        match &reply {
            Ok(Ok(result)) => self.write(
                json!({"dir": "in", "kind": "response", "method": method, "result": result}),
            ),
            Ok(Err(error)) => self.write(
                json!({"dir": "in", "kind": "error", "method": method, "error": {"code": error.code, "message": error.message}}),
            ),
            Err(e) => self.write(
                json!({"dir": "in", "kind": "noResponse", "method": method, "reason": e.to_string()}),
            ),
        }
        reply
    }
}

/// Sees every notification: logs it raw and passes it to the hook observer.
pub struct LaneTap {
    /// The log.
    pub log: Arc<LaneLog>,
    /// The hook observer.
    pub hooks: Arc<HookObserver>,
}

impl NotificationTap for LaneTap {
    fn observe(&self, n: &Notification) {
        self.log.write(
            json!({"dir": "in", "kind": "notification", "method": n.method, "params": n.params}),
        );
        self.hooks.observe(n);
    }
}

/// The server-request policy, with each request and answer logged by name.
pub struct LoggedPolicy {
    /// The policy.
    pub policy: Arc<ServerRequestPolicy>,
    /// The log.
    pub log: Arc<LaneLog>,
}

impl ServerRequestHandler for LoggedPolicy {
    fn answer(&self, request: &ServerRequest) -> Option<Reply> {
        let reply = self.policy.answer(request);
        let answer = self
            .policy
            .records()
            .last()
            .map(|r| r.answer.as_str())
            .unwrap_or_default();
        self.log.write(json!({
            "dir": "in", "kind": "serverRequest", "method": request.method,
            "id": request.id.to_string(), "answer": answer,
        }));
        reply
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

    #[test]
    fn buffers_until_attached_then_appends() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/log.ndjson");
        let log = LaneLog::default();
        log.write(json!({"kind": "a"}));
        log.attach(&path).unwrap();
        log.write(json!({"kind": "b"}));
        let text = std::fs::read_to_string(&path).unwrap();
        let kinds: Vec<Value> = text
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap()["kind"].clone())
            .collect();
        assert_eq!(kinds, [json!("a"), json!("b")]);
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
}
