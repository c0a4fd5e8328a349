//! Why a lane's instance failed, as a [`FailureCode`] and a message a person can act on.
//!
//! A start failure keeps its launch error's code, except that a handshake that timed out or
//! whose connection closed says so (`deadline_exceeded`, `connection_closed`). A failed sample
//! is `deadline_exceeded` (its message names the method awaited and whether a response with an
//! unknown id arrived on the connection), `connection_closed` (with the server's exit status or signal),
//! `overload_retry_exhausted`, `server_error` (with the JSON-RPC code) or `session_error`.

use crate::errors::{FailureCoded, LaunchError, SessionError};
use crate::jsonrpc::RpcError;
use crate::outcome::FailureCode;
use crate::protocol::OVERLOADED;
use crate::retry::RetryReport;
use crate::session::Tally;

/// The code of an instance that did not start.
pub fn start_failure_code(error: &LaunchError) -> FailureCode {
    match error {
        LaunchError::Initialize { error, .. } => match error {
            SessionError::Timeout { .. } => FailureCode::DeadlineExceeded,
            SessionError::Closed { .. } => FailureCode::ConnectionClosed,
            _ => FailureCode::LaunchFailed,
        },
        other => other.failure_code(),
    }
}

/// The code and message of a sample the server refused.
pub fn refusal(rpc: &RpcError, report: &RetryReport) -> (FailureCode, String) {
    let gave_up = report
        .gave_up
        .map(|g| format!(" (gave up: {g} after {} attempts)", report.attempts));
    let code = if rpc.code == OVERLOADED && report.gave_up.is_some() {
        FailureCode::OverloadRetryExhausted
    } else {
        FailureCode::ServerError
    };
    let text = format!(
        "server error {} {:?}{}",
        rpc.code,
        rpc.message,
        gave_up.unwrap_or_default()
    );
    (code, text)
}

/// The code and message of a sample that got no answer; `strays` are the responses to unknown
/// ids the session saw so far.
pub fn session_failure(error: &SessionError, strays: &Tally<String>) -> (FailureCode, String) {
    match error {
        SessionError::Timeout { .. } => {
            let mut text = error.to_string();
            if !strays.is_empty() {
                text.push_str(&format!(
                    "; {} response(s) with an unknown id arrived on this connection (ids {})",
                    strays.count,
                    strays.samples.join(", ")
                ));
            }
            (FailureCode::DeadlineExceeded, text)
        }
        SessionError::Closed { .. } => (FailureCode::ConnectionClosed, error.to_string()),
        _ => (FailureCode::SessionError, error.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn report(gave_up: Option<crate::retry::GaveUp>) -> RetryReport {
        RetryReport {
            attempts: 3,
            retries: 2,
            delays_ms: vec![1, 2],
            gave_up,
        }
    }

    #[test]
    fn refusals_are_server_errors_unless_overload_outlasted_the_retries() {
        let overload = RpcError::new(OVERLOADED, "busy");
        let (code, text) = refusal(&overload, &report(Some(crate::retry::GaveUp::RetryBudget)));
        assert_eq!(code, FailureCode::OverloadRetryExhausted);
        assert!(
            text.contains("-32001") && text.contains("gave up"),
            "{text}"
        );
        let (code, text) = refusal(&RpcError::new(-32600, "bad"), &report(None));
        assert_eq!(code, FailureCode::ServerError);
        assert!(text.starts_with("server error -32600"), "{text}");
    }

    #[test]
    fn a_timeout_says_what_was_awaited_and_that_a_stray_response_came() {
        let timeout = SessionError::Timeout {
            method: "thread/list".into(),
            after: Duration::from_secs(2),
        };
        let mut strays = Tally::default();
        let (code, text) = session_failure(&timeout, &strays);
        assert_eq!(code, FailureCode::DeadlineExceeded);
        assert_eq!(text, "no response to thread/list within 2s");
        strays.add(|| "99".to_owned());
        let (_, text) = session_failure(&timeout, &strays);
        assert!(
            text.ends_with("1 response(s) with an unknown id arrived on this connection (ids 99)")
        );
        let closed = SessionError::Closed {
            waiting_for: "thread/list".into(),
            reason: "exited with status 3".into(),
        };
        assert_eq!(
            session_failure(&closed, &strays).0,
            FailureCode::ConnectionClosed
        );
    }
}
