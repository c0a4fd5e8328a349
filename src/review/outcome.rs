//! Outcome classification: from what a lane saw to one failure code, and the output document.
//!
//! The structured result is parsed from the reviewer model's own JSON, the raw `agentMessage`
//! of the review turn (codex starts that item and never completes it; its text arrives in
//! `item/started` and `item/agentMessage/delta`). That is the only source cas trusts
//! (`reviewResultSource: "review_agent_message_json"`, or `exited_review_mode_json` when the
//! rendered `exitedReviewMode` text is itself the JSON). The rendered text is kept, never
//! parsed back into findings: a rendered clean review and a plain non-JSON answer look the
//! same there, and guessing would turn missing output into a false success.
//!
//! Success needs all of: a compatible codex, an app-server lane (websocket or stdio), no fallback, a structured
//! result and no blocking failure code. Transport progress is not review success.

use serde_json::{json, Value};
use std::path::Path;

pub use super::record::{Finding, ReviewResult};
use super::record::{ReviewRecord, ReviewStatus, SelectedTransport};
use crate::outcome::{CompatibilityVerdict, FailureCode, TurnStatus};

/// Every failure code review_session reports (tests/review_session.rs names a test for each).
pub const FAILURE_CODES: &[FailureCode] = &[
    FailureCode::WaitTimedOut,
    FailureCode::ReviewInterrupted,
    FailureCode::ApprovalDenied,
    FailureCode::ReviewFailed,
    FailureCode::ReviewOutputMissing,
    FailureCode::WebsocketBootstrapFailed,
    FailureCode::StdioBootstrapFailed,
    FailureCode::ReviewTransportLost,
    FailureCode::HooksUnsupported,
    FailureCode::HookNotObserved,
    FailureCode::HookBlocked,
    FailureCode::HookFailed,
    FailureCode::HookStopped,
    FailureCode::HookObservedWhileOff,
    FailureCode::UnsafeParentThreadState,
    FailureCode::ParentThreadNotMaterialized,
    FailureCode::ReviewTargetInvalid,
    FailureCode::IncompatibleCodexReviewRuntime,
];

/// The output document's format version.
pub const OUTPUT_VERSION: u32 = 1;

/// Parses the reviewer model's JSON (`findings`, `overall_explanation`, …); a ```json fence
/// around it is tolerated. Anything else is not a structured result.
pub fn parse_review_json(text: &str) -> Option<ReviewResult> {
    let trimmed = text.trim();
    let unfenced = trimmed
        .strip_prefix("```json")
        .or_else(|| trimmed.strip_prefix("```"))
        .and_then(|t| t.trim_end().strip_suffix("```"))
        .unwrap_or(trimmed);
    let value: Value = serde_json::from_str(unfenced.trim()).ok()?;
    let findings = value.get("findings")?.as_array()?;
    let explanation = value.get("overall_explanation")?.as_str()?;
    let mut parsed = Vec::new();
    for f in findings {
        parsed.push(Finding {
            title: f.get("title")?.as_str()?.to_owned(),
            body: f
                .get("body")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned(),
            confidence_score: f.get("confidence_score").and_then(Value::as_f64),
            priority: f.get("priority").and_then(Value::as_i64),
            code_location: f.get("code_location").map(camel_location),
        });
    }
    Some(ReviewResult {
        findings: parsed,
        overall_correctness: value
            .get("overall_correctness")
            .and_then(Value::as_str)
            .map(str::to_owned),
        overall_explanation: explanation.to_owned(),
        overall_confidence_score: value
            .get("overall_confidence_score")
            .and_then(Value::as_f64),
    })
}

/// `{absolute_file_path, line_range}` as `{absoluteFilePath, lineRange}`.
fn camel_location(location: &Value) -> Value {
    json!({
        "absoluteFilePath": location.get("absolute_file_path"),
        "lineRange": location.get("line_range"),
    })
}

/// What a lane saw of a review that ended, for classification.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Observed {
    /// The review turn's final status (`completed`, `interrupted`, `failed`), if it ended.
    pub turn_status: Option<TurnStatus>,
    /// The turn's error message, if any.
    pub turn_error: Option<String>,
    /// The connection (or the host) went away before the turn ended, and why.
    pub transport_lost: Option<String>,
    /// Approvals cas declined or cancelled during the review (method names).
    pub approvals_denied: Vec<String>,
    /// The hook summary's failure code.
    pub hook_code: Option<FailureCode>,
    /// Whether a structured result was parsed.
    pub has_result: bool,
}

/// The failure code and hint of a review that ended, by precedence: transport lost, approval
/// denied, hook blocked/failed/stopped, interrupted, failed, output missing, then the hook
/// codes that do not stop a review (`hook_not_observed`, `hook_observed_while_off`).
pub fn classify(o: &Observed) -> (Option<FailureCode>, Option<String>) {
    let hook = o.hook_code;
    if let Some(why) = &o.transport_lost {
        return (Some(FailureCode::ReviewTransportLost), Some(why.clone()));
    }
    if !o.approvals_denied.is_empty() {
        let hint = format!(
            "cas declined {} during the review (see the approval flags)",
            o.approvals_denied.join(", ")
        );
        return (Some(FailureCode::ApprovalDenied), Some(hint));
    }
    if let Some(
        code @ (FailureCode::HookBlocked | FailureCode::HookFailed | FailureCode::HookStopped),
    ) = hook
    {
        return (Some(code), Some(format!("a hook run ended {code}")));
    }
    match &o.turn_status {
        Some(TurnStatus::Interrupted) => {
            return (
                Some(FailureCode::ReviewInterrupted),
                Some("the review turn was interrupted".into()),
            )
        }
        Some(TurnStatus::Failed) => {
            let why = o
                .turn_error
                .clone()
                .unwrap_or_else(|| "no error given".into());
            return (
                Some(FailureCode::ReviewFailed),
                Some(format!("the review turn failed: {why}")),
            );
        }
        Some(TurnStatus::Completed) => {}
        other => {
            let other = other.as_ref().map(TurnStatus::as_str);
            let hint = format!("the review turn ended with status {other:?}");
            return (Some(FailureCode::ReviewFailed), Some(hint));
        }
    }
    if !o.has_result {
        let hint = "the review completed but the model's answer is not review JSON \
                    (the rendered text is in the record)";
        return (Some(FailureCode::ReviewOutputMissing), Some(hint.into()));
    }
    match hook {
        Some(code) => (Some(code), Some(format!("hooks: {code}"))),
        None => (None, None),
    }
}

