//! What cas answers to each server request: one named, terminating answer per method.
//!
//! Every server request of the 0.169.0 schema has an answer here, chosen by flags and resolved
//! against the request's `availableDecisions` when the server sends them. Auth-token refreshes
//! and attestations are refused (cas never synthesizes credentials). Legacy v1 approvals and
//! unknown methods are refused with `-32601` at once and recorded by name, so a turn never
//! hangs on a request cas does not understand. Request bodies are never logged.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::sync::Mutex;

use crate::errors::PolicyError;
use crate::jsonrpc::RpcError;
use crate::protocol::METHOD_NOT_FOUND;
use crate::session::{Reply, ServerRequest, ServerRequestHandler};

/// The server requests this policy has a named answer for (everything else gets `-32601`).
pub const ANSWERED_SERVER_REQUESTS: &[&str] = &[
    "item/commandExecution/requestApproval",
    "item/fileChange/requestApproval",
    "item/permissions/requestApproval",
    "item/tool/requestUserInput",
    "mcpServer/elicitation/request",
    "item/tool/call",
    "currentTime/read",
    "account/chatgptAuthTokens/refresh",
    "attestation/generate",
    "execCommandApproval",
    "applyPatchApproval",
];

/// How to answer command and file-change approvals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "camelCase")]
pub enum ApprovalChoice {
    /// Accept what the server proposes: the proposed execpolicy amendment when offered, else for the session.
    Auto,
    /// Accept this once.
    Accept,
    /// Accept for the rest of the session.
    #[value(name = "acceptForSession")]
    AcceptForSession,
    /// Decline; the turn goes on without it.
    #[default]
    Decline,
    /// Decline and interrupt the turn.
    Cancel,
}

/// How to answer permission requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum PermissionsChoice {
    /// Grant nothing (`{"permissions": {}}`).
    #[default]
    Deny,
    /// Grant what was asked, for this turn.
    GrantTurn,
    /// Grant what was asked, for the session.
    GrantSession,
}

/// How to answer MCP elicitations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "camelCase")]
pub enum ElicitationAction {
    /// Decline.
    #[default]
    Decline,
    /// Cancel.
    Cancel,
    /// Accept, with the configured content.
    Accept,
}

/// The configured answers; `Default` is cas's safe default (decline, deny, refuse).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PolicyConfig {
    /// `--exec-approval`.
    pub exec_approval: ApprovalChoice,
    /// `--file-approval`.
    pub file_approval: ApprovalChoice,
    /// `--read-only`: every approval is declined whatever else is set.
    pub read_only: bool,
    /// `--permissions-approval`.
    pub permissions_approval: PermissionsChoice,
    /// `--request-user-input-response-json`: the whole `{answers: …}` response.
    pub request_user_input_response: Option<Value>,
    /// `--elicitation-action`.
    pub elicitation_action: ElicitationAction,
    /// `--elicitation-content-json`: the `content` sent when accepting.
    pub elicitation_content: Option<Value>,
    /// `--dynamic-tool-response-json`: the whole `{contentItems, success}` response.
    pub dynamic_tool_response: Option<Value>,
}

impl PolicyConfig {
    /// Checks the JSON carriers' shapes, naming the flag at fault.
    pub fn validate(&self) -> Result<(), PolicyError> {
        if let Some(v) = &self.request_user_input_response {
            let ok = v["answers"].as_object().is_some_and(|answers| {
                answers.values().all(|a| {
                    a["answers"]
                        .as_array()
                        .is_some_and(|l| l.iter().all(Value::is_string))
                })
            });
            if !ok {
                return Err(PolicyError::UserInputShape(v.clone()));
            }
        }
        if let Some(v) = &self.dynamic_tool_response {
            let items_ok = v["contentItems"].as_array().is_some_and(|items| {
                items.iter().all(|i| match i["type"].as_str() {
                    Some("inputText") => i["text"].is_string(),
                    Some("inputImage") => i["imageUrl"].is_string(),
                    Some("inputAudio") => i["audioUrl"].is_string(),
                    _ => false,
                })
            });
            if !items_ok || !v["success"].is_boolean() {
                return Err(PolicyError::ToolResponseShape(v.clone()));
            }
        }
        if let Some(v) = &self.elicitation_content {
            if !v.is_object() {
                return Err(PolicyError::ElicitationContentShape(v.clone()));
            }
        }
        if self.elicitation_action == ElicitationAction::Accept
            && self.elicitation_content.is_none()
        {
            return Err(PolicyError::AcceptWithoutContent);
        }
        Ok(())
    }
}

