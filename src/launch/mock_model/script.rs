//! The scripted answers of the mock model: a scenario's `[[model.responses]]`, in order.
//!
//! The n-th request that no `when` entry claims gets the n-th entry without `when`; an entry
//! with `when` answers the first unused request whose body contains that subset (checked
//! before the ordered entries). Each entry answers once. An entry is assistant `text`,
//! `reasoning`, a `function_call`, a `custom_tool_call` (any mix, in that order: reasoning,
//! text, calls), an HTTP `error` status, or `fail_mid_stream` (the stream closes before
//! `response.completed`); `delay` holds the answer back. A request no entry applies to falls
//! back to the in-prompt directives.

use serde::Deserialize;
use serde_json::Value;
use std::time::Duration;
use wiremock::ResponseTemplate;

use super::sse::{self, Reply};

/// The scripted answers of one mock model (`[model]` in a scenario).
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ModelScript {
    /// The answers, in the order requests get them.
    #[serde(default)]
    pub responses: Vec<ScriptedResponse>,
}

impl ModelScript {
    /// Whether the script scripts nothing (the mock then follows directives only).
    pub fn is_empty(&self) -> bool {
        self.responses.is_empty()
    }
}

/// One scripted answer.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ScriptedResponse {
    /// Answer the first request whose body contains this subset, instead of going in order.
    #[serde(default)]
    pub when: Option<Value>,
    /// An assistant message with this text.
    #[serde(default)]
    pub text: Option<String>,
    /// A reasoning item with this summary text (before the message).
    #[serde(default)]
    pub reasoning: Option<String>,
    /// A Responses-API function call of a tool codex offers (e.g. `exec_command`).
    #[serde(default)]
    pub function_call: Option<FunctionCall>,
    /// A custom (freeform) tool call.
    #[serde(default)]
    pub custom_tool_call: Option<CustomToolCall>,
    /// Answer with this HTTP status (and no events) instead.
    #[serde(default)]
    pub error: Option<u16>,
    /// Close the stream after the items, before `response.completed`.
    #[serde(default)]
    pub fail_mid_stream: bool,
    /// Hold the answer back this long (humantime, e.g. "2s").
    #[serde(default)]
    pub delay: Option<String>,
}

/// A function call the mock model makes.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct FunctionCall {
    /// The tool's name, as codex offers it (e.g. `exec_command`).
    pub name: String,
    /// The arguments: a table (sent as its JSON text) or the JSON text itself.
    #[serde(default)]
    pub arguments: Option<Value>,
    /// The call id (default `call-N`, N the request's number).
    #[serde(default)]
    pub call_id: Option<String>,
}

/// A custom tool call the mock model makes.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CustomToolCall {
    /// The tool's name.
    pub name: String,
    /// Its freeform input.
    #[serde(default)]
    pub input: String,
    /// The call id (default `call-N`).
    #[serde(default)]
    pub call_id: Option<String>,
}

impl ScriptedResponse {
    /// What is wrong with the entry, if anything: it must answer something, an `error`
    /// excludes every output, a status is 400–599, and `delay` must parse.
    pub fn problem(&self) -> Option<String> {
        let outputs = self.text.is_some()
            || self.reasoning.is_some()
            || self.function_call.is_some()
            || self.custom_tool_call.is_some();
        if let Some(status) = self.error {
            if outputs || self.fail_mid_stream {
                return Some(
                    "error excludes text, reasoning, tool calls and fail_mid_stream".into(),
                );
            }
            if !(400..=599).contains(&status) {
                return Some(format!(
                    "error = {status} is not an HTTP error status (400-599)"
                ));
            }
        } else if !outputs && !self.fail_mid_stream {
            return Some(
                "an entry needs text, reasoning, function_call, custom_tool_call, error or fail_mid_stream"
                    .into(),
            );
        }
        if let Some(delay) = &self.delay {
            if let Err(e) = humantime::parse_duration(delay) {
                return Some(format!("delay = {delay:?}: {e}"));
            }
        }
        None
    }

    /// The answer to request `n` (1-based).
    pub(super) fn template(&self, n: usize) -> ResponseTemplate {
        let template = match self.error {
            Some(status) => ResponseTemplate::new(status).set_body_string("scripted mock failure"),
            None => self.reply(n).template(n),
        };
        match self.delay.as_deref().map(humantime::parse_duration) {
            Some(Ok(delay)) => template.set_delay(delay),
            _ => template,
        }
    }

    /// The output items of this entry as answer `n`.
    pub(super) fn reply(&self, n: usize) -> Reply {
        let default_id = format!("call-{n}");
        let mut items = Vec::new();
        if let Some(text) = &self.reasoning {
            items.push(sse::reasoning_item(n, text));
        }
        if let Some(text) = &self.text {
            items.push(sse::message_item(n, text));
        }
        if let Some(call) = &self.function_call {
            let arguments = match &call.arguments {
                None => "{}".to_owned(),
                Some(Value::String(text)) => text.clone(),
                Some(other) => other.to_string(),
            };
            let id = call.call_id.as_deref().unwrap_or(&default_id);
            items.push(sse::function_call_item(id, &call.name, &arguments));
        }
        if let Some(call) = &self.custom_tool_call {
            let id = call.call_id.as_deref().unwrap_or(&default_id);
            items.push(sse::custom_tool_call_item(id, &call.name, &call.input));
        }
        Reply {
            items,
            truncate: self.fail_mid_stream,
            whole: false,
        }
    }

