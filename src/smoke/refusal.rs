//! Whose precondition a refused smoke request names: the protocol's own, or an input the user gave.
//!
//! A refusal of the protocol's own making ("no active turn to steer" after the turn ended)
//! proves the request reached the server, which is all a reachability check asks. A refusal of
//! an input the user gave (`--thread-id` of a thread the server does not know) is a failed
//! check with a [`FailureCode`]. The messages are those of codex 0.169.0; the README's
//! smoke_check table lists the same ones.

use crate::jsonrpc::RpcError;
use crate::outcome::FailureCode;
use crate::protocol::{ErrorClass, INVALID_REQUEST};

/// Where the thread of the checks came from, which decides whose a thread refusal is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThreadOrigin {
    /// The smoke check started it with `thread/start`.
    Started,
    /// The user named it with `--thread-id`.
    Given,
}

/// How a refusal was judged.
#[derive(Debug, Clone, PartialEq)]
pub struct Judgement {
    /// Whether the check still proved what it should.
    pub ok: bool,
    /// The code of a refused user input.
    pub failure_code: Option<FailureCode>,
    /// What came back, in a phrase.
    pub detail: String,
}

/// Message prefixes (codex 0.169.0, `-32600`) that refuse a thread id: the user's mistake for a
/// given thread, the server's failure for one cas started.
const UNKNOWN_THREAD: &[&str] = &[
    "invalid session id:",
    "invalid thread id:",
    "thread not found:",
];

/// The prefix that refuses a thread without a rollout: the user's mistake only for a given thread.
const NO_ROLLOUT: &str = "no rollout found for thread id";

/// Judges a refusal: a refused precondition of the protocol proves reachability; a refused user
/// input fails with its code; anything that says cas and the server do not speak the same
/// protocol fails without one.
pub fn judge_refusal(error: &RpcError, origin: ThreadOrigin) -> Judgement {
    let message = truncate(&error.message);
    let failed = |detail: String| Judgement {
        ok: false,
        failure_code: None,
        detail,
    };
    match ErrorClass::of(error) {
        ErrorClass::Other if error.code == INVALID_REQUEST => match whose(&error.message, origin) {
            Whose::User(code) => Judgement {
                ok: false,
                failure_code: Some(code),
                detail: format!("the server refused the given thread id: {message}"),
            },
            Whose::Server => failed(format!(
                "the server refused the thread cas started: {message}"
            )),
            Whose::Protocol => Judgement {
                ok: true,
                failure_code: None,
                detail: format!("reached the server; precondition refused: {message}"),
            },
        },
        ErrorClass::UnknownMethod => {
            failed(format!("the server does not know this method: {message}"))
        }
        ErrorClass::InvalidParams => failed(format!("the server rejected cas's params: {message}")),
        class => failed(format!("refused ({class}): {message}")),
    }
}

/// Whose precondition a `-32600` refusal names.
enum Whose {
    /// The protocol's own (a turn that already ended): reachability is proved.
    Protocol,
    /// An input the user gave: a failed check with this code.
    User(FailureCode),
    /// The server's, about a thread cas itself started: a failed check, no user to blame.
    Server,
}

/// Whose precondition `message` names, given where the thread came from.
fn whose(message: &str, origin: ThreadOrigin) -> Whose {
    let unknown = UNKNOWN_THREAD.iter().any(|p| message.starts_with(p));
    match origin {
        ThreadOrigin::Given if unknown || message.starts_with(NO_ROLLOUT) => {
            Whose::User(FailureCode::UnknownThread)
        }
        ThreadOrigin::Started if unknown => Whose::Server,
        _ => Whose::Protocol,
    }
}

/// The first 200 characters of a text, with an ellipsis when cut.
pub fn truncate(text: &str) -> String {
    crate::text::cut(text, 200)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ThreadOrigin::{Given, Started};

    /// Refusals that are not of a precondition: failures without a code.
    const NOT_PRECONDITIONS: [(i64, &str); 3] = [
        (-32001, "Server overloaded; retry later."),
        (-32603, "No such file or directory (os error 2)"),
        (-32602, "command/exec cannot set both"),
    ];

    /// A `-32600` refusal, where the thread came from, and the expected (ok, code).
    type Case = (&'static str, ThreadOrigin, bool, Option<FailureCode>);

    /// The `-32600` refusals codex 0.169.0 sends and how each is judged.
    fn invalid_request_cases() -> Vec<Case> {
        let unknown = Some(FailureCode::UnknownThread);
        vec![
            ("no active turn to steer", Started, true, None),
            ("no active turn to interrupt", Given, true, None),
            (
                "expected active turn id `a` but found `b`",
                Started,
                true,
                None,
            ),
            ("no rollout found for thread id x", Started, true, None),
            ("no rollout found for thread id x", Given, false, unknown),
            (
                "invalid session id: invalid character: expected …",
                Given,
                false,
                unknown,
            ),
            (
                "invalid thread id: invalid character: expected …",
                Given,
                false,
                unknown,
            ),
            (
                "thread not found: 01a1feea-0000-7000-8000-000000000000",
                Given,
                false,
                unknown,
            ),
            (
                "thread not found: 01a1feea-0000-7000-8000-000000000000",
                Started,
                false,
                None,
            ),
            (
                "Invalid request: unknown variant `turn/steer`, expected one of `initialize`",
                Started,
                false,
                None,
            ),
            (
                "Invalid request: missing field `expectedTurnId`",
                Started,
                false,
                None,
            ),
            ("Not initialized", Started, false, None),
            (
                "turn/steer requires experimentalApi capability",
                Started,
                false,
                None,
            ),
        ]
    }

    #[test]
    fn refusals_are_classified_by_whose_precondition_failed() {
        for (message, origin, ok, code) in invalid_request_cases() {
            let j = judge_refusal(&RpcError::new(-32600, message), origin);
            assert_eq!((j.ok, j.failure_code), (ok, code), "{message} ({origin:?})");
        }
        for (code, message) in NOT_PRECONDITIONS {
            let j = judge_refusal(&RpcError::new(code, message), Started);
            assert_eq!((j.ok, j.failure_code), (false, None), "{message}");
        }
    }
}
