//! Subset matching of expected JSON against actual JSON, with three magic string values.
//!
//! Objects match when every expected key is present and matches (extra actual keys are fine);
//! arrays match element by element with equal length; scalars match by value (numbers by
//! numeric value). `"$any"` matches any present value, `"$capture:NAME"` matches any value and
//! remembers it, and `"${NAME}"` stands for a remembered value (inside a longer string it is
//! replaced by the remembered text).

use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// Values remembered by `$capture:NAME`, by name.
pub type Captures = BTreeMap<String, Value>;

const ANY: &str = "$any";
const CAPTURE: &str = "$capture:";

/// Where and how an actual value differs from the expected one.
#[derive(Debug, Clone, PartialEq)]
pub struct Mismatch {
    /// A JSON pointer-like path, e.g. `/result/thread/id`.
    pub path: String,
    /// What was expected there, as JSON text.
    pub expected: String,
    /// What was there, as JSON text (`None` when the key was missing).
    pub actual: Option<String>,
}

impl std::fmt::Display for Mismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let path = if self.path.is_empty() {
            "/"
        } else {
            &self.path
        };
        match &self.actual {
            Some(actual) => write!(f, "at {path}: expected {}, got {actual}", self.expected),
            None => write!(
                f,
                "at {path}: expected {}, got nothing (missing)",
                self.expected
            ),
        }
    }
}

/// Plain subset test without captures (used by the fake's `when_params`).
pub fn is_subset(expected: &Value, actual: &Value) -> bool {
    matches(expected, actual, &mut Captures::new()).is_ok()
}

/// Replaces every `${NAME}` in `value` by its capture; unknown names are left as they are.
pub fn substitute(value: &Value, captures: &Captures) -> Value {
    match value {
        Value::String(s) => substitute_str(s, captures),
        Value::Array(items) => {
            Value::Array(items.iter().map(|v| substitute(v, captures)).collect())
        }
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), substitute(v, captures)))
                .collect(),
        ),
        other => other.clone(),
    }
}

fn substitute_str(s: &str, captures: &Captures) -> Value {
    if let Some(name) = s.strip_prefix("${").and_then(|r| r.strip_suffix('}')) {
        if let Some(v) = captures.get(name) {
            return v.clone();
        }
    }
    let mut out = s.to_owned();
    for (name, v) in captures {
        let text = match v {
            Value::String(t) => t.clone(),
            other => other.to_string(),
        };
        out = out.replace(&format!("${{{name}}}"), &text);
    }
    Value::String(out)
}

/// Matches `expected` (already substituted) against `actual`, recording captures.
pub fn matches(expected: &Value, actual: &Value, captures: &mut Captures) -> Result<(), Mismatch> {
    match_at(expected, Some(actual), "", captures)
}

fn match_at(
    expected: &Value,
    actual: Option<&Value>,
    path: &str,
    captures: &mut Captures,
) -> Result<(), Mismatch> {
    let mismatch = || Mismatch {
        path: path.to_owned(),
        expected: expected.to_string(),
        actual: actual.map(Value::to_string),
    };
    let Some(actual) = actual else {
        return Err(mismatch());
    };
    match expected {
        Value::String(s) if s == ANY => Ok(()),
        Value::String(s) if s.starts_with(CAPTURE) => {
            captures.insert(s[CAPTURE.len()..].to_owned(), actual.clone());
            Ok(())
        }
        Value::Object(want) => {
            let have = actual.as_object().ok_or_else(mismatch)?;
            for (key, value) in want {
                match_at(value, have.get(key), &format!("{path}/{key}"), captures)?;
            }
            Ok(())
        }
        Value::Array(want) => {
            let have = actual.as_array().ok_or_else(mismatch)?;
            if want.len() != have.len() {
                return Err(mismatch());
            }
            for (i, (w, h)) in want.iter().zip(have).enumerate() {
                match_at(w, Some(h), &format!("{path}/{i}"), captures)?;
            }
            Ok(())
        }
        Value::Number(n) => match (n.as_f64(), actual.as_f64()) {
            (Some(a), Some(b)) if a == b => Ok(()),
            _ => Err(mismatch()),
        },
        other if other == actual => Ok(()),
        _ => Err(mismatch()),
    }
}

/// The part of `actual` that `expected` looked at, with magic values shown as what they matched:
/// `$any` as `"<any TYPE>"` and `$capture:NAME` as `"<captured NAME>"`. Stable across runs
/// whenever the checked values are.
pub fn project(expected: &Value, actual: &Value) -> Value {
    match expected {
        Value::String(s) if s == ANY => Value::String(format!("<any {}>", type_name(actual))),
        Value::String(s) if s.starts_with(CAPTURE) => {
            Value::String(format!("<captured {}>", &s[CAPTURE.len()..]))
        }
        Value::Object(want) => match actual.as_object() {
            Some(have) => {
                let mut out = Map::new();
                for (key, value) in want {
                    if let Some(h) = have.get(key) {
                        out.insert(key.clone(), project(value, h));
                    }
                }
                Value::Object(out)
            }
            None => actual.clone(),
        },
        Value::Array(want) => match actual.as_array() {
            Some(have) if have.len() == want.len() => {
                Value::Array(want.iter().zip(have).map(|(w, h)| project(w, h)).collect())
            }
            _ => actual.clone(),
        },
        _ => actual.clone(),
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn matches_subsets_and_reports_the_first_difference() {
        let cases = [
            (json!({"a": 1}), json!({"a": 1.0, "b": 2}), None),
            (json!({"a": "$any"}), json!({"a": null}), None),
            (json!({"a": "$any"}), json!({}), Some("/a")),
            (
                json!({"a": {"b": [1, 2]}}),
                json!({"a": {"b": [1, 2]}}),
                None,
            ),
            (
                json!({"a": {"b": [1, 2]}}),
                json!({"a": {"b": [1]}}),
                Some("/a/b"),
            ),
            (
                json!({"a": [{"x": 1}]}),
                json!({"a": [{"x": 2}]}),
                Some("/a/0/x"),
            ),
            (json!("s"), json!(1), Some("")),
        ];
        for (want, have, bad_path) in cases {
            let got = matches(&want, &have, &mut Captures::new())
                .err()
                .map(|m| m.path);
            assert_eq!(got.as_deref(), bad_path, "{want} vs {have}");
        }
    }

    #[test]
    fn captures_and_substitutes() {
        let mut caps = Captures::new();
        matches(
            &json!({"thread": {"id": "$capture:tid"}}),
            &json!({"thread": {"id": "t-1"}}),
            &mut caps,
        )
        .unwrap();
        let params = substitute(
            &json!({"threadId": "${tid}", "note": "on ${tid}", "n": "${nope}"}),
            &caps,
        );
        assert_eq!(
            params,
            json!({"threadId": "t-1", "note": "on t-1", "n": "${nope}"})
        );
    }

    #[test]
    fn projects_what_was_checked() {
        let want = json!({"userAgent": "$any", "id": "$capture:x", "os": "linux"});
        let have = json!({"userAgent": "cas/1", "id": 7, "os": "linux", "extra": true});
        assert_eq!(
            project(&want, &have),
            json!({"userAgent": "<any string>", "id": "<captured x>", "os": "linux"})
        );
        let m = matches(&json!({"a": 1}), &json!({}), &mut Captures::new()).unwrap_err();
        assert_eq!(m.to_string(), "at /a: expected 1, got nothing (missing)");
    }
}
