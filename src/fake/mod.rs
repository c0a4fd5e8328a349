//! The fake app-server: codex's wire protocol and lifecycle rules, answers from a script.
//!
//! It exists for faults the real server cannot be made to show on demand. Without faults it
//! keeps the real server's order of gates, with the same codes and messages: an undecodable
//! request (unknown method, missing `params`) gets `-32600 "Invalid request: …"` first, then any
//! request before `initialize` gets `-32600 "Not initialized"`, a second `initialize` gets
//! `-32600 "Already initialized"`, and an experimental method without the capability gets
//! `"<method> requires experimentalApi capability"`. Then the first matching rule answers.
//! Answers the client sends to the fake's own requests are echoed back as a
//! `fake/serverRequestAnswered` notification, so a scenario can check exactly what cas answered.

pub mod catalog;
mod faults;
pub mod peers;
pub mod script;
pub mod ws_server;

use serde_json::{json, Value};
use std::sync::Arc;

use crate::jsonrpc::{Message, RequestId, RpcError};
use crate::matcher::is_subset;
use crate::protocol::{INITIALIZE, INVALID_REQUEST};
use crate::transport::{Connection, Inbound, Outbound};
use catalog::Catalog;
use peers::Peers;
use script::{Action, FakeScript, Fault, Rule, ScriptedSend, SendTo};

/// The notification that reports what the client answered to a fake server request.
pub const ANSWER_ECHO: &str = "fake/serverRequestAnswered";

/// Why serving a connection ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServeEnd {
    /// The client went away.
    PeerClosed,
    /// A rule said to crash; the caller makes that real (kill the process or drop the socket).
    Crash,
}

struct FakeState {
    initialized: bool,
    experimental: bool,
    next_server_id: i64,
    uses: Vec<u32>,
    /// The server's other connections, and this one's number among them.
    peers: Option<(Arc<Peers>, usize)>,
}

/// Serves one client connection by the script until the client leaves or a rule crashes.
pub async fn serve(connection: Connection, script: Arc<FakeScript>) -> ServeEnd {
    serve_among(connection, script, None).await
}

