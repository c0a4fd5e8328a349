//! Reading an item from JSON the way `st` does: tolerant of legacy shapes, strict on types.
//!
//! Missing `priority` is `medium`, missing `in_plan` is `true`, a dep may be a bare id, list
//! fields may be a single string, `null` means absent. A field of the wrong type is an error
//! naming the item and the field, never silently dropped.

use serde_json::{Map, Value};

use super::error::{fail, ErrorCode, LedgerError};
use super::fields::{Executor, ProofState, Substrate};
use super::item::{Claim, ClaimState, Comment, Dep, Item, Proof, Runtime, Source, Status};

type Obj = Map<String, Value>;

impl Item {
    /// Reads one item.
    pub fn from_json(value: &Value) -> Result<Item, LedgerError> {
        let Some(o) = value.as_object() else {
            return fail(
                ErrorCode::InvalidItem,
                format!("item is not an object: {value}"),
            );
        };
        let id = required(o, "id", ErrorCode::MissingItemId)?;
        read_fields(o, &id).map_err(|e| e.context(format!("item {id:?}")))
    }
}

fn read_fields(o: &Obj, id: &str) -> Result<Item, LedgerError> {
    let mut item = Item::new(id, required(o, "step", ErrorCode::MissingStepValue)?);
    item.status = match o.get("status") {
        None | Some(Value::Null) => Status::Pending,
        Some(Value::String(s)) => Status::parse(s)?,
        Some(other) => return fail(ErrorCode::InvalidStatus, format!("status {other}")),
    };
    item.priority = match o.get("priority") {
        None | Some(Value::Null) => "medium".to_owned(),
        Some(Value::String(s)) => priority(s)?,
        Some(other) => return fail(ErrorCode::InvalidPriority, format!("priority {other}")),
    };
    item.in_plan = match o.get("in_plan") {
        None | Some(Value::Null) => true,
        Some(Value::Bool(b)) => *b,
        Some(other) => return invalid("in_plan", other),
    };
    item.deps = match o.get("deps") {
        Some(Value::Array(a)) => deps(a)?,
        _ => return fail(ErrorCode::MissingDepsValue, "deps is not an array"),
    };
    item.notes = string(o, "notes")?;
    item.comments = comments(o.get("comments"))?;
    item.related_to = list(o, "related_to")?;
    item.scope = list(o, "scope")?;
    item.location = list(o, "location")?;
    item.validation = list(o, "validation")?;
    item.agent = string(o, "agent")?;
    item.role = string(o, "role")?;
    item.source = object(o, "source")?.map(source).transpose()?;
    item.claim = object(o, "claim")?.map(claim).transpose()?;
    item.runtime = object(o, "runtime")?.map(runtime).transpose()?;
    item.proof = object(o, "proof")?.map(proof).transpose()?;
    Ok(item)
}

fn required(o: &Obj, key: &str, code: ErrorCode) -> Result<String, LedgerError> {
    match o.get(key).and_then(Value::as_str).map(str::trim) {
        Some(s) if !s.is_empty() => Ok(s.to_owned()),
        _ => fail(code, format!("{key} must be a non-empty string")),
    }
}

fn invalid<T>(key: &str, value: &Value) -> Result<T, LedgerError> {
    fail(
        ErrorCode::InvalidItem,
        format!("{key} has the wrong type: {value}"),
    )
}

/// Normalizes a priority (`high`, `medium`, `low`, any case).
pub fn priority(raw: &str) -> Result<String, LedgerError> {
    let p = raw.trim().to_ascii_lowercase();
    match p.as_str() {
        "high" | "medium" | "low" => Ok(p),
        _ => fail(
            ErrorCode::InvalidPriority,
            format!("unknown priority {raw:?}"),
        ),
    }
}

fn string(o: &Obj, key: &str) -> Result<String, LedgerError> {
    match o.get(key) {
        None | Some(Value::Null) => Ok(String::new()),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(other) => invalid(key, other),
    }
}

fn int(o: &Obj, key: &str) -> Result<i64, LedgerError> {
    match o.get(key) {
        None | Some(Value::Null) => Ok(0),
        Some(v) => match v.as_i64() {
            Some(n) => Ok(n),
            None => invalid(key, v),
        },
    }
}

/// A list of strings; a single string is a one-element list; entries are trimmed and empty ones
/// dropped (as st reads and rewrites them).
pub(crate) fn string_list(key: &str, value: Option<&Value>) -> Result<Vec<String>, LedgerError> {
    match value {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(Vec::new()),
        Some(Value::String(s)) => Ok(vec![st_trim(s)]),
        Some(Value::Array(a)) => a
            .iter()
            .filter(|v| v.as_str().is_none_or(|s| !s.trim().is_empty()))
            .map(|v| match v {
                Value::String(s) => Ok(st_trim(s)),
                other => invalid(key, other),
            })
            .collect(),
        Some(other) => invalid(key, other),
    }
}

