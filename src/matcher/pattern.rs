//! An expectation as a pattern tree: magic strings and `$op` objects parsed and checked.
//!
//! [`parse`] turns an expected JSON value into a [`Pattern`]. At load time it runs `lenient`:
//! an operand that is a whole `"${NAME}"` string stands for a value known only at run time and
//! is accepted where a number or string is needed. At run time (after substitution) it is
//! strict, and a bad operand is a mismatch rather than a load error.

use serde_json::{Map, Value};

pub use crate::errors::PatternError;

/// JSON `null` (TOML has none), in params and expectations.
pub const NULL: &str = "$null";
/// In an expectation: this key must not be there.
pub const ABSENT: &str = "$absent";
/// Any present value.
pub const ANY: &str = "$any";
/// Any present value, remembered under the name that follows.
pub const CAPTURE: &str = "$capture:";

/// The operators, as written.
pub const OPERATORS: [&str; 14] = [
    "$ne",
    "$gt",
    "$gte",
    "$lt",
    "$lte",
    "$prefix",
    "$contains",
    "$regex",
    "$len",
    "$exact",
    "$unordered",
    "$type",
    "$all",
    "$each",
];

/// The type names `$type` takes.
pub const TYPES: [&str; 7] = [
    "string", "number", "integer", "boolean", "object", "array", "null",
];

/// A parsed expectation.
#[derive(Debug, Clone)]
pub enum Pattern {
    /// `"$any"`.
    Any,
    /// `"$capture:NAME"`.
    Capture(String),
    /// `"$absent"` (only as an object member's value).
    Absent,
    /// A scalar compared by value (numbers numerically; `"$null"` is `null`).
    Literal(Value),
    /// Every listed key is present and matches; other keys are fine.
    Object(Vec<(String, Pattern)>),
    /// Element by element, same length.
    Array(Vec<Pattern>),
    /// A `{ "$op" = operand }` object.
    Op(Op),
}

/// The comparison of a number operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cmp {
    /// `$gt`.
    Gt,
    /// `$gte`.
    Gte,
    /// `$lt`.
    Lt,
    /// `$lte`.
    Lte,
}

impl Cmp {
    /// The operator as written.
    pub fn key(self) -> &'static str {
        match self {
            Cmp::Gt => "$gt",
            Cmp::Gte => "$gte",
            Cmp::Lt => "$lt",
            Cmp::Lte => "$lte",
        }
    }

    /// Whether `have` compares to `want` as the operator asks.
    pub fn holds(self, have: f64, want: f64) -> bool {
        match self {
            Cmp::Gt => have > want,
            Cmp::Gte => have >= want,
            Cmp::Lt => have < want,
            Cmp::Lte => have <= want,
        }
    }
}

/// One operator with its parsed operand.
#[derive(Debug, Clone)]
pub enum Op {
    /// `$ne`: present and not matching.
    Ne(Box<Pattern>),
    /// `$gt` / `$gte` / `$lt` / `$lte` against a number.
    Cmp(Cmp, f64),
    /// `$prefix`: a string starting with this.
    Prefix(String),
    /// `$contains`: a substring, or an array element matching the pattern.
    Contains(Box<Pattern>),
    /// `$regex`: a string the expression finds a match in.
    Regex(regex::Regex),
    /// `$len`: the length of a string (chars), array or object matches the pattern.
    Len(Box<Pattern>),
    /// `$exact`: an object with these keys and no others.
    Exact(Vec<(String, Pattern)>),
    /// `$unordered`: an array with the same elements in any order.
    Unordered(Vec<Pattern>),
    /// `$type`: the JSON type (`integer` is a number without a fraction).
    Type(String),
    /// `$all`: every listed pattern matches the same value.
    All(Vec<Pattern>),
    /// `$each`: an array whose every element matches the pattern (an empty array too).
    Each(Box<Pattern>),
    /// An operand that was `"${NAME}"` at load time (only when lenient).
    Deferred(&'static str),
}

impl Op {
    /// The operator as written.
    pub fn key(&self) -> &'static str {
        match self {
            Op::Ne(_) => "$ne",
            Op::Cmp(c, _) => c.key(),
            Op::Prefix(_) => "$prefix",
            Op::Contains(_) => "$contains",
            Op::Regex(_) => "$regex",
            Op::Len(_) => "$len",
            Op::Exact(_) => "$exact",
            Op::Unordered(_) => "$unordered",
            Op::Type(_) => "$type",
            Op::All(_) => "$all",
            Op::Each(_) => "$each",
            Op::Deferred(key) => key,
        }
    }
}