/// The name of one answer cas gave to a server request, as reported and logged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum PolicyAnswer {
    /// An approval accepted once.
    #[serde(rename = "accept")]
    Accept,
    /// An approval accepted for the session.
    #[serde(rename = "acceptForSession")]
    AcceptForSession,
    /// An approval accepted with the proposed execpolicy amendment.
    #[serde(rename = "acceptWithExecpolicyAmendment")]
    AcceptWithExecpolicyAmendment,
    /// An approval or elicitation declined.
    #[serde(rename = "decline")]
    Decline,
    /// An approval or elicitation cancelled.
    #[serde(rename = "cancel")]
    Cancel,
    /// A permission request granted nothing.
    #[serde(rename = "deny")]
    Deny,
    /// A permission request granted for the turn.
    #[serde(rename = "grant-turn")]
    GrantTurn,
    /// A permission request granted for the session.
    #[serde(rename = "grant-session")]
    GrantSession,
    /// The response configured by a flag.
    #[serde(rename = "configured")]
    Configured,
    /// User input answered with each question's first option.
    #[serde(rename = "first-option")]
    FirstOption,
    /// A dynamic tool call answered `success: false`.
    #[serde(rename = "success-false")]
    SuccessFalse,
    /// The current time.
    #[serde(rename = "clock")]
    Clock,
    /// Refused with an error (credentials and attestations).
    #[serde(rename = "refused")]
    Refused,
    /// Refused with `-32601` (legacy or unknown methods).
    #[serde(rename = "unsupported -32601")]
    Unsupported,
}

impl PolicyAnswer {
    /// The answer's name, as serialized.
    pub fn as_str(self) -> &'static str {
        match self {
            PolicyAnswer::Accept => "accept",
            PolicyAnswer::AcceptForSession => "acceptForSession",
            PolicyAnswer::AcceptWithExecpolicyAmendment => "acceptWithExecpolicyAmendment",
            PolicyAnswer::Decline => "decline",
            PolicyAnswer::Cancel => "cancel",
            PolicyAnswer::Deny => "deny",
            PolicyAnswer::GrantTurn => "grant-turn",
            PolicyAnswer::GrantSession => "grant-session",
            PolicyAnswer::Configured => "configured",
            PolicyAnswer::FirstOption => "first-option",
            PolicyAnswer::SuccessFalse => "success-false",
            PolicyAnswer::Clock => "clock",
            PolicyAnswer::Refused => "refused",
            PolicyAnswer::Unsupported => "unsupported -32601",
        }
    }

    /// Whether the answer refused what was asked (declined, cancelled or denied).
    pub fn is_denial(self) -> bool {
        matches!(
            self,
            PolicyAnswer::Decline | PolicyAnswer::Cancel | PolicyAnswer::Deny
        )
    }
}

/// One answered server request, as reported (method and the answer's name, never bodies).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AnswerRecord {
    /// The server request method.
    pub method: String,
    /// The answer given.
    pub answer: PolicyAnswer,
}

/// The server-request policy: a [`ServerRequestHandler`] that always answers at once.
#[derive(Debug, Default)]
pub struct ServerRequestPolicy {
    config: PolicyConfig,
    records: Mutex<Vec<AnswerRecord>>,
}

