//! Subset matching of expected JSON against actual JSON, with magic strings and operators.
//!
//! Objects match when every expected key is present and matches (extra actual keys are fine);
//! arrays match element by element with equal length; scalars match by value (numbers by
//! numeric value). Magic strings: `"$any"` (any present value), `"$capture:NAME"` (any value,
//! remembered), `"${NAME}"` (a remembered value; inside a longer string, its text), `"$null"`
//! (JSON null), `"$absent"` (the key must not be there). Operator objects of one key
//! (`$ne`, `$gt`, `$gte`, `$lt`, `$lte`, `$prefix`, `$contains`, `$regex`, `$len`, `$exact`,
//! `$unordered`, `$type`, `$all`, `$each`) may stand anywhere in an expectation and nest.
//!
//! Load time: [`validate`] refuses unknown operators and malformed operands. Run time:
//! [`substitute`] the captures in, then [`check`] (or [`matches`]) and [`project`].

mod eval;
mod pattern;
mod project;
mod subst;

use serde_json::Value;

pub use eval::Mismatch;
pub use pattern::PatternError;
pub use subst::{captured_names, references, substitute, Captures};

/// Plain subset test without captures (used by the fake's `when_params`).
pub fn is_subset(expected: &Value, actual: &Value) -> bool {
    check(expected, actual, &mut Captures::new()).is_ok()
}

/// Checks at load time that `expected` is a usable expectation: known operators with
/// well-formed operands, `$absent` only as a key's value, no misspelled magic word. A whole
/// `"${NAME}"` operand is accepted (its value is known at run time).
pub fn validate(expected: &Value) -> Result<(), PatternError> {
    pattern::parse(expected, true).map(|_| ())
}

/// Substitutes `captures` into `expected`, then matches it against `actual`, recording new
/// captures. The one call a step needs.
pub fn check(expected: &Value, actual: &Value, captures: &mut Captures) -> Result<(), Mismatch> {
    let expected = substitute(expected, captures);
    matches(&expected, actual, captures)
}

/// Matches `expected` (already substituted) against `actual`, recording captures. An operand
/// that substitution made malformed (e.g. `$gt` of a string) is a mismatch.
pub fn matches(expected: &Value, actual: &Value, captures: &mut Captures) -> Result<(), Mismatch> {
    let pattern = pattern::parse(expected, false).map_err(|e| Mismatch {
        path: e.path.clone(),
        op: None,
        expected: format!("a valid expectation ({})", e.message),
        actual: Some("(not compared: a ${NAME} made the operand malformed)".into()),
    })?;
    eval::eval(&pattern, Some(actual), "", captures)
}

/// The part of `actual` that `expected` (already substituted) looked at, with magic values
/// shown as what they matched: `$any` as `"<any TYPE>"`, `$capture:NAME` as
/// `"<captured NAME>"`, `$absent` as `"<absent>"`, an operator that holds as
/// `"<$op OPERAND>"`. Stable across runs whenever the checked values are.
pub fn project(expected: &Value, actual: &Value) -> Value {
    match pattern::parse(expected, false) {
        Ok(p) => project::project(&p, actual),
        Err(_) => actual.clone(),
    }
}

/// `expected` as a failure diff shows it beside `projection` (what [`project`] gave): each
/// magic value or operator that held shows as its projection, so only real differences differ.
pub fn shown_as_matched(expected: &Value, projection: Option<&Value>) -> Value {
    project::shown_as_matched(expected, projection)
}

#[cfg(test)]
mod tests;
