//! Checking one step as written and turning it into a [`Step`]; the rules a file must keep.
//!
//! A step has exactly one kind. Branch steps of a `parallel` group talk to their own instance,
//! so they may only be protocol steps; a `local` target has no server, so it takes no protocol
//! step.

use serde_json::Value;
use std::time::Duration;

use super::{Step, StepKind};
use crate::errors::RuleError;
use crate::retry::BackoffSchedule;
use crate::scenario::format::*;

/// Checks step `index` (0-based) and resolves its name and timeout.
pub(super) fn step(
    index: usize,
    spec: StepSpec,
    default_timeout: Duration,
    in_branch: bool,
) -> Result<Step, RuleError> {
    let label = format!(
        "step {} ({})",
        index + 1,
        spec.name.as_deref().unwrap_or("unnamed")
    );
    let at = |source: RuleError| RuleError::Step {
        label: label.clone(),
        source: Box::new(source),
    };
    if spec.expect_ledger_error.is_some() && spec.ledger.is_none() {
        return Err(at(RuleError::broken(
            "expect_ledger_error needs a ledger step",
        )));
    }
    let mut kinds = protocol_kinds(&spec).map_err(&at)?;
    kinds.extend(probe_kinds(&spec, default_timeout).map_err(&at)?);
    kinds.extend(super::world::kinds(&spec).map_err(&at)?);
    kinds.extend(super::flow::kinds(&spec, default_timeout, in_branch).map_err(&at)?);
    if kinds.len() != 1 {
        return Err(at(RuleError::Broken(format!(
            "a step needs exactly one of request, notify, await_notification, await_request, expect_silence, ledger, ledger_show, parallel, burst, expect_model_request, write_file, expect_file, run, connect, close_connection, sleep, drain, expect_never, await_response, answer_all; found {}",
            kinds.len()
        ))));
    }
    let kind = kinds.remove(0);
    super::flow::step_keys(&spec, &kind).map_err(&at)?;
    if in_branch && !kind.is_protocol() {
        return Err(at(RuleError::Broken(format!(
            "a parallel branch runs protocol steps only, not {}",
            kind.as_str()
        ))));
    }
    let timeout =
        parse_duration("timeout", spec.timeout.as_deref(), default_timeout).map_err(&at)?;
    let name = spec.name.unwrap_or_else(|| match kind.method() {
        Some(m) => format!("{} {m}", kind.as_str()),
        None => kind.as_str().to_owned(),
    });
    Ok(Step {
        name,
        timeout,
        kind,
        connection: spec.connection,
        before: spec.before,
    })
}

fn protocol_kinds(spec: &StepSpec) -> Result<Vec<StepKind>, RuleError> {
    let mut kinds = Vec::new();
    if let Some(r) = spec.request.clone() {
        request(&r)?;
        kinds.push(StepKind::Request(r));
    }
    if let Some(n) = spec.notify.clone() {
        kinds.push(StepKind::Notify(n));
    }
    if let Some(a) = spec.await_notification.clone() {
        kinds.push(StepKind::AwaitNotification(a));
    }
    if let Some(a) = spec.await_request.clone() {
        if a.answer_result.is_some() == a.answer_error.is_some() {
            return Err(RuleError::broken(
                "await_request needs exactly one of answer_result or answer_error",
            ));
        }
        if let Some(e) = &a.answer_error {
            check_error_object(e)?;
        }
        kinds.push(StepKind::AwaitRequest(a));
    }
    if let Some(s) = spec.expect_silence.clone() {
        let window = parse_duration("window", Some(&s.window), Duration::ZERO)?;
        kinds.push(StepKind::ExpectSilence {
            window,
            method: s.method,
        });
    }
    if let Some(b) = spec.burst.clone() {
        if b.count == 0 {
            return Err(RuleError::broken("burst.count must be at least 1"));
        }
        if let Some(retry) = &b.retry {
            schedule_of(retry)?;
        }
        kinds.push(StepKind::Burst(b));
    }
    Ok(kinds)
}