/// A list entry as st keeps it: spaces, tabs, `\r` and `\n` trimmed from both ends.
fn st_trim(s: &str) -> String {
    s.trim_matches([' ', '\t', '\r', '\n']).to_owned()
}

fn list(o: &Obj, key: &str) -> Result<Vec<String>, LedgerError> {
    string_list(key, o.get(key))
}

fn object<'a>(o: &'a Obj, key: &str) -> Result<Option<&'a Obj>, LedgerError> {
    match o.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(m)) => Ok(Some(m)),
        Some(other) => invalid(key, other),
    }
}

/// Reads dependency edges (bare ids or `{id, type}`), de-duplicated.
pub(crate) fn deps(values: &[Value]) -> Result<Vec<Dep>, LedgerError> {
    let mut out: Vec<Dep> = Vec::new();
    for v in values {
        let (id, kind) = match v {
            Value::String(s) => (s.trim().to_owned(), "blocks".to_owned()),
            Value::Object(m) => {
                let id = m.get("id").and_then(Value::as_str).unwrap_or("").trim();
                let kind = match m.get("type") {
                    None | Some(Value::Null) => "blocks".to_owned(),
                    Some(Value::String(t)) => dep_type(t)?,
                    Some(other) => return fail(ErrorCode::InvalidDepType, other.to_string()),
                };
                (id.to_owned(), kind)
            }
            other => return invalid("deps", other),
        };
        if id.is_empty() {
            return fail(ErrorCode::InvalidItem, "a dependency without an id");
        }
        let dep = Dep { id, kind };
        if !out.contains(&dep) {
            out.push(dep);
        }
    }
    Ok(out)
}

fn dep_type(raw: &str) -> Result<String, LedgerError> {
    let t = raw.trim().to_ascii_lowercase();
    if t.is_empty() {
        return Ok("blocks".to_owned());
    }
    let kebab = !t.starts_with('-')
        && !t.ends_with('-')
        && !t.contains("--")
        && t.chars()
            .all(|c| c == '-' || c.is_ascii_digit() || c.is_ascii_lowercase());
    if kebab {
        Ok(t)
    } else {
        fail(
            ErrorCode::InvalidDepType,
            format!("dependency type {raw:?} is not kebab-case"),
        )
    }
}

/// Reads a comment list.
pub(crate) fn comments(value: Option<&Value>) -> Result<Vec<Comment>, LedgerError> {
    match value {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(a)) => a.iter().map(comment).collect(),
        Some(other) => invalid("comments", other),
    }
}

/// Reads one comment `{ts, author, text}` (all non-empty).
pub(crate) fn comment(v: &Value) -> Result<Comment, LedgerError> {
    let Some(o) = v.as_object() else {
        return invalid("comment", v);
    };
    let field = |k: &str| required(o, k, ErrorCode::InvalidItem).map_err(|e| e.context("comment"));
    Ok(Comment {
        ts: field("ts")?,
        author: field("author")?,
        text: field("text")?,
    })
}

fn source(o: &Obj) -> Result<Source, LedgerError> {
    Ok(Source {
        kind: string(o, "kind")?,
        locator: string(o, "locator")?,
        source_task_id: string(o, "source_task_id")?,
        wave_id: string(o, "wave_id")?,
    })
}

fn claim(o: &Obj) -> Result<Claim, LedgerError> {
    // st: a missing state is `none`; a state outside none/held/stale/released is
    // `InvalidClaimState` (its state parser's error); a non-string state is `InvalidItem`.
    let state = match o.get("state") {
        None => ClaimState::None,
        Some(Value::String(s)) => match s.trim().to_ascii_lowercase().as_str() {
            "none" => ClaimState::None,
            "held" => ClaimState::Held,
            "stale" => ClaimState::Stale,
            "released" => ClaimState::Released,
            other => {
                return fail(
                    ErrorCode::InvalidClaimState,
                    format!("claim.state {other:?}"),
                )
            }
        },
        Some(other) => return invalid("claim.state", other),
    };
    Ok(Claim {
        state,
        owner: string(o, "owner")?,
        executor: Executor::parse(&string(o, "executor")?),
        wave_id: string(o, "wave_id")?,
        lock_roots: list(o, "lock_roots")?,
        claimed_at: string(o, "claimed_at")?,
        lease_seconds: int(o, "lease_seconds")?,
        lease_expires_at: string(o, "lease_expires_at")?,
        heartbeat_at: string(o, "heartbeat_at")?,
        attempts: int(o, "attempts")?,
    })
}

