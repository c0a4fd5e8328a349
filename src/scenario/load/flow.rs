//! The rules of the connection and flow steps: each step's own keys, and the references
//! between steps (`await_response`, `before`) and to connections, checked over the scenario.
//!
//! A scenario that names a connection runs on websocket targets only. `await_response` names
//! an earlier `request` with `wait = false` on the same connection, and every such request is
//! awaited exactly once. `before` names a step that takes a message (`await_notification`,
//! `await_request`, `drain`) on the same connection, since arrival order is per connection.

use std::time::Duration;

use super::{Step, StepKind};
use crate::errors::RuleError;
use crate::scenario::format::*;

/// The connection and flow kinds the step spells (zero or more; the caller wants exactly one).
pub(super) fn kinds(
    spec: &StepSpec,
    default_timeout: Duration,
    in_branch: bool,
) -> Result<Vec<StepKind>, RuleError> {
    let no_wait = spec.request.as_ref().is_some_and(|r| r.wait == Some(false));
    if in_branch
        && (spec.connection.is_some()
            || spec.connect.is_some()
            || spec.close_connection.is_some()
            || spec.before.is_some()
            || spec.await_response.is_some()
            || no_wait)
    {
        return Err(RuleError::broken(
            "a parallel branch runs plain steps on its one connection: connection, connect, close_connection, before, await_response and wait = false do not apply",
        ));
    }
    let mut kinds = Vec::new();
    if let Some(c) = spec.connect.clone() {
        connect(&c)?;
        kinds.push(StepKind::Connect(c));
    }
    match spec.close_connection {
        Some(true) => kinds.push(StepKind::CloseConnection),
        Some(false) => return Err(RuleError::broken("close_connection takes only true")),
        None => {}
    }
    if let Some(text) = &spec.sleep {
        kinds.push(StepKind::Sleep(parse_duration(
            "sleep",
            Some(text),
            Duration::ZERO,
        )?));
    }
    if let Some(d) = spec.drain.clone() {
        let window = parse_duration("drain.window", d.window.as_deref(), default_timeout)?;
        kinds.push(StepKind::Drain { spec: d, window });
    }
    if let Some(n) = spec.expect_never.clone() {
        kinds.push(StepKind::ExpectNever(n));
    }
    if let Some(a) = spec.await_response.clone() {
        if a.expect_result.is_some()
            && (a.expect_error.is_some() || a.expect_error_message_contains.is_some())
        {
            return Err(RuleError::broken(
                "await_response: expect_result and expect_error exclude each other",
            ));
        }
        kinds.push(StepKind::AwaitResponse(a));
    }
    if let Some(a) = spec.answer_all.clone() {
        answer_all(&a)?;
        kinds.push(StepKind::AnswerAll(a));
    }
    Ok(kinds)
}

fn connect(c: &ConnectStep) -> Result<(), RuleError> {
    if c.token.is_some() && c.credentials != Credentials::Target {
        return Err(RuleError::broken(
            "connect: token and credentials exclude each other",
        ));
    }
    if c.expect_refused_body_contains.is_some() && c.expect_refused.is_none() {
        return Err(RuleError::broken(
            "connect: expect_refused_body_contains needs expect_refused",
        ));
    }
    Ok(())
}

fn answer_all(a: &AnswerAllStep) -> Result<(), RuleError> {
    if a.answer_result.is_some() && a.answer_error.is_some() {
        return Err(RuleError::broken(
            "answer_all: answer_result and answer_error exclude each other",
        ));
    }
    if let Some(e) = &a.answer_error {
        let ok = e.get("code").is_some_and(serde_json::Value::is_i64)
            && e.get("message").is_some_and(serde_json::Value::is_string);
        if !ok {
            return Err(RuleError::Broken(format!(
                "answer_all.answer_error must be {{ code = <integer>, message = <string> }}, got {e}"
            )));
        }
    }
    Ok(())
}

/// The step-wide keys (`connection`, `before`, a request's `wait`) against the step's kind.
pub(super) fn step_keys(spec: &StepSpec, kind: &StepKind) -> Result<(), RuleError> {
    if let Some(name) = &spec.connection {
        if name.trim().is_empty() {
            return Err(RuleError::broken("connection needs a name"));
        }
        if !kind.is_protocol() {
            return Err(RuleError::Broken(format!(
                "connection applies to protocol steps, not {}",
                kind.as_str()
            )));
        }
    }
    let named = spec
        .connection
        .as_deref()
        .is_some_and(|c| c != DEFAULT_CONNECTION);
    if matches!(kind, StepKind::Connect(_) | StepKind::CloseConnection) && !named {
        return Err(RuleError::Broken(format!(
            "{} needs connection = \"NAME\" (not the default connection)",
            kind.as_str()
        )));
    }
    if spec.before.is_some() && !takes_a_message(kind) {
        return Err(RuleError::broken(
            "before applies to await_notification, await_request and drain",
        ));
    }
    if let StepKind::Request(r) = kind {
        let no_wait = r.wait == Some(false);
        let expects = r.expect_result.is_some()
            || r.expect_error.is_some()
            || r.expect_error_message_contains.is_some();
        if no_wait && (expects || r.retry.is_some()) {
            return Err(RuleError::broken(
                "a request with wait = false takes no expectations or retry: its await_response step checks the answer",
            ));
        }
    }
    Ok(())
}