/// Like [`serve`], as one of `peers`' connections (scripted sends may go to the others).
pub async fn serve_among(
    connection: Connection,
    script: Arc<FakeScript>,
    peers: Option<Arc<Peers>>,
) -> ServeEnd {
    let (out, mut inbound) = connection.split();
    let peers = peers.map(|p| {
        let me = p.join(out.clone());
        (p, me)
    });
    let leave = |state: &FakeState| {
        if let Some((p, me)) = &state.peers {
            p.leave(*me);
        }
    };
    let mut state = FakeState {
        initialized: false,
        experimental: false,
        next_server_id: 0,
        uses: vec![0; script.rules.len()],
        peers,
    };
    while let Some(item) = inbound.recv().await {
        match item {
            Inbound::Message(Message::Request { id, method, params }) => {
                if script.has(Fault::NeverAnswer) {
                    continue;
                }
                if handle_request(&out, &script, &mut state, id, &method, params).await
                    == Some(ServeEnd::Crash)
                {
                    // A crash writes nothing more: whatever is queued is lost, as in a real one.
                    leave(&state);
                    inbound.abort();
                    return ServeEnd::Crash;
                }
            }
            Inbound::Message(Message::Response { id, result }) => {
                echo_answer(&out, id, json!({"result": result}));
            }
            Inbound::Message(Message::Error { id, error }) => {
                echo_answer(&out, id, json!({"error": error.to_value()}));
            }
            Inbound::Message(Message::Notification { .. })
                if script.has(Fault::AnswerNotifications) =>
            {
                let _ = out.send_text(r#"{"id":null,"result":{}}"#.to_owned());
            }
            // Notifications (`initialized`) and undecodable lines get no answer, as with codex.
            Inbound::Message(Message::Notification { .. })
            | Inbound::Malformed(_)
            | Inbound::Oversized(_) => {}
            Inbound::Closed(_) => break,
        }
    }
    leave(&state);
    drop(out);
    inbound.close(std::time::Duration::from_secs(2)).await;
    ServeEnd::PeerClosed
}

fn echo_answer(out: &Outbound, id: RequestId, answer: Value) {
    let mut params = json!({"id": id.to_value()});
    if let (Some(p), Value::Object(a)) = (params.as_object_mut(), answer) {
        p.extend(a);
    }
    let _ = out.send(&Message::notification(ANSWER_ECHO, Some(params)));
}

async fn handle_request(
    out: &Outbound,
    script: &FakeScript,
    state: &mut FakeState,
    id: RequestId,
    method: &str,
    params: Option<Value>,
) -> Option<ServeEnd> {
    let refuse = |message: String| {
        let _ = out.send(&Message::Error {
            id: id.clone(),
            error: RpcError::new(INVALID_REQUEST, message),
        });
    };
    let has_rule = script.rules.iter().any(|r| r.method == method);
    let info = Catalog::get().lookup(method);
    if info.is_none() && !has_rule && !script.has(Fault::AcceptUnknownMethods) {
        refuse(Catalog::get().unknown_method_message(method));
        return None;
    }
    let params_required = info.map(|i| i.params_required).unwrap_or(true);
    if params_required && matches!(params, None | Some(Value::Null)) {
        refuse("Invalid request: missing field `params`".into());
        return None;
    }
    let params = params.unwrap_or(Value::Null);
    if method == INITIALIZE {
        return initialize(out, script, state, id, &params).await;
    }
    if !state.initialized && !script.has(Fault::ServeBeforeInitialize) {
        refuse("Not initialized".into());
        return None;
    }
    let experimental = info.map(|i| i.experimental).unwrap_or(false);
    if experimental && !state.experimental && !script.has(Fault::IgnoreExperimentalGate) {
        refuse(format!("{method} requires experimentalApi capability"));
        return None;
    }
    let Some(index) = pick_rule(script, state, method, &params) else {
        let reply = if script.has(Fault::AcceptUnknownMethods) {
            Ok(json!({}))
        } else {
            Err(RpcError::new(
                -32603,
                format!("cas fake server: no scripted answer for {method}"),
            ))
        };
        send_reply(out, id, reply);
        return None;
    };
    answer_by_rule(out, script, &script.rules[index], state, id).await
}

async fn initialize(
    out: &Outbound,
    script: &FakeScript,
    state: &mut FakeState,
    id: RequestId,
    params: &Value,
) -> Option<ServeEnd> {
    if let Some(delay) = script.initialize_delay {
        tokio::time::sleep(delay).await;
    }
    if state.initialized && !script.has(Fault::AcceptSecondInitialize) {
        send_reply(
            out,
            id,
            Err(RpcError::new(INVALID_REQUEST, "Already initialized")),
        );
        return None;
    }
    let client = &params["clientInfo"];
    let (Some(name), Some(version)) = (client["name"].as_str(), client["version"].as_str()) else {
        let field = if client.is_null() {
            "clientInfo"
        } else {
            "version"
        };
        send_reply(
            out,
            id,
            Err(RpcError::new(
                INVALID_REQUEST,
                format!("Invalid request: missing field `{field}`"),
            )),
        );
        return None;
    };
    if !state.initialized {
        state.experimental = params["capabilities"]["experimentalApi"]
            .as_bool()
            .unwrap_or(false);
    }
    state.initialized = true;
    let mut result = json!({
        "userAgent": format!("{name}/0.169.0 (cas fake server; x86_64) ({name}; {version})"),
        "codexHome": "/cas-fake/codex-home",
        "platformFamily": "unix",
        "platformOs": "linux",
    });
    if script.has(Fault::IncompleteInitializeResult) {
        if let Some(fields) = result.as_object_mut() {
            fields.remove("codexHome");
        }
    }
    send_reply(out, id, Ok(result));
    send_all(out, state, &script.after_initialize).await;
    None
}

fn pick_rule(
    script: &FakeScript,
    state: &mut FakeState,
    method: &str,
    params: &Value,
) -> Option<usize> {
    let index = script.rules.iter().enumerate().position(|(i, rule)| {
        rule.method == method
            && rule.times.is_none_or(|t| state.uses[i] < t)
            && rule
                .when_params
                .as_ref()
                .is_none_or(|want| is_subset(want, params))
    })?;
    state.uses[index] += 1;
    Some(index)
}

async fn answer_by_rule(
    out: &Outbound,
    script: &FakeScript,
    rule: &Rule,
    state: &mut FakeState,
    id: RequestId,
) -> Option<ServeEnd> {
    if let Some(delay) = rule.delay {
        tokio::time::sleep(delay).await;
    }
    match rule.action {
        Some(Action::Crash) => return Some(ServeEnd::Crash),
        Some(Action::Hang) => {}
        None => {
            let reply = match (&rule.result, &rule.error) {
                (_, Some(error)) => {
                    let error = null_marked(error);
                    Err(serde_json::from_value(error.clone()).unwrap_or_else(|_| {
                        RpcError::new(
                            -32603,
                            format!("cas fake server: bad scripted error {error}"),
                        )
                    }))
                }
                (Some(result), None) => Ok(null_marked(result)),
                (None, None) => Ok(json!({})),
            };
            faults::send_rule_reply(out, script, id, reply);
        }
    }
    send_all(out, state, &rule.then).await;
    None
}

async fn send_all(out: &Outbound, state: &mut FakeState, sends: &[ScriptedSend]) {
    for send in sends {
        if let Some(delay) = send.delay {
            tokio::time::sleep(delay).await;
        }
        faults::send_bulk(out, send).await;
        let targets = recipients(out, state, send.to);
        if let Some(n) = &send.notify {
            let params = null_marked(&n.params);
            let mut message = Message::notification(&n.method, Some(params));
            if let Message::Notification { emitted_at_ms, .. } = &mut message {
                *emitted_at_ms = Some(now_ms());
            }
            for target in &targets {
                let _ = target.send(&message);
            }
        }
        if let Some(r) = &send.request {
            // Ids count per sender; a request to another connection is answered there and
            // echoed there.
            let id = RequestId::Int(state.next_server_id);
            state.next_server_id += 1;
            let params = null_marked(&r.params);
            let message = Message::request(id, &r.method, Some(params));
            for target in &targets {
                let _ = target.send(&message);
            }
        }
    }
}

/// Where a scripted message goes: this connection, the others, or all of them.
fn recipients(out: &Outbound, state: &FakeState, to: SendTo) -> Vec<Outbound> {
    match (to, &state.peers) {
        (SendTo::This, _) => vec![out.clone()],
        (SendTo::Others, Some((peers, me))) => peers.others(*me, false),
        (SendTo::All, Some((peers, me))) => peers.others(*me, true),
        (SendTo::Others, None) => Vec::new(),
        (SendTo::All, None) => vec![out.clone()],
    }
}

/// A scripted value as sent: `"$null"` stands for JSON null (TOML has none).
fn null_marked(value: &Value) -> Value {
    crate::matcher::substitute(value, &Default::default())
}

fn send_reply(out: &Outbound, id: RequestId, reply: Result<Value, RpcError>) {
    let message = match reply {
        Ok(result) => Message::Response { id, result },
        Err(error) => Message::Error { id, error },
    };
    let _ = out.send(&message);
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests;