/// The failure code and hint a report shows: the record's, else `wait_timed_out` when the wait
/// ran out before the review ended.
pub fn reported_failure(
    record: &ReviewRecord,
    wait_timed_out: bool,
) -> (Option<FailureCode>, Option<String>) {
    match (&record.outcome.failure_code, wait_timed_out) {
        (Some(code), _) => (Some(*code), record.outcome.failure_hint.clone()),
        (None, true) => (
            Some(FailureCode::WaitTimedOut),
            Some(format!(
                "the review is still {}; wait again on the same reviewThreadId",
                status_name(record.status)
            )),
        ),
        (None, false) => (None, None),
    }
}

/// Whether the review succeeded, given the failure code reported for it: a compatible codex,
/// an app-server lane (websocket, or stdio inside `start --wait`), no fallback, a structured result and no failure code.
pub fn succeeded(record: &ReviewRecord, code: Option<FailureCode>) -> bool {
    record.codex.compatibility_verdict == CompatibilityVerdict::Compatible
        && matches!(
            record.transport.selected,
            SelectedTransport::Websocket | SelectedTransport::Stdio
        )
        && record.fallback.is_none()
        && record.outcome.result.is_some()
        && code.is_none()
}

/// The output document of start, start --wait, status and wait: built from the record alone,
/// so fresh and recovered output agree. `wait_timed_out` is the one code that is not in the
/// record: the review goes on, and the handle stays waitable.
pub fn document(
    record: &ReviewRecord,
    path: Option<&std::path::Path>,
    wait_timed_out: bool,
) -> Value {
    let t = &record.transport;
    let fallback = record.fallback.as_ref();
    let (code, hint) = reported_failure(record, wait_timed_out);
    let success = succeeded(record, code);
    let mut doc = json!({
        "schemaVersion": OUTPUT_VERSION,
        "success": success,
        "status": status_name(record.status),
        "reviewThreadId": record.review_thread_id,
        "reviewTurnId": record.review_turn_id,
        "target": record.target,
        "cwd": record.cwd,
        "parentThreadId": record.parent.thread_id,
        "parentMode": record.parent.mode,
        "parentDecision": record.parent.decision,
        "parentMaterialized": record.parent.materialized,
        "resolvedCodexPath": record.codex.path,
        "resolvedCodexVersion": record.codex.version,
        "compatibilityVerdict": record.codex.compatibility_verdict,
        "compatibilityReasons": record.codex.compatibility_reasons,
        "selectedTransport": t.selected,
        "selectionReason": t.selection_reason,
        "degradedFallback": fallback.is_some(),
        "managedServerPid": t.server_pid,
        "managedServerListenUrl": t.listen_url,
        "managedServerStderrLogPath": t.stderr_log_path,
        "managedServerReapedAtMs": t.server_reaped_at_ms,
        "orphanTtlSeconds": t.orphan_ttl_seconds,
        "hostPid": t.host_pid,
        "failureCode": code,
        "failureHint": hint,
        "codexErrors": {"count": record.outcome.codex_errors,
                        "lastMessage": record.outcome.last_codex_error},
    });
    let rest = result_fields(record, path);
    if let (Some(d), Value::Object(r)) = (doc.as_object_mut(), rest) {
        d.extend(r);
    }
    doc
}

/// The fields of the output document that follow the status: the result, the fallback, and
/// where the record and its logs are kept.
fn result_fields(record: &ReviewRecord, path: Option<&std::path::Path>) -> Value {
    let o = &record.outcome;
    let fallback = record.fallback.as_ref();
    json!({
        "reviewResultAvailable": o.result.is_some(),
        "reviewResultSource": o.result_source,
        "reviewResult": o.result,
        "reviewText": o.review_text,
        "fallbackUsed": fallback.is_some(),
        "fallbackTransport": fallback.map(|f| f.transport.clone()),
        "fallbackExitCode": fallback.and_then(|f| f.exit_code),
        "fallbackOutputText": fallback.map(|f| f.output_text.clone()),
        "fallbackErrorText": fallback.map(|f| f.error_text.clone()),
        "hookSummary": record.hook_summary,
        "serverRequests": record.server_requests,
        "codexHome": record.codex_home,
        "hermetic": record.hermetic,
        "recordPath": path.map(Path::to_owned).or_else(|| record.path()),
        "eventLogPath": record.event_log_path,
        "createdAtMs": record.created_at_ms,
        "updatedAtMs": record.updated_at_ms,
        "terminalAtMs": record.terminal_at_ms,
    })
}

/// The snake_case name of a status.
pub fn status_name(status: ReviewStatus) -> String {
    serde_json::to_value(status)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests;