impl ServerRequestPolicy {
    /// A policy with the given answers.
    pub fn new(config: PolicyConfig) -> ServerRequestPolicy {
        ServerRequestPolicy {
            config,
            records: Mutex::new(Vec::new()),
        }
    }

    /// Every answer given so far, in order.
    pub fn records(&self) -> Vec<AnswerRecord> {
        self.records.lock().map(|r| r.clone()).unwrap_or_default()
    }

    /// The methods refused as unsupported (legacy or unknown), in order.
    pub fn unsupported(&self) -> Vec<String> {
        self.records()
            .into_iter()
            .filter(|r| r.answer == PolicyAnswer::Unsupported)
            .map(|r| r.method)
            .collect()
    }

    /// The answer and its name for one request.
    pub fn decide(&self, method: &str, params: &Value) -> (Reply, PolicyAnswer) {
        let c = &self.config;
        match method {
            "item/commandExecution/requestApproval" => {
                approval(c.exec_approval, c.read_only, params)
            }
            "item/fileChange/requestApproval" => approval(c.file_approval, c.read_only, params),
            "item/permissions/requestApproval" => {
                permissions(c.permissions_approval, c.read_only, params)
            }
            "item/tool/requestUserInput" => match &c.request_user_input_response {
                Some(v) => (Ok(v.clone()), PolicyAnswer::Configured),
                None => (Ok(first_option_answers(params)), PolicyAnswer::FirstOption),
            },
            "mcpServer/elicitation/request" => {
                elicitation(c.elicitation_action, c.elicitation_content.as_ref())
            }
            "item/tool/call" => match &c.dynamic_tool_response {
                Some(v) => (Ok(v.clone()), PolicyAnswer::Configured),
                None => (Ok(unsupported_tool()), PolicyAnswer::SuccessFalse),
            },
            "currentTime/read" => (
                Ok(json!({"currentTimeAt": unix_seconds()})),
                PolicyAnswer::Clock,
            ),
            "account/chatgptAuthTokens/refresh" => {
                refused("cas does not provide ChatGPT auth tokens")
            }
            "attestation/generate" => refused("cas does not generate attestations"),
            "execCommandApproval" | "applyPatchApproval" => {
                unsupported(method, "legacy v1 approval")
            }
            _ => unsupported(method, "unknown"),
        }
    }
}

impl ServerRequestHandler for ServerRequestPolicy {
    fn answer(&self, request: &ServerRequest) -> Option<Reply> {
        let (reply, answer) = self.decide(&request.method, &request.params);
        if let Ok(mut records) = self.records.lock() {
            records.push(AnswerRecord {
                method: request.method.clone(),
                answer,
            });
        }
        Some(reply)
    }
}

/// A command or file-change approval, resolved against what the request allows.
///
/// codex 0.169.0 takes `decline` and `acceptForSession` even when `availableDecisions` leaves
/// them out (and its usual list, `["accept", {acceptWithExecpolicyAmendment…}, "cancel"]`, does
/// leave out `decline`), so a decline is never turned into a cancel, which would interrupt the
/// turn. `availableDecisions` decides whether `auto` takes the proposed execpolicy amendment;
/// a `humanCommand` approval takes only accept, decline or cancel.
fn approval(choice: ApprovalChoice, read_only: bool, params: &Value) -> (Reply, PolicyAnswer) {
    let choice = if read_only {
        ApprovalChoice::Decline
    } else {
        choice
    };
    let human = params["kind"] == "humanCommand";
    let offered = |answer: PolicyAnswer| {
        params["availableDecisions"]
            .as_array()
            .is_none_or(|available| {
                available
                    .iter()
                    .any(|a| decision_name(a) == Some(answer.as_str()))
            })
    };
    let amendment = params["proposedExecpolicyAmendment"]
        .as_array()
        .filter(|a| !a.is_empty() && !human && offered(PolicyAnswer::AcceptWithExecpolicyAmendment))
        .map(|a| json!({"acceptWithExecpolicyAmendment": {"execpolicy_amendment": a}}));
    let for_session = if human {
        PolicyAnswer::Accept
    } else {
        PolicyAnswer::AcceptForSession
    };
    let answer = match choice {
        ApprovalChoice::Auto if amendment.is_some() => PolicyAnswer::AcceptWithExecpolicyAmendment,
        ApprovalChoice::Auto | ApprovalChoice::AcceptForSession => for_session,
        ApprovalChoice::Accept => PolicyAnswer::Accept,
        ApprovalChoice::Decline => PolicyAnswer::Decline,
        ApprovalChoice::Cancel => PolicyAnswer::Cancel,
    };
    let decision = amendment
        .filter(|_| answer == PolicyAnswer::AcceptWithExecpolicyAmendment)
        .unwrap_or_else(|| json!(answer));
    (Ok(json!({"decision": decision})), answer)
}

