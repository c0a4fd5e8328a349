//! Load-time checks that need the file's text: every `${NAME}` must be defined before it is
//! used, and every expectation must be a usable pattern; both errors name the file and line.
//!
//! The steps are walked in order over the spanned TOML document. A name is known when it is
//! built in ([`BUILTIN_VARS`], and `item` inside a parallel branch), declared in `vars`, or
//! captured (`"$capture:NAME"`) by an earlier step; after a parallel step, what a branch
//! captured as NAME is known as `ENTRY.NAME` for each entry of its `for_each`.

use serde_json::{Map, Value};
use std::collections::BTreeSet;
use std::path::Path;
use toml::de::{DeTable, DeValue};
use toml::Spanned;

use crate::errors::RuleError;
use crate::matcher;

/// Names every scenario knows without declaring them (keep `BUILTIN_TEXT` in step).
pub const BUILTIN_VARS: &[&str] = &["workspace", "scenarios_dir"];

/// [`BUILTIN_VARS`] as one line, for messages.
pub(super) const BUILTIN_TEXT: &str = "workspace, scenarios_dir";

/// The name a parallel branch knows its entry by.
const BRANCH_ITEM: &str = "item";

/// Keys (step kind, key) whose values are expectations, checked as patterns with file and
/// line; a new step kind with an expectation adds its entry here.
pub const EXPECTATIONS: &[(&str, &str)] = &[
    ("request", "expect_result"),
    ("request", "expect_error"),
    ("await_notification", "params"),
    ("await_request", "params"),
    ("await_response", "expect_result"),
    ("await_response", "expect_error"),
    ("drain", "until"),
    ("drain", "expect_count"),
    ("expect_never", "params"),
    ("answer_all", "params"),
    ("answer_all", "count"),
    ("expect_model_request", "body"),
    ("expect_model_request", "headers"),
    ("expect_model_request", "offers_tool"),
    ("expect_file", "json"),
    ("run", "stdout_json"),
];

/// Top-level keys whose strings are never substituted (the fake's script is sent verbatim).
const VERBATIM: [&str; 2] = ["fake", "description"];

/// One file's text, parsed with spans.
pub(super) struct Lint<'a> {
    file: &'a Path,
    text: &'a str,
    doc: Spanned<DeTable<'a>>,
}

impl<'a> Lint<'a> {
    /// Parses `text` (already known to deserialize) of `file`.
    pub(super) fn parse(file: &'a Path, text: &'a str) -> Option<Lint<'a>> {
        let doc = DeTable::parse(text).ok()?;
        Some(Lint { file, text, doc })
    }

    /// The names declared in `vars`.
    pub(super) fn vars(&self) -> Vec<String> {
        match get(self.doc.get_ref(), "vars").map(Spanned::get_ref) {
            Some(DeValue::Table(t)) => t.keys().map(|k| k.get_ref().to_string()).collect(),
            _ => Vec::new(),
        }
    }

    /// Every name captured anywhere in the file.
    pub(super) fn all_captures(&self) -> Vec<String> {
        let mut out = Vec::new();
        for (_, v) in self.doc.get_ref().iter() {
            matcher::captured_names(&to_json(v.get_ref()), &mut out);
        }
        out
    }

    /// Checks the whole file; `known` holds the names defined outside it (a twin's original's
    /// vars and captures).
    pub(super) fn check(&self, known: &BTreeSet<String>) -> Result<(), RuleError> {
        let mut known = known.clone();
        known.extend(BUILTIN_VARS.iter().map(|s| s.to_string()));
        known.extend(self.vars());
        let root = self.doc.get_ref();
        if let Some(vars) = get(root, "vars") {
            self.refs(vars, &known)?;
        }
        let mut everything = known.clone();
        everything.extend(self.all_captures());
        for (key, value) in root.iter() {
            let key = key.get_ref().as_ref();
            if !VERBATIM.contains(&key) && !matches!(key, "steps" | "insert_steps" | "vars") {
                self.refs(value, &everything)?;
            }
        }
        if let Some(DeValue::Array(steps)) = get(root, "steps").map(Spanned::get_ref) {
            self.steps(steps, &mut known)?;
        }
        if let Some(DeValue::Array(inserts)) = get(root, "insert_steps").map(Spanned::get_ref) {
            for insert in inserts.iter() {
                if let Some(DeValue::Array(steps)) = field(insert, "steps") {
                    self.steps(steps, &mut everything.clone())?;
                }
            }
        }
        Ok(())
    }

    /// Walks steps in order, each checked against what the steps before it defined.
    fn steps(
        &self,
        steps: &[Spanned<DeValue<'a>>],
        known: &mut BTreeSet<String>,
    ) -> Result<(), RuleError> {
        for (i, step) in steps.iter().enumerate() {
            let DeValue::Table(table) = step.get_ref() else {
                continue;
            };
            let label = step_label(i, table);
            for (key, value) in table.iter() {
                if key.get_ref().as_ref() != "parallel" {
                    self.refs(value, known)?;
                }
            }
            self.expectations(&label, table)?;
            if let Some(parallel) = get(table, "parallel") {
                self.parallel(parallel, known)?;
            }
            let mut captured = Vec::new();
            for (key, value) in table.iter() {
                if key.get_ref().as_ref() != "parallel" {
                    matcher::captured_names(&to_json(value.get_ref()), &mut captured);
                }
            }
            known.extend(captured);
        }
        Ok(())
    }

    /// A parallel group: branches know `item`; afterwards `ENTRY.NAME` is known.
    fn parallel(
        &self,
        group: &Spanned<DeValue<'a>>,
        known: &mut BTreeSet<String>,
    ) -> Result<(), RuleError> {
        if let Some(for_each) = field_spanned(group, "for_each") {
            self.refs(for_each, known)?;
        }
        let mut branch = known.clone();
        branch.insert(BRANCH_ITEM.into());
        let before = branch.clone();
        if let Some(DeValue::Array(steps)) = field(group, "steps") {
            self.steps(steps, &mut branch)?;
        }
        let entries: Vec<String> = match field(group, "for_each") {
            Some(DeValue::Array(items)) => items
                .iter()
                .filter_map(|v| v.get_ref().as_str().map(str::to_owned))
                .collect(),
            _ => Vec::new(),
        };
        for name in branch.difference(&before) {
            known.extend(entries.iter().map(|e| format!("{e}.{name}")));
        }
        Ok(())
    }

    /// Checks the expectations of one step as patterns.
    fn expectations(&self, label: &str, step: &DeTable<'a>) -> Result<(), RuleError> {
        for (kind, key) in EXPECTATIONS {
            if let Some(value) = get(step, kind).and_then(|k| field_spanned(k, key)) {
                self.pattern(&format!("{label} {kind}.{key}"), value)?;
            }
        }
        if let Some(items) = get(step, "ledger_show").and_then(|k| field_spanned(k, "items")) {
            if let DeValue::Table(items) = items.get_ref() {
                for (id, want) in items.iter() {
                    self.pattern(&format!("{label} ledger_show.items.{}", id.get_ref()), want)?;
                }
            }
        }
        Ok(())
    }

    /// Validates one expectation; an error points at the offending value's line.
    pub(super) fn pattern(
        &self,
        field: &str,
        value: &Spanned<DeValue<'a>>,
    ) -> Result<(), RuleError> {
        let Err(source) = matcher::validate(&to_json(value.get_ref())) else {
            return Ok(());
        };
        let at = locate(value, &source.path);
        Err(RuleError::Pattern {
            file: self.file.to_owned(),
            line: self.line(at.span().start),
            field: field.to_owned(),
            source: Box::new(source),
        })
    }

    /// Every `${NAME}` in the strings under `value` must be known.
    fn refs(
        &self,
        value: &Spanned<DeValue<'a>>,
        known: &BTreeSet<String>,
    ) -> Result<(), RuleError> {
        match value.get_ref() {
            DeValue::String(s) => match matcher::references(s)
                .into_iter()
                .find(|n| !known.contains(*n))
            {
                Some(name) => Err(RuleError::UnknownVar {
                    file: self.file.to_owned(),
                    line: self.line(value.span().start),
                    name: name.to_owned(),
                    builtins: BUILTIN_TEXT,
                }),
                None => Ok(()),
            },
            DeValue::Array(items) => items.iter().try_for_each(|v| self.refs(v, known)),
            DeValue::Table(t) => t.iter().try_for_each(|(_, v)| self.refs(v, known)),
            _ => Ok(()),
        }
    }

    /// The 1-based line of byte `offset`.
    fn line(&self, offset: usize) -> usize {
        let end = offset.min(self.text.len());
        self.text.as_bytes()[..end]
            .iter()
            .filter(|b| **b == b'\n')
            .count()
            + 1
    }
}