/// Parses `expected` at `path`; `lenient` accepts `"${NAME}"` operands (load time).
pub fn parse(expected: &Value, lenient: bool) -> Result<Pattern, PatternError> {
    Parser { lenient }.value(expected, "", false)
}

/// Whether `s` is a whole `"${NAME}"` reference.
pub fn is_reference(s: &str) -> bool {
    s.len() > 3 && s.starts_with("${") && s.ends_with('}') && !s[2..s.len() - 1].contains('}')
}

struct Parser {
    lenient: bool,
}

impl Parser {
    fn value(&self, v: &Value, path: &str, member: bool) -> Result<Pattern, PatternError> {
        match v {
            Value::String(s) => self.string(s, path, member),
            Value::Object(map) if map.keys().any(|k| k.starts_with('$')) => {
                self.op(map, path).map(Pattern::Op)
            }
            Value::Object(map) => Ok(Pattern::Object(self.members(map, path)?)),
            Value::Array(items) => Ok(Pattern::Array(self.items(items, path)?)),
            other => Ok(Pattern::Literal(other.clone())),
        }
    }

    fn members(
        &self,
        map: &Map<String, Value>,
        path: &str,
    ) -> Result<Vec<(String, Pattern)>, PatternError> {
        map.iter()
            .map(|(k, v)| Ok((k.clone(), self.value(v, &format!("{path}/{k}"), true)?)))
            .collect()
    }

    fn items(&self, items: &[Value], path: &str) -> Result<Vec<Pattern>, PatternError> {
        items
            .iter()
            .enumerate()
            .map(|(i, v)| self.value(v, &format!("{path}/{i}"), false))
            .collect()
    }

    fn string(&self, s: &str, path: &str, member: bool) -> Result<Pattern, PatternError> {
        let pattern = match s {
            ANY => Pattern::Any,
            NULL => Pattern::Literal(Value::Null),
            ABSENT if member => Pattern::Absent,
            ABSENT => {
                return Err(error(
                    path,
                    "\"$absent\" only stands as the value of an object key",
                ))
            }
            _ if s.starts_with(CAPTURE) && s.len() > CAPTURE.len() => {
                Pattern::Capture(s[CAPTURE.len()..].to_owned())
            }
            _ if is_magic_word(s) => {
                return Err(error(
                    path,
                    format!("unknown magic string {s:?} (known: $any, $capture:NAME, $null, $absent, ${{NAME}})"),
                ))
            }
            _ => Pattern::Literal(Value::String(s.to_owned())),
        };
        Ok(pattern)
    }

    fn op(&self, map: &Map<String, Value>, path: &str) -> Result<Op, PatternError> {
        let mut entries = map.iter();
        let (Some((key, operand)), None) = (entries.next(), entries.next()) else {
            let keys: Vec<&str> = map.keys().map(String::as_str).collect();
            return Err(error(
                path,
                format!(
                    "an operator object has exactly one key, found {}",
                    keys.join(", ")
                ),
            ));
        };
        let key = key.as_str();
        if !self.deferred(operand)
            || matches!(key, "$exact" | "$unordered" | "$len" | "$all" | "$each")
        {
            return self.operand(key, operand, path);
        }
        match OPERATORS.iter().find(|k| **k == key) {
            Some(k) => Ok(Op::Deferred(k)),
            None => self.operand(key, operand, path),
        }
    }

    fn deferred(&self, operand: &Value) -> bool {
        self.lenient && operand.as_str().is_some_and(is_reference)
    }

