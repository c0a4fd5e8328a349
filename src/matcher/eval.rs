//! Matching a parsed [`Pattern`] against an actual value, recording captures and saying where,
//! by which operator and how the value differs.

use serde_json::Value;

use super::pattern::{Op, Pattern};
use super::subst::Captures;

/// Where and how an actual value differs from the expected one.
#[derive(Debug, Clone, PartialEq)]
pub struct Mismatch {
    /// A JSON pointer-like path, e.g. `/result/thread/id`.
    pub path: String,
    /// The operator that did not hold (`$gt`, `$len $gte`, `$absent`, …), if one was used.
    pub op: Option<String>,
    /// What was expected there, in words or as JSON text.
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
        write!(f, "at {path}: ")?;
        if let Some(op) = &self.op {
            write!(f, "{op}: ")?;
        }
        match &self.actual {
            Some(actual) => write!(f, "expected {}, got {actual}", self.expected),
            None => write!(f, "expected {}, got nothing (missing)", self.expected),
        }
    }
}

/// Values longer than this are cut (rare: verdict snapshots must not depend on where a run's
/// temporary paths are, and paths are only redacted after the message is built).
const MAX_TEXT: usize = 1000;

/// Compact JSON text of `v`, cut after a thousand characters (no count: it would vary with
/// the length of the run's paths).
pub(super) fn text(v: &Value) -> String {
    crate::text::cut(&v.to_string(), MAX_TEXT)
}

fn miss(path: &str, op: Option<&str>, expected: String, actual: Option<&Value>) -> Mismatch {
    Mismatch {
        path: path.to_owned(),
        op: op.map(str::to_owned),
        expected,
        actual: actual.map(text),
    }
}

/// Matches `pattern` against `actual` (`None`: the key is missing) at `path`.
pub(super) fn eval(
    pattern: &Pattern,
    actual: Option<&Value>,
    path: &str,
    captures: &mut Captures,
) -> Result<(), Mismatch> {
    if let Pattern::Absent = pattern {
        return match actual {
            None => Ok(()),
            Some(v) => Err(miss(path, Some("$absent"), "no such key".into(), Some(v))),
        };
    }
    let Some(actual) = actual else {
        return Err(miss(path, op_key(pattern), describe(pattern), None));
    };
    match pattern {
        Pattern::Any => Ok(()),
        Pattern::Capture(name) => {
            captures.insert(name.clone(), actual.clone());
            Ok(())
        }
        Pattern::Literal(want) => literal(want, actual, path),
        Pattern::Object(members) => {
            let have = actual
                .as_object()
                .ok_or_else(|| miss(path, None, describe(pattern), Some(actual)))?;
            for (key, p) in members {
                eval(p, have.get(key), &format!("{path}/{key}"), captures)?;
            }
            Ok(())
        }
        Pattern::Array(items) => {
            let have = actual.as_array().filter(|h| h.len() == items.len());
            let have = have.ok_or_else(|| miss(path, None, describe(pattern), Some(actual)))?;
            for (i, (p, h)) in items.iter().zip(have).enumerate() {
                eval(p, Some(h), &format!("{path}/{i}"), captures)?;
            }
            Ok(())
        }
        Pattern::Absent => Ok(()),
        Pattern::Op(op) => eval_op(op, actual, path, captures),
    }
}

fn literal(want: &Value, actual: &Value, path: &str) -> Result<(), Mismatch> {
    let same = match (want, actual) {
        (Value::Number(a), Value::Number(b)) => a.as_f64() == b.as_f64(),
        (a, b) => a == b,
    };
    if same {
        Ok(())
    } else {
        Err(miss(path, None, text(want), Some(actual)))
    }
}

/// Whether `pattern` matches `actual` without touching `captures` (captures it would make are
/// returned on success).
pub(super) fn probe(
    pattern: &Pattern,
    actual: &Value,
    path: &str,
    captures: &Captures,
) -> Result<Captures, Mismatch> {
    let mut trial = captures.clone();
    eval(pattern, Some(actual), path, &mut trial)?;
    Ok(trial)
}

fn op_key(pattern: &Pattern) -> Option<&'static str> {
    match pattern {
        Pattern::Op(op) => Some(op.key()),
        _ => None,
    }
}