    /// The delay, if any (already checked to parse).
    pub fn delay(&self) -> Option<Duration> {
        self.delay
            .as_deref()
            .and_then(|d| humantime::parse_duration(d).ok())
    }
}

/// Which entries of a script have answered.
#[derive(Debug, Default)]
pub(super) struct ScriptState {
    script: ModelScript,
    used: Vec<bool>,
}

impl ScriptState {
    /// A fresh state: no entry used.
    pub(super) fn new(script: ModelScript) -> ScriptState {
        let used = vec![false; script.responses.len()];
        ScriptState { script, used }
    }

    /// Takes the entry that answers `body`: the first unused `when` entry it matches, else
    /// the next unused entry without `when`; `None` when none applies.
    pub(super) fn take(&mut self, body: &Value) -> Option<ScriptedResponse> {
        let entries = &self.script.responses;
        let matched = entries.iter().enumerate().position(|(i, e)| {
            !self.used[i]
                && e.when
                    .as_ref()
                    .is_some_and(|w| crate::matcher::is_subset(w, body))
        });
        let index = matched.or_else(|| {
            entries
                .iter()
                .enumerate()
                .position(|(i, e)| !self.used[i] && e.when.is_none())
        })?;
        self.used[index] = true;
        Some(entries[index].clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn script(text: &str) -> ModelScript {
        toml::from_str(text).unwrap()
    }

    #[test]
    fn ordered_entries_answer_in_order_and_when_entries_jump_the_queue() {
        let s = script(
            r#"
            [[responses]]
            text = "first"
            [[responses]]
            when = { model = "special" }
            text = "special"
            [[responses]]
            text = "second"
            "#,
        );
        let mut state = ScriptState::new(s);
        let plain = json!({"model": "mock-model"});
        let special = json!({"model": "special", "x": 1});
        assert_eq!(state.take(&plain).unwrap().text.as_deref(), Some("first"));
        assert_eq!(
            state.take(&special).unwrap().text.as_deref(),
            Some("special")
        );
        assert_eq!(
            state.take(&special).unwrap().text.as_deref(),
            Some("second")
        );
        assert_eq!(state.take(&plain), None, "each entry answers once");
    }

    #[test]
    fn a_function_call_carries_its_arguments_as_json_text() {
        let s = script(
            r#"
            [[responses]]
            reasoning = "thinking"
            function_call = { name = "exec_command", arguments = { cmd = "ls" } }
            [[responses]]
            function_call = { name = "f", arguments = '{"a":1}', call_id = "c9" }
            custom_tool_call = { name = "apply_patch", input = "*** Begin Patch" }
            fail_mid_stream = true
            "#,
        );
        let first = s.responses[0].reply(1);
        assert_eq!(first.items[0]["type"], "reasoning");
        assert_eq!(first.items[1]["name"], "exec_command");
        assert_eq!(first.items[1]["call_id"], "call-1");
        let args: Value =
            serde_json::from_str(first.items[1]["arguments"].as_str().unwrap()).unwrap();
        assert_eq!(args, json!({"cmd": "ls"}));
        assert!(!first.truncate);
        let second = s.responses[1].reply(2);
        assert_eq!(second.items[0]["arguments"], "{\"a\":1}");
        assert_eq!(second.items[0]["call_id"], "c9");
        assert_eq!(second.items[1]["type"], "custom_tool_call");
        assert_eq!(second.items[1]["call_id"], "call-2");
        assert!(second.truncate);
    }

    #[test]
    fn entries_are_checked() {
        let problem = |t: &str| script(t).responses[0].problem();
        assert_eq!(problem("[[responses]]\ntext = \"x\"\ndelay = \"2s\""), None);
        assert_eq!(problem("[[responses]]\nerror = 503"), None);
        assert!(problem("[[responses]]\nerror = 200")
            .unwrap()
            .contains("400-599"));
        assert!(problem("[[responses]]\nerror = 500\ntext = \"x\"")
            .unwrap()
            .contains("excludes"));
        assert!(problem("[[responses]]\ndelay = \"1s\"")
            .unwrap()
            .contains("needs"));
        assert!(problem("[[responses]]\ntext = \"x\"\ndelay = \"soon\"")
            .unwrap()
            .contains("delay"));
        assert_eq!(
            script("[[responses]]\ntext = \"x\"\ndelay = \"250ms\"").responses[0].delay(),
            Some(Duration::from_millis(250))
        );
        assert!(toml::from_str::<ModelScript>("[[responses]]\ntxt = \"x\"").is_err());
    }
}
