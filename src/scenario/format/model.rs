//! The scenario format's model constructs: the `[model]` script and `expect_model_request`.
//!
//! The script's types are the mock model's own ([`ModelScript`]); a scenario using either
//! construct runs on the codex targets only (the fakes talk to no model).

use serde::Deserialize;
use serde_json::Value;

pub use crate::launch::{ModelScript, ServerExtras};

/// Check the n-th (or the next) request codex sent to the mock model.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectModelRequestStep {
    /// Which request, 1-based; default: the one after the last request a step checked.
    #[serde(default)]
    pub index: Option<usize>,
    /// The request body must contain this subset.
    #[serde(default)]
    pub body: Option<Value>,
    /// The request headers (lower-case names) must contain this subset.
    #[serde(default)]
    pub headers: Option<Value>,
    /// A tool's output codex returned to the model must be among the request's input items.
    #[serde(default)]
    pub tool_output: Option<ToolOutputCheck>,
    /// Some entry of the request's `tools` must contain this subset (e.g. `{ name = "x" }`).
    #[serde(default)]
    pub offers_tool: Option<Value>,
    /// Some input item's text (a message part or a tool output) must contain this text.
    #[serde(default)]
    pub input_contains: Option<String>,
}

/// A `function_call_output` / `custom_tool_call_output` input item to find.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ToolOutputCheck {
    /// The call it answers (any call when absent).
    #[serde(default)]
    pub call_id: Option<String>,
    /// Its output text must contain this.
    #[serde(default)]
    pub contains: Option<String>,
}
