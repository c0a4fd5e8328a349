//! The timing and repetition steps as written: `drain`, `expect_never`, `await_response` and
//! `answer_all` (`sleep`, `before` and a request's `wait` are plain fields of the step).

use serde::Deserialize;
use serde_json::Value;

/// Take every notification of a method until one matches `until` or the window ends.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct DrainStep {
    /// The method.
    pub method: String,
    /// Stop at the first one whose params contain this subset (it is taken and counted too);
    /// without it the drain takes what comes for the whole window.
    #[serde(default)]
    pub until: Option<Value>,
    /// How long to take them (humantime; default: the step's timeout).
    #[serde(default)]
    pub window: Option<String>,
    /// The number taken must match this (a number, or an operator such as `{ "$gte" = 1 }`).
    #[serde(default)]
    pub expect_count: Option<Value>,
}

/// A notification that must never arrive, from this step to the end of the scenario.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct NeverStep {
    /// The method.
    pub method: String,
    /// Only ones whose params contain this subset count.
    #[serde(default)]
    pub params: Option<Value>,
}

/// Wait for the answer to a `request` sent with `wait = false`, and check it.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AwaitResponseStep {
    /// The name of the request step.
    pub request: String,
    /// The result must contain this subset.
    #[serde(default)]
    pub expect_result: Option<Value>,
    /// The answer must be an error containing this subset.
    #[serde(default)]
    pub expect_error: Option<Value>,
    /// The error message must contain this text.
    #[serde(default)]
    pub expect_error_message_contains: Option<String>,
}

/// From this step on, answer every server request of a method at once and count them.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AnswerAllStep {
    /// The method, e.g. `currentTime/read`.
    pub method: String,
    /// Only requests whose params contain this subset.
    #[serde(default)]
    pub params: Option<Value>,
    /// Answer with this result (default `{}`).
    #[serde(default)]
    pub answer_result: Option<Value>,
    /// Answer with this error (`{code, message}`) instead.
    #[serde(default)]
    pub answer_error: Option<Value>,
    /// How many must have been answered when the connection ends (a number or an operator).
    #[serde(default)]
    pub count: Option<Value>,
}