fn step_label(index: usize, step: &DeTable<'_>) -> String {
    let name = get(step, "name")
        .and_then(|n| n.get_ref().as_str())
        .unwrap_or("unnamed");
    format!("step {} ({name})", index + 1)
}

fn get<'t, 'a>(table: &'t DeTable<'a>, key: &str) -> Option<&'t Spanned<DeValue<'a>>> {
    table
        .iter()
        .find(|(k, _)| k.get_ref().as_ref() == key)
        .map(|(_, v)| v)
}

fn field_spanned<'t, 'a>(
    value: &'t Spanned<DeValue<'a>>,
    key: &str,
) -> Option<&'t Spanned<DeValue<'a>>> {
    match value.get_ref() {
        DeValue::Table(t) => get(t, key),
        _ => None,
    }
}

fn field<'t, 'a>(value: &'t Spanned<DeValue<'a>>, key: &str) -> Option<&'t DeValue<'a>> {
    field_spanned(value, key).map(Spanned::get_ref)
}

/// The value at a JSON-pointer-like `path` under `value` (as deep as it goes).
fn locate<'t, 'a>(value: &'t Spanned<DeValue<'a>>, path: &str) -> &'t Spanned<DeValue<'a>> {
    let mut at = value;
    for segment in path.split('/').filter(|s| !s.is_empty()) {
        let next = match at.get_ref() {
            DeValue::Table(t) => get(t, segment),
            DeValue::Array(items) => segment.parse::<usize>().ok().and_then(|i| items.get(i)),
            _ => None,
        };
        match next {
            Some(n) => at = n,
            None => break,
        }
    }
    at
}

/// The TOML value as JSON (datetimes as their text, unparsable numbers as null).
pub(super) fn to_json(value: &DeValue<'_>) -> Value {
    match value {
        DeValue::String(s) => Value::String(s.to_string()),
        DeValue::Integer(i) => i64::from_str_radix(i.as_str(), i.radix())
            .map(Value::from)
            .unwrap_or(Value::Null),
        DeValue::Float(f) => f
            .as_str()
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map_or(Value::Null, Value::Number),
        DeValue::Boolean(b) => Value::Bool(*b),
        DeValue::Datetime(d) => Value::String(d.to_string()),
        DeValue::Array(items) => Value::Array(items.iter().map(|v| to_json(v.get_ref())).collect()),
        DeValue::Table(t) => Value::Object(
            t.iter()
                .map(|(k, v)| (k.get_ref().to_string(), to_json(v.get_ref())))
                .collect::<Map<String, Value>>(),
        ),
    }
}