fn request(r: &RequestStep) -> Result<(), RuleError> {
    if r.expect_result.is_some()
        && (r.expect_error.is_some() || r.expect_error_message_contains.is_some())
    {
        return Err(RuleError::broken(
            "expect_result and expect_error exclude each other",
        ));
    }
    if r.omit_params && r.params.is_some() {
        return Err(RuleError::broken(
            "omit_params and params exclude each other",
        ));
    }
    if (r.expect_attempts.is_some() || r.expect_delays_ms.is_some()) && r.retry.is_none() {
        return Err(RuleError::broken(
            "expect_attempts and expect_delays_ms need a retry schedule",
        ));
    }
    if let Some(retry) = &r.retry {
        schedule_of(retry)?;
    }
    Ok(())
}

fn probe_kinds(spec: &StepSpec, default_timeout: Duration) -> Result<Vec<StepKind>, RuleError> {
    let mut kinds = Vec::new();
    if let Some(op) = spec.ledger.clone() {
        serde_json::from_value::<crate::ledger::Op>(op.clone()).map_err(RuleError::LedgerOp)?;
        kinds.push(StepKind::Ledger {
            op,
            expect_error: spec.expect_ledger_error.clone(),
        });
    }
    if let Some(show) = spec.ledger_show.clone() {
        kinds.push(StepKind::LedgerShow(show));
    }
    if let Some(p) = spec.parallel.clone() {
        if p.for_each.is_empty() || p.steps.is_empty() {
            return Err(RuleError::broken(
                "parallel needs a non-empty for_each and steps",
            ));
        }
        let steps = p
            .steps
            .into_iter()
            .enumerate()
            .map(|(i, s)| step(i, s, default_timeout, true))
            .collect::<Result<Vec<_>, _>>()
            .map_err(RuleError::in_parallel)?;
        kinds.push(StepKind::Parallel {
            for_each: p.for_each,
            steps,
        });
    }
    Ok(kinds)
}

/// A `local` target takes no protocol step; a server target needs a step that uses it (and
/// the connection and flow rules hold).
pub(super) fn targets_fit_steps(targets: &[TargetName], steps: &[Step]) -> Result<(), RuleError> {
    super::flow::check_scenario(targets, steps)?;
    let protocol = steps.iter().find(|s| s.kind.is_protocol());
    let uses_server = protocol.is_some()
        || steps
            .iter()
            .any(|s| matches!(s.kind, StepKind::Parallel { .. }));
    if targets.contains(&TargetName::Local) {
        if let Some(step) = protocol {
            return Err(RuleError::Broken(format!(
                "the local target has no server, but step {:?} talks to one",
                step.name
            )));
        }
    } else if !uses_server {
        return Err(RuleError::broken(
            "no step talks to a server: use targets = [\"local\"]",
        ));
    }
    Ok(())
}

/// The backoff schedule a step's `retry` table describes.
pub fn schedule_of(spec: &RetrySpec) -> Result<BackoffSchedule, RuleError> {
    Ok(BackoffSchedule {
        max_retries: spec.max_retries,
        base: parse_duration("retry.base", Some(&spec.base), Duration::ZERO)?,
        max: parse_duration("retry.max", Some(&spec.max), Duration::ZERO)?,
        total_deadline: parse_duration(
            "retry.deadline",
            spec.deadline.as_deref(),
            Duration::from_secs(30),
        )?,
    })
}

fn check_error_object(e: &Value) -> Result<(), RuleError> {
    let ok =
        e.get("code").is_some_and(Value::is_i64) && e.get("message").is_some_and(Value::is_string);
    if ok {
        Ok(())
    } else {
        Err(RuleError::Broken(format!(
            "answer_error must be {{ code = <integer>, message = <string> }}, got {e}"
        )))
    }
}