/// The expectation as written (operators in words), for messages.
pub(super) fn describe(pattern: &Pattern) -> String {
    match pattern {
        Pattern::Op(op) => describe_op(op),
        other => text(&as_json(other)),
    }
}

/// A pattern back as the JSON it was parsed from (operators as `"<$op …>"` text).
fn as_json(pattern: &Pattern) -> Value {
    match pattern {
        Pattern::Any => Value::String(super::pattern::ANY.into()),
        Pattern::Capture(name) => Value::String(format!("{}{name}", super::pattern::CAPTURE)),
        Pattern::Absent => Value::String(super::pattern::ABSENT.into()),
        Pattern::Literal(v) => v.clone(),
        Pattern::Object(members) => Value::Object(
            members
                .iter()
                .map(|(k, p)| (k.clone(), as_json(p)))
                .collect(),
        ),
        Pattern::Array(items) => Value::Array(items.iter().map(as_json).collect()),
        Pattern::Op(op) => Value::String(format!("<{}>", describe_op(op))),
    }
}

/// Matches one operator against a present value.
fn eval_op(op: &Op, actual: &Value, path: &str, captures: &mut Captures) -> Result<(), Mismatch> {
    let fail = || Err(miss(path, Some(op.key()), describe_op(op), Some(actual)));
    match op {
        Op::Ne(p) => match probe(p, actual, path, captures) {
            Ok(_) => fail(),
            Err(_) => Ok(()),
        },
        Op::Cmp(cmp, n) => match actual.as_f64() {
            Some(have) if cmp.holds(have, *n) => Ok(()),
            _ => fail(),
        },
        Op::Prefix(p) => match actual.as_str() {
            Some(s) if s.starts_with(p.as_str()) => Ok(()),
            _ => fail(),
        },
        Op::Regex(re) => match actual.as_str() {
            Some(s) if re.is_match(s) => Ok(()),
            _ => fail(),
        },
        Op::Type(t) => match type_is(t, actual) {
            true => Ok(()),
            false => fail(),
        },
        Op::Contains(p) => contains(op, p, actual, path, captures),
        Op::Len(p) => {
            let len = match actual {
                Value::String(s) => s.chars().count(),
                Value::Array(a) => a.len(),
                Value::Object(o) => o.len(),
                _ => return fail(),
            };
            eval(p, Some(&Value::from(len)), path, captures).map_err(|m| Mismatch {
                op: Some(format!(
                    "$len{}",
                    m.op.map(|o| format!(" {o}")).unwrap_or_default()
                )),
                actual: Some(format!("{len} (length of {})", text(actual))),
                ..m
            })
        }
        Op::Exact(members) => exact(members, actual, path, captures),
        Op::Unordered(items) => unordered(op, items, actual, path, captures),
        Op::All(items) => items
            .iter()
            .try_for_each(|p| eval(p, Some(actual), path, captures)),
        Op::Each(p) => match actual.as_array() {
            Some(have) => have
                .iter()
                .enumerate()
                .try_for_each(|(i, item)| eval(p, Some(item), &format!("{path}/{i}"), captures)),
            None => fail(),
        },
        Op::Deferred(key) => Err(miss(
            path,
            Some(key),
            "a resolved operand (a ${NAME} was never captured)".into(),
            Some(actual),
        )),
    }
}

fn contains(
    op: &Op,
    p: &Pattern,
    actual: &Value,
    path: &str,
    captures: &mut Captures,
) -> Result<(), Mismatch> {
    let found = match (actual, p) {
        (Value::String(s), Pattern::Literal(Value::String(needle))) => s.contains(needle.as_str()),
        (Value::Array(items), _) => {
            let hit = items
                .iter()
                .enumerate()
                .find_map(|(i, item)| probe(p, item, &format!("{path}/{i}"), captures).ok());
            match hit {
                Some(trial) => {
                    *captures = trial;
                    true
                }
                None => false,
            }
        }
        _ => false,
    };
    if found {
        Ok(())
    } else {
        Err(miss(path, Some(op.key()), describe_op(op), Some(actual)))
    }
}

