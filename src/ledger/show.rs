//! The read view: items enriched with the derived fields of `st show --format json`.
//!
//! Key order per item: `id, step, status, priority, in_plan, deps, notes, comments, dep_state,
//! waiting_on`, the optional stored fields, then `claim_state, claim_stale, lock_roots,
//! executor_state` — the last four only when the item has a claim, a runtime or lock roots.
//! The same items make the `plan_sync:` / `update_plan:` lines st prints after a mutation.

use std::collections::HashMap;
use std::str::FromStr;

use serde::Deserialize;
use serde_json::{json, Value};

use super::item::{ClaimState, Item, Status};
use super::lock_roots::lock_roots;
use super::ops::expired;
use super::validate::{effective_in_plan, unresolved_deps};

/// Which items `show` lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Surface {
    /// Items whose effective `in_plan` is true (st's default).
    #[default]
    Plan,
    /// Every item.
    All,
    /// Items outside the plan.
    Backlog,
}

/// A surface name other than plan, all or backlog.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown surface {0:?} (plan, all, backlog)")]
pub struct UnknownSurface(pub String);

impl FromStr for Surface {
    type Err = UnknownSurface;

    fn from_str(s: &str) -> Result<Surface, UnknownSurface> {
        match s {
            "plan" => Ok(Surface::Plan),
            "all" => Ok(Surface::All),
            "backlog" => Ok(Surface::Backlog),
            other => Err(UnknownSurface(other.to_owned())),
        }
    }
}

/// `{"items":[enriched…]}` for `surface`, derived with `now` (`YYYY-MM-DDTHH:MM:SSZ`).
pub fn show(items: &[Item], surface: Surface, now: &str) -> Value {
    let by_id: HashMap<&str, &Item> = items.iter().map(|i| (i.id.as_str(), i)).collect();
    let listed = items.iter().filter(|i| match surface {
        Surface::All => true,
        Surface::Plan => effective_in_plan(i),
        Surface::Backlog => !effective_in_plan(i),
    });
    let enriched: Vec<Value> = listed.map(|i| enrich(i, &by_id, now)).collect();
    json!({ "items": enriched })
}

/// What `st` prints after a mutation, after its human line: `plan_sync: {…}` (every item
/// enriched, then the in-plan items mirrored for Codex and OpenCode) and the legacy
/// `update_plan: {…}` with the Codex entries, one line each (reference §3 and §6).
pub fn sync_lines(items: &[Item], now: &str) -> String {
    let by_id: HashMap<&str, &Item> = items.iter().map(|i| (i.id.as_str(), i)).collect();
    let enriched: Vec<Value> = items.iter().map(|i| enrich(i, &by_id, now)).collect();
    let mut codex = Vec::new();
    let mut todos = Vec::new();
    for (item, row) in items.iter().zip(&enriched) {
        if !effective_in_plan(item) {
            continue;
        }
        let waiting = row["dep_state"] == "waiting_on_deps";
        let mirrored = |opencode: bool| match item.status {
            Status::InProgress if waiting => "pending",
            Status::InProgress => "in_progress",
            Status::Completed => "completed",
            Status::Canceled if opencode => "cancelled",
            _ => "pending",
        };
        let step = format!("[{}] {}", item.id, item.step);
        codex.push(json!({ "step": step, "status": mirrored(false) }));
        todos.push(json!({
            "content": item.step,
            "status": mirrored(true),
            "priority": item.priority,
        }));
    }
    let plan_sync = json!({
        "version": 1,
        "items": enriched,
        "codex": { "plan": codex },
        "opencode": { "todos": todos },
    });
    let update_plan = json!({ "plan": plan_sync["codex"]["plan"] });
    format!("plan_sync: {plan_sync}\nupdate_plan: {update_plan}")
}

fn enrich(item: &Item, by_id: &HashMap<&str, &Item>, now: &str) -> Value {
    let mut m = item.core_json();
    m.insert("in_plan".into(), effective_in_plan(item).into());
    let waiting = unresolved_deps(item, by_id);
    let dep_state = match item.status {
        Status::Blocked => "blocked_manual",
        s if s.is_terminal() => "n/a",
        _ if !waiting.is_empty() => "waiting_on_deps",
        _ => "ready",
    };
    m.insert("dep_state".into(), dep_state.into());
    m.insert("waiting_on".into(), waiting.into());
    item.optional_json(&mut m);
    let roots = match &item.claim {
        Some(c) if !c.lock_roots.is_empty() => c.lock_roots.clone(),
        Some(_) => lock_roots(&item.scope),
        None if !item.scope.is_empty() => lock_roots(&item.scope),
        None => Vec::new(),
    };
    if item.claim.is_none() && item.runtime.is_none() && roots.is_empty() {
        return Value::Object(m);
    }
    let stale = item.claim.as_ref().is_some_and(|c| {
        c.state == ClaimState::Stale || (c.state == ClaimState::Held && expired(c, now))
    });
    let claim_state = match &item.claim {
        None => "none",
        Some(c) if c.state == ClaimState::Held && stale => "stale",
        Some(c) => c.state.as_str(),
    };
    let executor_state = match &item.claim {
        _ if stale => "stale",
        _ if item.runtime.is_some() && item.status == Status::InProgress => "running",
        Some(c) => match c.state {
            ClaimState::Held => "claimed",
            ClaimState::Released => "released",
            ClaimState::Stale => "stale",
            ClaimState::None => "idle",
        },
        None => "idle",
    };
    m.insert("claim_state".into(), claim_state.into());
    m.insert("claim_stale".into(), stale.into());
    m.insert("lock_roots".into(), roots.into());
    m.insert("executor_state".into(), executor_state.into());
    Value::Object(m)
}