fn runtime(o: &Obj) -> Result<Runtime, LedgerError> {
    Ok(Runtime {
        substrate: Substrate::parse(&string(o, "substrate")?),
        thread_id: string(o, "thread_id")?,
        agent_id: string(o, "agent_id")?,
        row_id: string(o, "row_id")?,
        output_ref: string(o, "output_ref")?,
        last_event: string(o, "last_event")?,
    })
}

fn proof(o: &Obj) -> Result<Proof, LedgerError> {
    Ok(Proof {
        state: proof_state(&string(o, "state")?)?,
        command: string(o, "command")?,
        evidence_ref: string(o, "evidence_ref")?,
        last_run_at: string(o, "last_run_at")?,
    })
}

/// Normalizes a proof state (`pass`, `fail`, `not_run`).
pub fn proof_state(raw: &str) -> Result<ProofState, LedgerError> {
    match ProofState::known(&raw.trim().to_ascii_lowercase()) {
        Some(state) => Ok(state),
        None => fail(
            ErrorCode::InvalidProofState,
            format!("unknown proof state {raw:?}"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_reference_example_round_trips_in_key_order() {
        let text = r#"{"id":"cfg","step":"Update config loader","status":"pending","priority":"medium","in_plan":true,"deps":[],"notes":"","comments":[],"scope":["src/config/**"],"location":["src/config/index.ts"],"validation":["npm test -w config"],"agent":"worker","role":"implementation","source":{"kind":"orchplan","locator":"p.yaml","source_task_id":"cfg","wave_id":"w1"},"claim":{"state":"held","owner":"tk","executor":"teams","wave_id":"w1","lock_roots":["src/config"],"claimed_at":"2026-03-12T00:00:00Z","lease_seconds":900,"lease_expires_at":"2026-03-12T00:15:00Z","heartbeat_at":"2026-03-12T00:00:00Z","attempts":1}}"#;
        let value: Value = serde_json::from_str(text).unwrap();
        let item = Item::from_json(&value).unwrap();
        assert_eq!(serde_json::to_string(&item.to_json()).unwrap(), text);
    }

    #[test]
    fn legacy_shapes_are_normalized() {
        let item = Item::from_json(&json!({
            "id": " a ", "step": "x", "status": "Doing", "deps": ["b", {"id": "c"}, "b"],
            "scope": "src/**", "comments": null, "notes": null
        }))
        .unwrap();
        assert_eq!(item.id, "a");
        assert_eq!(item.status, Status::InProgress);
        assert_eq!(item.priority, "medium");
        assert!(item.in_plan);
        assert_eq!(item.deps.len(), 2);
        assert_eq!(item.deps[1].kind, "blocks");
        assert_eq!(item.scope, ["src/**"]);
    }

    #[test]
    fn status_terms_normalize() {
        let cases = [
            ("open", "pending"),
            ("queued", "pending"),
            ("active", "in_progress"),
            ("doing", "in_progress"),
            ("done", "completed"),
            ("closed", "completed"),
            ("cancelled", "canceled"),
        ];
        for (raw, want) in cases {
            assert_eq!(Status::parse(raw).unwrap().as_str(), want, "{raw}");
        }
    }

    #[test]
    fn bad_items_name_the_problem() {
        let cases = [
            (json!("x"), "InvalidItem"),
            (json!({"step": "x", "deps": []}), "MissingItemId"),
            (json!({"id": "a", "deps": []}), "MissingStepValue"),
            (json!({"id": "a", "step": "x"}), "MissingDepsValue"),
            (
                json!({"id": "a", "step": "x", "deps": [], "status": "nope"}),
                "InvalidStatus",
            ),
            (
                json!({"id": "a", "step": "x", "deps": [], "priority": "urgent"}),
                "InvalidPriority",
            ),
            (
                json!({"id": "a", "step": "x", "deps": [{"id": "b", "type": "Not Kebab"}]}),
                "InvalidDepType",
            ),
            (
                json!({"id": "a", "step": "x", "deps": [], "in_plan": "yes"}),
                "InvalidItem",
            ),
            (
                json!({"id": "a", "step": "x", "deps": [], "claim": {"state": "gone"}}),
                "InvalidClaimState",
            ),
            (
                json!({"id": "a", "step": "x", "deps": [], "proof": {"state": "maybe"}}),
                "InvalidProofState",
            ),
        ];
        for (value, want) in cases {
            let err = Item::from_json(&value).unwrap_err();
            assert_eq!(err.code(), want, "{value} -> {err}");
        }
    }
}