fn exact(
    members: &[(String, Pattern)],
    actual: &Value,
    path: &str,
    captures: &mut Captures,
) -> Result<(), Mismatch> {
    let Some(have) = actual.as_object() else {
        return Err(miss(path, Some("$exact"), "an object".into(), Some(actual)));
    };
    for (key, p) in members {
        eval(p, have.get(key), &format!("{path}/{key}"), captures)?;
    }
    let allowed = |k: &String| {
        members
            .iter()
            .any(|(m, p)| m == k && !matches!(p, Pattern::Absent))
    };
    if let Some((key, value)) = have.iter().find(|(k, _)| !allowed(k)) {
        let listed: Vec<&str> = members.iter().map(|(k, _)| k.as_str()).collect();
        return Err(miss(
            &format!("{path}/{key}"),
            Some("$exact"),
            format!("no key beyond {}", listed.join(", ")),
            Some(value),
        ));
    }
    Ok(())
}

fn unordered(
    op: &Op,
    items: &[Pattern],
    actual: &Value,
    path: &str,
    captures: &mut Captures,
) -> Result<(), Mismatch> {
    let have = match actual.as_array() {
        Some(h) if h.len() == items.len() => h,
        _ => return Err(miss(path, Some(op.key()), describe_op(op), Some(actual))),
    };
    let mut used = vec![false; have.len()];
    match assign(items, have, &mut used, path, captures) {
        Some(trial) => {
            *captures = trial;
            Ok(())
        }
        None => Err(miss(path, Some(op.key()), describe_op(op), Some(actual))),
    }
}

/// Gives each pattern a distinct element it matches (backtracking); the captures on success.
fn assign(
    items: &[Pattern],
    have: &[Value],
    used: &mut [bool],
    path: &str,
    captures: &Captures,
) -> Option<Captures> {
    let Some((first, rest)) = items.split_first() else {
        return Some(captures.clone());
    };
    for (i, h) in have.iter().enumerate() {
        if used[i] {
            continue;
        }
        if let Ok(trial) = probe(first, h, &format!("{path}/{i}"), captures) {
            used[i] = true;
            if let Some(done) = assign(rest, have, used, path, &trial) {
                return Some(done);
            }
            used[i] = false;
        }
    }
    None
}

fn type_is(t: &str, v: &Value) -> bool {
    match t {
        "string" => v.is_string(),
        "number" => v.is_number(),
        "integer" => v.is_i64() || v.is_u64() || v.as_f64().is_some_and(|f| f.fract() == 0.0),
        "boolean" => v.is_boolean(),
        "object" => v.is_object(),
        "array" => v.is_array(),
        "null" => v.is_null(),
        _ => false,
    }
}

/// One operator in words (for messages).
fn describe_op(op: &Op) -> String {
    match op {
        Op::Ne(p) => format!("anything but {}", describe(p)),
        Op::Cmp(cmp, n) => format!("a number {} {n}", cmp_sign(*cmp)),
        Op::Prefix(p) => format!("a string starting with {p:?}"),
        Op::Contains(p) => match &**p {
            Pattern::Literal(Value::String(s)) => {
                format!("a string containing {s:?} (or an array with that element)")
            }
            _ => format!("an array with an element matching {}", describe(p)),
        },
        Op::Regex(re) => format!("a string matching /{}/", re.as_str()),
        Op::Len(p) => format!("a length of {}", describe(p)),
        Op::Exact(members) => {
            let listed: Vec<&str> = members.iter().map(|(k, _)| k.as_str()).collect();
            format!("an object with exactly the keys {}", listed.join(", "))
        }
        Op::Unordered(items) => {
            let listed: Vec<String> = items.iter().map(describe).collect();
            format!(
                "these {} elements in any order: {}",
                items.len(),
                listed.join("; ")
            )
        }
        Op::Type(t) => format!("a value of type {t}"),
        Op::All(items) => {
            let listed: Vec<String> = items.iter().map(describe).collect();
            format!("a value matching all of: {}", listed.join("; "))
        }
        Op::Each(p) => format!("an array whose every element is {}", describe(p)),
        Op::Deferred(key) => format!("{key} with a resolved operand"),
    }
}

fn cmp_sign(cmp: super::pattern::Cmp) -> &'static str {
    use super::pattern::Cmp;
    match cmp {
        Cmp::Gt => ">",
        Cmp::Gte => ">=",
        Cmp::Lt => "<",
        Cmp::Lte => "<=",
    }
}