fn takes_a_message(kind: &StepKind) -> bool {
    matches!(
        kind,
        StepKind::AwaitNotification(_) | StepKind::AwaitRequest(_) | StepKind::Drain { .. }
    )
}

/// The snake_case names of the kinds this module adds.
pub(super) fn kind_name(kind: &StepKind) -> &'static str {
    match kind {
        StepKind::Connect(_) => "connect",
        StepKind::CloseConnection => "close_connection",
        StepKind::Sleep(_) => "sleep",
        StepKind::Drain { .. } => "drain",
        StepKind::ExpectNever(_) => "expect_never",
        StepKind::AwaitResponse(_) => "await_response",
        StepKind::AnswerAll(_) => "answer_all",
        _ => "unknown",
    }
}

/// The method the kinds this module adds are about, if any.
pub(super) fn kind_method(kind: &StepKind) -> Option<&str> {
    match kind {
        StepKind::Drain { spec, .. } => Some(&spec.method),
        StepKind::ExpectNever(n) => Some(&n.method),
        StepKind::AnswerAll(a) => Some(&a.method),
        _ => None,
    }
}

/// The connection a step runs on (`default` when it names none).
pub fn connection_of(step: &Step) -> &str {
    step.connection.as_deref().unwrap_or(DEFAULT_CONNECTION)
}

/// The scenario-wide rules: websocket targets for named connections, and step references.
pub(super) fn check_scenario(targets: &[TargetName], steps: &[Step]) -> Result<(), RuleError> {
    let named = steps
        .iter()
        .find(|s| connection_of(s) != DEFAULT_CONNECTION);
    if let Some(step) = named {
        let ws = [TargetName::FakeWs, TargetName::CodexWs];
        if let Some(t) = targets.iter().find(|t| !ws.contains(t)) {
            return Err(RuleError::Broken(format!(
                "step {:?} uses connection {:?}: a scenario with named connections runs on websocket targets only (fake-ws, codex-ws), not {t}",
                step.name,
                connection_of(step)
            )));
        }
    }
    for (i, step) in steps.iter().enumerate() {
        if let StepKind::AwaitResponse(a) = &step.kind {
            awaited_request(steps, i, step, &a.request)?;
        }
        if let Some(other) = &step.before {
            ordered_pair(steps, step, other)?;
        }
    }
    for step in steps {
        if matches!(&step.kind, StepKind::Request(r) if r.wait == Some(false)) {
            let awaits = steps
                .iter()
                .filter(|s| matches!(&s.kind, StepKind::AwaitResponse(a) if a.request == step.name))
                .count();
            if awaits != 1 {
                return Err(RuleError::Broken(format!(
                    "request {:?} is sent with wait = false, so exactly one await_response step must name it (found {awaits})",
                    step.name
                )));
            }
        }
    }
    Ok(())
}

/// The one step named `name`, or an error naming who referred to it.
fn unique<'a>(steps: &'a [Step], name: &str, by: &Step) -> Result<(usize, &'a Step), RuleError> {
    let mut found = steps.iter().enumerate().filter(|(_, s)| s.name == name);
    match (found.next(), found.next()) {
        (Some(one), None) => Ok(one),
        (None, _) => Err(RuleError::Broken(format!(
            "step {:?} names step {name:?}, and there is no step of that name",
            by.name
        ))),
        (Some(_), Some(_)) => Err(RuleError::Broken(format!(
            "step {:?} names step {name:?}, and several steps have that name",
            by.name
        ))),
    }
}

fn awaited_request(steps: &[Step], at: usize, step: &Step, name: &str) -> Result<(), RuleError> {
    let (index, request) = unique(steps, name, step)?;
    let no_wait = matches!(&request.kind, StepKind::Request(r) if r.wait == Some(false));
    if !no_wait || index >= at {
        return Err(RuleError::Broken(format!(
            "await_response {:?} must name an earlier request step with wait = false; {name:?} is not one",
            step.name
        )));
    }
    if step.connection.is_some() && connection_of(step) != connection_of(request) {
        return Err(RuleError::Broken(format!(
            "await_response {:?} names connection {:?}, but its request went on {:?}",
            step.name,
            connection_of(step),
            connection_of(request)
        )));
    }
    Ok(())
}

fn ordered_pair(steps: &[Step], step: &Step, name: &str) -> Result<(), RuleError> {
    let (_, other) = unique(steps, name, step)?;
    if !takes_a_message(&other.kind) {
        return Err(RuleError::Broken(format!(
            "step {:?} has before = {name:?}, which takes no message (it must be an await_notification, await_request or drain)",
            step.name
        )));
    }
    if connection_of(step) != connection_of(other) {
        return Err(RuleError::Broken(format!(
            "before compares arrival order on one connection; {:?} is on {:?} and {name:?} on {:?}",
            step.name,
            connection_of(step),
            connection_of(other)
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
