//! The part of an actual value that an expectation looked at, stable across runs.
//!
//! Magic values show as what they matched (`$any` as `"<any TYPE>"`, `$capture:NAME` as
//! `"<captured NAME>"`, `$absent` as `"<absent>"`), an operator that holds as
//! `"<$op OPERAND>"`, and anything that does not match as the actual value itself.

use serde_json::{Map, Value};

use super::eval::{probe, text};
use super::pattern::{Op, Pattern};
use super::subst::Captures;

/// Projects `actual` through `pattern`.
pub(super) fn project(pattern: &Pattern, actual: &Value) -> Value {
    match pattern {
        Pattern::Any => Value::String(format!("<any {}>", type_name(actual))),
        Pattern::Capture(name) => Value::String(format!("<captured {name}>")),
        Pattern::Object(members) | Pattern::Op(Op::Exact(members)) => match actual.as_object() {
            Some(have) => project_members(members, have),
            None => actual.clone(),
        },
        Pattern::Array(items) => match actual.as_array() {
            Some(have) if have.len() == items.len() => {
                Value::Array(items.iter().zip(have).map(|(p, h)| project(p, h)).collect())
            }
            _ => actual.clone(),
        },
        Pattern::Op(op) if probe(pattern, actual, "", &Captures::new()).is_ok() => {
            Value::String(format!("<{} {}>", op.key(), operand_text(op)))
        }
        _ => actual.clone(),
    }
}

/// `expected` as a failure diff shows it beside `projection` (what [`project`] gave for it):
/// each magic value or operator whose projection says it held shows as that projection, so
/// the diff marks only what really differs.
pub(super) fn shown_as_matched(expected: &Value, projection: Option<&Value>) -> Value {
    let Some(seen) = projection else {
        return expected.clone();
    };
    match (expected, seen) {
        (Value::Object(map), Value::Object(have)) if !is_operator(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), shown_as_matched(v, have.get(k))))
                .collect(),
        ),
        (Value::Array(items), Value::Array(have)) => Value::Array(
            items
                .iter()
                .enumerate()
                .map(|(i, v)| shown_as_matched(v, have.get(i)))
                .collect(),
        ),
        _ if held(expected, seen) => seen.clone(),
        _ => expected.clone(),
    }
}

/// An object of one `$`-key: an operator, not a plain object.
fn is_operator(map: &Map<String, Value>) -> bool {
    map.len() == 1 && map.keys().all(|k| k.starts_with('$'))
}

/// Whether `seen` is the projection of the magic value or operator `expected` when it held.
fn held(expected: &Value, seen: &Value) -> bool {
    let Some(seen) = seen.as_str() else {
        return false;
    };
    // `$absent` parses only as a key's value; alone it is the marker of an absent key.
    if expected == "$absent" {
        return seen == "<absent>";
    }
    let Ok(pattern) = super::pattern::parse(expected, false) else {
        return false;
    };
    match &pattern {
        Pattern::Any => seen.starts_with("<any "),
        Pattern::Capture(name) => seen == format!("<captured {name}>"),
        Pattern::Op(op) => seen == format!("<{} {}>", op.key(), operand_text(op)),
        _ => false,
    }
}

fn project_members(members: &[(String, Pattern)], have: &Map<String, Value>) -> Value {
    let mut out = Map::new();
    for (key, p) in members {
        match (have.get(key), p) {
            (None, Pattern::Absent) => {
                out.insert(key.clone(), Value::String("<absent>".into()));
            }
            (Some(h), _) => {
                out.insert(key.clone(), project(p, h));
            }
            (None, _) => {}
        }
    }
    Value::Object(out)
}

fn operand_text(op: &Op) -> String {
    match op {
        Op::Ne(p) | Op::Contains(p) | Op::Len(p) | Op::Each(p) => pattern_text(p),
        Op::Cmp(_, n) => n.to_string(),
        Op::Prefix(s) => format!("{s:?}"),
        Op::Regex(re) => format!("/{}/", re.as_str()),
        Op::Type(t) => t.clone(),
        Op::Exact(members) => format!("{} keys", members.len()),
        Op::Unordered(items) | Op::All(items) => {
            let listed: Vec<String> = items.iter().map(pattern_text).collect();
            format!("[{}]", listed.join(", "))
        }
        Op::Deferred(_) => "?".into(),
    }
}

/// A pattern as short text (for the projection of an operator that holds).
fn pattern_text(p: &Pattern) -> String {
    match p {
        Pattern::Any => "$any".into(),
        Pattern::Capture(name) => format!("$capture:{name}"),
        Pattern::Absent => "$absent".into(),
        Pattern::Literal(v) => text(v),
        Pattern::Object(members) => {
            let listed: Vec<String> = members
                .iter()
                .map(|(k, p)| format!("{k}: {}", pattern_text(p)))
                .collect();
            format!("{{{}}}", listed.join(", "))
        }
        Pattern::Array(items) => {
            let listed: Vec<String> = items.iter().map(pattern_text).collect();
            format!("[{}]", listed.join(", "))
        }
        Pattern::Op(op) => format!("{{{} {}}}", op.key(), operand_text(op)),
    }
}

/// The JSON type of `v`, as `$any` projections name it.
pub(super) fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}