/// The name of one of the server's `availableDecisions`: a string, or an object's only key.
fn decision_name(d: &Value) -> Option<&str> {
    match d {
        Value::String(s) => Some(s),
        Value::Object(o) => o.keys().next().map(String::as_str),
        _ => None,
    }
}

fn permissions(
    choice: PermissionsChoice,
    read_only: bool,
    params: &Value,
) -> (Reply, PolicyAnswer) {
    let requested = params
        .get("permissions")
        .cloned()
        .unwrap_or_else(|| json!({}));
    match (choice, read_only) {
        (PermissionsChoice::Deny, _) | (_, true) => (
            Ok(json!({"permissions": {}, "scope": "turn"})),
            PolicyAnswer::Deny,
        ),
        (PermissionsChoice::GrantTurn, false) => (
            Ok(json!({"permissions": requested, "scope": "turn"})),
            PolicyAnswer::GrantTurn,
        ),
        (PermissionsChoice::GrantSession, false) => (
            Ok(json!({"permissions": requested, "scope": "session"})),
            PolicyAnswer::GrantSession,
        ),
    }
}

/// `{answers: {id: {answers: [first option label]}}}`; a question without options gets `[]`.
fn first_option_answers(params: &Value) -> Value {
    let mut answers = serde_json::Map::new();
    for q in params["questions"].as_array().into_iter().flatten() {
        let Some(id) = q["id"].as_str() else { continue };
        let first = q["options"]
            .as_array()
            .and_then(|o| o.first())
            .and_then(|o| o["label"].as_str());
        answers.insert(
            id.to_owned(),
            json!({"answers": first.into_iter().collect::<Vec<_>>()}),
        );
    }
    json!({"answers": answers})
}

fn elicitation(action: ElicitationAction, content: Option<&Value>) -> (Reply, PolicyAnswer) {
    match action {
        ElicitationAction::Accept => (
            Ok(json!({"action": "accept", "content": content})),
            PolicyAnswer::Accept,
        ),
        ElicitationAction::Cancel => (
            Ok(json!({"action": "cancel", "content": null})),
            PolicyAnswer::Cancel,
        ),
        ElicitationAction::Decline => (
            Ok(json!({"action": "decline", "content": null})),
            PolicyAnswer::Decline,
        ),
    }
}

fn unsupported_tool() -> Value {
    json!({"contentItems": [{"type": "inputText", "text": "cas: no dynamic tool response is configured"}], "success": false})
}

fn refused(message: &str) -> (Reply, PolicyAnswer) {
    (Err(RpcError::new(-32603, message)), PolicyAnswer::Refused)
}

fn unsupported(method: &str, why: &str) -> (Reply, PolicyAnswer) {
    let message = format!("cas does not support the server request {method} ({why})");
    (
        Err(RpcError::new(METHOD_NOT_FOUND, message)),
        PolicyAnswer::Unsupported,
    )
}

fn unix_seconds() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests;
