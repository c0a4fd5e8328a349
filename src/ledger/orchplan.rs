//! OrchPlan import: tasks and waves (JSON or simple YAML) become pending ledger items.
//!
//! Each task becomes an item with `step` = title (or id), `deps` = `depends_on` (type `blocks`),
//! the shaping fields copied, and `source = {kind: "orchplan", locator: <path as given>,
//! source_task_id, wave_id: <first wave listing the task>}`: the wave id is what makes
//! `claim --wave W` target exactly the imported wave.

use std::path::Path;

use serde_json::Value;

use super::error::{fail, ErrorCode, LedgerError};
use super::item::{Dep, Item, Source};
use super::item_read::string_list;
use super::yaml;
use crate::errors::Chain;

/// Reads the OrchPlan at `path` into items (`in_plan` false with `backlog_only`).
pub fn read_orchplan(path: &Path, backlog_only: bool) -> Result<Vec<Item>, LedgerError> {
    let text = std::fs::read_to_string(path).or_else(|e| {
        fail(
            ErrorCode::InvalidOrchPlan,
            format!("reading {}: {e}", path.display()),
        )
    })?;
    let unreadable = |e: &dyn std::error::Error| {
        LedgerError::new(
            ErrorCode::InvalidOrchPlan,
            format!("{}: {}", path.display(), Chain(e)),
        )
    };
    let doc = if text.trim_start().starts_with('{') {
        serde_json::from_str::<Value>(&text).map_err(|e| unreadable(&e))?
    } else {
        yaml::parse(&text).map_err(|e| unreadable(&e))?
    };
    items_from(&doc, &path.display().to_string(), backlog_only)
        .map_err(|e| e.context(path.display()))
}

/// The items an OrchPlan document describes.
pub fn items_from(
    doc: &Value,
    locator: &str,
    backlog_only: bool,
) -> Result<Vec<Item>, LedgerError> {
    let tasks = match doc.get("tasks") {
        Some(Value::Array(t)) if !t.is_empty() => t,
        _ => return fail(ErrorCode::InvalidOrchPlan, "no tasks"),
    };
    let waves: Vec<(String, Vec<String>)> = match doc.get("waves") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(w)) => w.iter().map(wave).collect::<Result<_, _>>()?,
        Some(other) => {
            return fail(
                ErrorCode::InvalidOrchPlan,
                format!("waves is not a list: {other}"),
            )
        }
    };
    tasks
        .iter()
        .map(|t| {
            let mut item = task(t, locator, &waves)?;
            item.in_plan = !backlog_only;
            Ok(item)
        })
        .collect()
}

fn wave(w: &Value) -> Result<(String, Vec<String>), LedgerError> {
    let id = text(w, "id")?;
    if id.is_empty() {
        return fail(
            ErrorCode::InvalidOrchPlan,
            format!("a wave without an id: {w}"),
        );
    }
    Ok((id, list(w, "tasks")?))
}

fn task(t: &Value, locator: &str, waves: &[(String, Vec<String>)]) -> Result<Item, LedgerError> {
    if !t.is_object() {
        return fail(
            ErrorCode::InvalidOrchPlan,
            format!("a task that is not a mapping: {t}"),
        );
    }
    let id = text(t, "id")?;
    if id.is_empty() {
        return fail(
            ErrorCode::InvalidOrchPlan,
            format!("a task without an id: {t}"),
        );
    }
    let title = text(t, "title")?;
    let mut item = Item::new(
        id.clone(),
        if title.is_empty() { id.clone() } else { title },
    );
    item.deps = list(t, "depends_on")?
        .into_iter()
        .map(|d| Dep {
            id: d,
            kind: "blocks".into(),
        })
        .collect();
    item.scope = list(t, "scope")?;
    item.location = list(t, "location")?;
    item.validation = list(t, "validation")?;
    item.related_to = list(t, "related_to")?;
    item.agent = text(t, "agent")?;
    item.role = text(t, "role")?;
    let wave_id = waves
        .iter()
        .find(|(_, ids)| ids.contains(&id))
        .map(|(w, _)| w.clone())
        .unwrap_or_default();
    item.source = Some(Source {
        kind: "orchplan".into(),
        locator: locator.into(),
        source_task_id: id,
        wave_id,
    });
    Ok(item)
}

fn text(v: &Value, key: &str) -> Result<String, LedgerError> {
    match v.get(key) {
        None | Some(Value::Null) => Ok(String::new()),
        Some(Value::String(s)) => Ok(s.trim().to_owned()),
        Some(n @ Value::Number(_)) => Ok(n.to_string()),
        Some(other) => fail(
            ErrorCode::InvalidOrchPlan,
            format!("{key} is not a string: {other}"),
        ),
    }
}

fn list(v: &Value, key: &str) -> Result<Vec<String>, LedgerError> {
    string_list(key, v.get(key))
        .map(|l| l.into_iter().map(|s| s.trim().to_owned()).collect())
        .map_err(|e| LedgerError::new(ErrorCode::InvalidOrchPlan, e.detail().to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn tasks_become_items_with_their_wave() {
        let doc = json!({
            "tasks": [
                {"id": "cfg", "title": "Update config loader", "agent": "worker", "role": "implementation",
                 "scope": "src/config/**", "location": ["src/config/index.ts"], "validation": ["npm test -w config"]},
                {"id": "ui", "depends_on": "cfg", "related_to": ["cfg"]},
                {"id": "loose", "title": "Not in a wave"}
            ],
            "waves": [{"id": "w1", "tasks": ["cfg", "ui"]}, {"id": "w2", "tasks": ["ui"]}]
        });
        let items = items_from(&doc, "plan.yaml", false).unwrap();
        let cfg = items[0].to_json();
        assert_eq!(
            cfg.to_string(),
            r#"{"id":"cfg","step":"Update config loader","status":"pending","priority":"medium","in_plan":true,"deps":[],"notes":"","comments":[],"scope":["src/config/**"],"location":["src/config/index.ts"],"validation":["npm test -w config"],"agent":"worker","role":"implementation","source":{"kind":"orchplan","locator":"plan.yaml","source_task_id":"cfg","wave_id":"w1"}}"#
        );
        assert_eq!(items[1].step, "ui");
        assert_eq!(
            items[1].deps,
            [Dep {
                id: "cfg".into(),
                kind: "blocks".into()
            }]
        );
        assert_eq!(items[1].source.as_ref().unwrap().wave_id, "w1");
        assert_eq!(items[2].source.as_ref().unwrap().wave_id, "");
        assert!(!items_from(&doc, "p", true).unwrap()[0].in_plan);
    }

    #[test]
    fn no_tasks_is_invalid() {
        for doc in [
            json!({}),
            json!({"tasks": []}),
            json!({"tasks": [{"title": "no id"}]}),
            json!({"tasks": [{"id": "a"}], "waves": 3}),
        ] {
            let err = items_from(&doc, "p", false).unwrap_err();
            assert!(err.is(ErrorCode::InvalidOrchPlan), "{doc}: {err}");
        }
    }
}
