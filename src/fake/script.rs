//! The `[fake]` table of a scenario file: what the fake app-server does beyond the lifecycle rules.
//!
//! Keys are snake_case; payloads (`params`, `result`, `error`) are verbatim protocol JSON.
//! Unknown keys are errors, so a typo never silently changes what the fake does.

use serde::Deserialize;
use serde_json::Value;
use std::time::Duration;

/// What the fake does, besides keeping codex's lifecycle rules.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct FakeScript {
    /// Deliberate rule breaks, for negative twins.
    #[serde(default)]
    pub faults: Vec<Fault>,
    /// Messages sent right after a successful `initialize` response.
    #[serde(default)]
    pub after_initialize: Vec<ScriptedSend>,
    /// Scripted answers to client requests, tried in order; the first that matches wins.
    #[serde(default)]
    pub rules: Vec<Rule>,
    /// Wait this long before answering `initialize` (humantime, e.g. "5s").
    #[serde(default, with = "humantime_opt")]
    pub initialize_delay: Option<Duration>,
}

impl FakeScript {
    /// Whether the script breaks the given rule on purpose.
    pub fn has(&self, fault: Fault) -> bool {
        self.faults.contains(&fault)
    }
}

/// A deliberate violation of what the real server does.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Fault {
    /// Serve requests that arrive before `initialize` instead of refusing them.
    ServeBeforeInitialize,
    /// Answer a second `initialize` with a result instead of "Already initialized".
    AcceptSecondInitialize,
    /// Read every request and answer none.
    NeverAnswer,
    /// Serve experimental methods to clients that did not opt in.
    IgnoreExperimentalGate,
    /// Answer unknown methods with a result instead of refusing them.
    AcceptUnknownMethods,
    /// Answer every notification with `{"id": null, "result": {}}`.
    AnswerNotifications,
    /// Leave `codexHome` out of the initialize result.
    IncompleteInitializeResult,
    /// Answer scripted requests under a wrong id (the client's id plus 1 000 000).
    WrongResponseIds,
    /// Answer every scripted request twice.
    DuplicateResponses,
    /// On websocket, never print the `listening on:` banner.
    NeverAnnounce,
    /// Accept websocket upgrades without the bearer token (or with a wrong one).
    AcceptAnyToken,
}

/// One scripted answer.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// The method this rule answers.
    pub method: String,
    /// Only when the request's params contain this subset.
    #[serde(default)]
    pub when_params: Option<Value>,
    /// Answer with this result.
    #[serde(default)]
    pub result: Option<Value>,
    /// Answer with this error (`{code, message, data?}`).
    #[serde(default)]
    pub error: Option<Value>,
    /// Do something other than answering.
    #[serde(default)]
    pub action: Option<Action>,
    /// Wait this long before answering (humantime, e.g. "250ms").
    #[serde(default, with = "humantime_opt")]
    pub delay: Option<Duration>,
    /// Use the rule at most this many times.
    #[serde(default)]
    pub times: Option<u32>,
    /// Messages sent after the answer.
    #[serde(default)]
    pub then: Vec<ScriptedSend>,
}

/// Something a rule does instead of answering.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Die on the spot: the stdio fake kills its own process, the websocket fake drops the socket.
    Crash,
    /// Never answer this request.
    Hang,
}

/// A message the fake sends on its own: `notify` or `request`, or one of the bulk faults
/// (`flood`, `line_bytes`, `endless_line`) that test how much a client buffers.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ScriptedSend {
    /// Send a notification `{method, params}`.
    #[serde(default)]
    pub notify: Option<MethodCall>,
    /// Send a server request `{method, params}`; ids count up from 0 as codex does.
    #[serde(default)]
    pub request: Option<MethodCall>,
    /// Send this many copies of a notification at once.
    #[serde(default)]
    pub flood: Option<Flood>,
    /// Send one line of this many bytes (a JSON notification padded to the size).
    #[serde(default)]
    pub line_bytes: Option<usize>,
    /// Start a line that never ends: bytes without a newline until the client goes away
    /// (stdio only; on a websocket nothing is sent).
    #[serde(default)]
    pub endless_line: bool,
    /// Send this text as one raw line, whatever it is (garbage for the client to skip).
    #[serde(default)]
    pub garbage: Option<String>,
    /// Wait this long before sending (humantime); the fake reads nothing meanwhile.
    #[serde(default, with = "humantime_opt")]
    pub delay: Option<Duration>,
    /// Who gets the `notify` / `request`: this connection (default), `others` (every other
    /// open connection of the websocket fake) or `all`. Bulk faults go to this connection.
    #[serde(default)]
    pub to: SendTo,
}

/// The connections a scripted message goes to.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum SendTo {
    /// The connection whose request triggered it.
    #[default]
    This,
    /// Every other open connection (none on the stdio fake).
    Others,
    /// Every open connection, this one included.
    All,
}

/// Many copies of one notification.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Flood {
    /// How many.
    pub count: usize,
    /// The notification's method.
    pub method: String,
    /// Its params; `{}` when omitted.
    #[serde(default = "empty_object")]
    pub params: Value,
}

/// A method and its params.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct MethodCall {
    /// The method name.
    pub method: String,
    /// The params; `{}` when omitted.
    #[serde(default = "empty_object")]
    pub params: Value,
}

fn empty_object() -> Value {
    Value::Object(Default::default())
}

/// Serde glue for optional humantime durations ("250ms", "2s").
pub mod humantime_opt {
    use serde::{Deserialize, Deserializer};
    use std::time::Duration;

    /// Parses an optional humantime string.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        let text: Option<String> = Option::deserialize(d)?;
        text.map(|t| humantime::parse_duration(&t).map_err(serde::de::Error::custom))
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_script_and_refuses_unknown_keys() {
        let script: FakeScript = toml::from_str(
            r#"
            faults = ["never_answer"]
            [[after_initialize]]
            notify = { method = "remoteControl/status/changed", params = { status = "disabled" } }
            [[rules]]
            method = "thread/list"
            result = { data = [] }
            delay = "20ms"
            "#,
        )
        .unwrap();
        assert!(script.has(Fault::NeverAnswer));
        assert_eq!(script.rules[0].delay, Some(Duration::from_millis(20)));
        let bad = toml::from_str::<FakeScript>("[[rules]]\nmethod = \"x\"\nreslt = 1\n");
        assert!(bad
            .unwrap_err()
            .to_string()
            .contains("unknown field `reslt`"));
    }
}