    fn operand(&self, key: &str, operand: &Value, path: &str) -> Result<Op, PatternError> {
        let bad = |want: &str| error(path, format!("{key} takes {want}, got {operand}"));
        let op = match key {
            "$ne" => Op::Ne(Box::new(self.value(operand, path, false)?)),
            "$gt" | "$gte" | "$lt" | "$lte" => {
                let n = self.number(operand).ok_or_else(|| bad("a number"))?;
                Op::Cmp(cmp_of(key), n)
            }
            "$prefix" => Op::Prefix(operand.as_str().ok_or_else(|| bad("a string"))?.into()),
            "$contains" => Op::Contains(Box::new(self.value(operand, path, false)?)),
            "$regex" => {
                let text = operand.as_str().ok_or_else(|| bad("a string"))?;
                let re = regex::Regex::new(&self.regex_text(text))
                    .map_err(|e| error(path, format!("$regex {text:?} does not compile: {e}")))?;
                Op::Regex(re)
            }
            "$len" => Op::Len(Box::new(self.len_operand(operand, path, &bad)?)),
            "$exact" => Op::Exact(self.members(
                operand.as_object().ok_or_else(|| bad("a table (object)"))?,
                path,
            )?),
            "$unordered" => {
                Op::Unordered(self.items(operand.as_array().ok_or_else(|| bad("an array"))?, path)?)
            }
            "$all" => {
                Op::All(self.items(operand.as_array().ok_or_else(|| bad("an array"))?, path)?)
            }
            "$each" => Op::Each(Box::new(self.value(operand, path, false)?)),
            "$type" => match operand.as_str() {
                Some(t) if TYPES.contains(&t) => Op::Type(t.to_owned()),
                _ => return Err(bad(&format!("one of {}", TYPES.join(", ")))),
            },
            other => {
                return Err(error(
                    path,
                    format!("unknown operator {other} (known: {})", OPERATORS.join(", ")),
                ));
            }
        };
        Ok(op)
    }

    /// A number operand; at run time also a numeric string (what a `${NAME}` of a `[vars]`
    /// entry, always a string, becomes).
    fn number(&self, operand: &Value) -> Option<f64> {
        match operand {
            Value::String(s) if !self.lenient => s.trim().parse().ok(),
            other => other.as_f64(),
        }
    }

    /// At load time a `${NAME}` inside a regex is checked as if it were plain text.
    fn regex_text(&self, text: &str) -> String {
        if !self.lenient {
            return text.to_owned();
        }
        let mut out = String::new();
        let mut rest = text;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            match rest[start..].find('}') {
                Some(end) => {
                    out.push('x');
                    rest = &rest[start + end + 1..];
                }
                None => {
                    out.push_str(&rest[start..]);
                    rest = "";
                }
            }
        }
        out.push_str(rest);
        out
    }

    fn len_operand(
        &self,
        operand: &Value,
        path: &str,
        bad: &dyn Fn(&str) -> PatternError,
    ) -> Result<Pattern, PatternError> {
        let want = "a number or a number operator ($gt, $gte, $lt, $lte, $ne)";
        match operand {
            Value::Number(n) if n.as_u64().is_some() => Ok(Pattern::Literal(operand.clone())),
            Value::String(_) if self.number(operand).is_some_and(|n| n >= 0.0) => {
                Ok(Pattern::Literal(Value::from(self.number(operand))))
            }
            Value::String(s) if self.lenient && is_reference(s) => {
                Ok(Pattern::Op(Op::Deferred("$len")))
            }
            Value::Object(_) => match self.value(operand, path, false)? {
                p @ Pattern::Op(Op::Cmp(..) | Op::Ne(_) | Op::Deferred(_)) => Ok(p),
                _ => Err(bad(want)),
            },
            _ => Err(bad(want)),
        }
    }
}

fn cmp_of(key: &str) -> Cmp {
    match key {
        "$gt" => Cmp::Gt,
        "$gte" => Cmp::Gte,
        "$lt" => Cmp::Lt,
        _ => Cmp::Lte,
    }
}

/// `$word` with nothing else: a misspelled magic string, never protocol data worth comparing.
fn is_magic_word(s: &str) -> bool {
    s.strip_prefix('$')
        .is_some_and(|w| !w.is_empty() && w.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'))
}

fn error(path: &str, message: impl Into<String>) -> PatternError {
    PatternError {
        path: path.to_owned(),
        message: message.into(),
    }
}
