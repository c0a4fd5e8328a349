//! `${NAME}` substitution and `"$null"`: turning what a scenario wrote into what is sent or
//! compared.

use serde_json::Value;
use std::collections::BTreeMap;

/// Values remembered by `$capture:NAME` (and the scenario's vars), by name.
pub type Captures = BTreeMap<String, Value>;

/// Replaces every `${NAME}` in `value` by its capture and every `"$null"` by JSON `null`;
/// unknown names are left as they are. Inside a `$regex` operand a value is inserted escaped,
/// so it matches literally.
pub fn substitute(value: &Value, captures: &Captures) -> Value {
    match value {
        Value::String(s) if s == super::pattern::NULL => Value::Null,
        Value::String(s) => substitute_str(s, captures, false),
        Value::Array(items) => {
            Value::Array(items.iter().map(|v| substitute(v, captures)).collect())
        }
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| match v {
                    Value::String(s) if k == "$regex" => {
                        (k.clone(), substitute_str(s, captures, true))
                    }
                    _ => (k.clone(), substitute(v, captures)),
                })
                .collect(),
        ),
        other => other.clone(),
    }
}

fn substitute_str(s: &str, captures: &Captures, escape: bool) -> Value {
    if !escape {
        if let Some(name) = s.strip_prefix("${").and_then(|r| r.strip_suffix('}')) {
            if let Some(v) = captures.get(name) {
                return v.clone();
            }
        }
    }
    let mut out = s.to_owned();
    for (name, v) in captures {
        let text = match v {
            Value::String(t) => t.clone(),
            other => other.to_string(),
        };
        let text = if escape { regex::escape(&text) } else { text };
        out = out.replace(&format!("${{{name}}}"), &text);
    }
    Value::String(out)
}

/// Every `${NAME}` named in the string `s`, in order.
pub fn references(s: &str) -> Vec<&str> {
    let mut names = Vec::new();
    let mut rest = s;
    while let Some(start) = rest.find("${") {
        let after = &rest[start + 2..];
        match after.find('}') {
            Some(end) => {
                let name = &after[..end];
                if !name.is_empty() && !name.contains("${") {
                    names.push(name);
                }
                rest = &after[end + 1..];
            }
            None => break,
        }
    }
    names
}

/// Every name a `"$capture:NAME"` string in `value` remembers.
pub fn captured_names(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(s) => {
            if let Some(name) = s.strip_prefix(super::pattern::CAPTURE) {
                if !name.is_empty() {
                    out.push(name.to_owned());
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| captured_names(v, out)),
        Value::Object(map) => map.values().for_each(|v| captured_names(v, out)),
        _ => {}
    }
}
