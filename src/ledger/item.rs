//! One plan item: its fields, how `st` reads them tolerantly, and how it writes them.
//!
//! Written items have exactly `st`'s key order (`id, step, status, priority, in_plan, deps,
//! notes, comments`, then the optional fields, each only when non-empty), so a file written by
//! cas and one written by `st` are byte-for-byte alike for the same state.

use serde_json::{Map, Value};

use super::error::{fail, ErrorCode, LedgerError};
use super::fields::{Executor, ProofState, Substrate};

/// An item's status (user terms normalized on read: open/queued, active/doing, done/closed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Not started.
    Pending,
    /// Being worked on.
    InProgress,
    /// Done (terminal).
    Completed,
    /// Stopped by hand.
    Blocked,
    /// Put off (terminal).
    Deferred,
    /// Dropped (terminal).
    Canceled,
}

impl Status {
    /// Reads a status, normalizing `st`'s user terms.
    pub fn parse(raw: &str) -> Result<Status, LedgerError> {
        Ok(match raw.trim().to_ascii_lowercase().as_str() {
            "pending" | "open" | "queued" => Status::Pending,
            "in_progress" | "in-progress" | "active" | "doing" => Status::InProgress,
            "completed" | "done" | "closed" => Status::Completed,
            "blocked" => Status::Blocked,
            "deferred" => Status::Deferred,
            "canceled" | "cancelled" => Status::Canceled,
            other => {
                return fail(
                    ErrorCode::InvalidStatus,
                    format!("unknown status {other:?}"),
                )
            }
        })
    }

    /// The written form.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::InProgress => "in_progress",
            Status::Completed => "completed",
            Status::Blocked => "blocked",
            Status::Deferred => "deferred",
            Status::Canceled => "canceled",
        }
    }

    /// Completed, deferred and canceled.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            Status::Completed | Status::Deferred | Status::Canceled
        )
    }
}

/// A dependency edge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dep {
    /// The item depended on.
    pub id: String,
    /// Kebab-case edge type (`blocks` by default).
    pub kind: String,
}

/// A comment on an item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comment {
    /// When.
    pub ts: String,
    /// Who.
    pub author: String,
    /// What.
    pub text: String,
}

/// Where an item came from (`kind: "orchplan"` for OrchPlan imports).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Source {
    /// The kind of source.
    pub kind: String,
    /// Where it is (the OrchPlan path as given).
    pub locator: String,
    /// The task id in the source.
    pub source_task_id: String,
    /// The first wave listing the task.
    pub wave_id: String,
}

/// A stored claim state (`none`: a claim object without a state, or st's explicit `"none"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClaimState {
    /// No claim in effect (st reads a missing `state` as this and writes it back as `"none"`).
    None,
    /// Owned by an executor.
    Held,
    /// Its lease expired and it was reclaimed.
    Stale,
    /// Given back.
    Released,
}

impl ClaimState {
    /// The written form.
    pub fn as_str(self) -> &'static str {
        match self {
            ClaimState::None => "none",
            ClaimState::Held => "held",
            ClaimState::Stale => "stale",
            ClaimState::Released => "released",
        }
    }
}

/// Who owns an item, for how long, and which paths it locks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    /// Held, stale or released.
    pub state: ClaimState,
    /// The claiming actor ("" once reclaimed).
    pub owner: String,
    /// teams, mesh or local (unset once reclaimed).
    pub executor: Executor,
    /// The wave (`manual` for id claims).
    pub wave_id: String,
    /// The lock roots the claim owns.
    pub lock_roots: Vec<String>,
    /// When claimed.
    pub claimed_at: String,
    /// The lease length.
    pub lease_seconds: i64,
    /// When the lease ends ("" once released).
    pub lease_expires_at: String,
    /// The last heartbeat.
    pub heartbeat_at: String,
    /// How many times the item was claimed.
    pub attempts: i64,
}

/// What is executing a claimed item.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Runtime {
    /// spawn_agent, spawn_agents_on_csv or local.
    pub substrate: Substrate,
    /// The codex thread.
    pub thread_id: String,
    /// The agent.
    pub agent_id: String,
    /// The CSV row.
    pub row_id: String,
    /// Where output goes.
    pub output_ref: String,
    /// The last thing that happened.
    pub last_event: String,
}

/// The last validation run.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Proof {
    /// pass, fail or not_run.
    pub state: ProofState,
    /// The command run.
    pub command: String,
    /// Where the evidence is.
    pub evidence_ref: String,
    /// When it ran.
    pub last_run_at: String,
}

/// One plan item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    /// Unique id.
    pub id: String,
    /// The task text.
    pub step: String,
    /// The status.
    pub status: Status,
    /// high, medium or low.
    pub priority: String,
    /// Membership in the mirrored plan.
    pub in_plan: bool,
    /// Dependencies.
    pub deps: Vec<Dep>,
    /// Free notes.
    pub notes: String,
    /// Comments.
    pub comments: Vec<Comment>,
    /// Soft context.
    pub related_to: Vec<String>,
    /// Owned paths (feeds the lock roots).
    pub scope: Vec<String>,
    /// Files of interest.
    pub location: Vec<String>,
    /// Validation commands.
    pub validation: Vec<String>,
    /// Shaping metadata.
    pub agent: String,
    /// Shaping metadata.
    pub role: String,
    /// Where it came from.
    pub source: Option<Source>,
    /// The claim.
    pub claim: Option<Claim>,
    /// The runtime.
    pub runtime: Option<Runtime>,
    /// The proof.
    pub proof: Option<Proof>,
}

impl Item {
    /// A pending, in-plan item with no deps and nothing optional.
    pub fn new(id: impl Into<String>, step: impl Into<String>) -> Item {
        Item {
            id: id.into(),
            step: step.into(),
            status: Status::Pending,
            priority: "medium".to_owned(),
            in_plan: true,
            deps: Vec::new(),
            notes: String::new(),
            comments: Vec::new(),
            related_to: Vec::new(),
            scope: Vec::new(),
            location: Vec::new(),
            validation: Vec::new(),
            agent: String::new(),
            role: String::new(),
            source: None,
            claim: None,
            runtime: None,
            proof: None,
        }
    }

    /// Terminal statuses leave the plan; `in_progress` is always in it.
    pub fn normalize_membership(&mut self) {
        if self.status.is_terminal() {
            self.in_plan = false;
        } else if self.status == Status::InProgress {
            self.in_plan = true;
        }
    }

    /// The written form, in `st`'s key order.
    pub fn to_json(&self) -> Value {
        let mut m = self.core_json();
        self.optional_json(&mut m);
        Value::Object(m)
    }

    /// `id, step, status, priority, in_plan, deps, notes, comments`.
    pub(crate) fn core_json(&self) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("id".into(), self.id.clone().into());
        m.insert("step".into(), self.step.clone().into());
        m.insert("status".into(), self.status.as_str().into());
        m.insert("priority".into(), self.priority.clone().into());
        m.insert("in_plan".into(), self.in_plan.into());
        let deps = self.deps.iter().map(|d| {
            let mut e = Map::new();
            e.insert("id".into(), d.id.clone().into());
            e.insert("type".into(), d.kind.clone().into());
            Value::Object(e)
        });
        m.insert("deps".into(), Value::Array(deps.collect()));
        m.insert("notes".into(), self.notes.clone().into());
        let comments = self.comments.iter().map(|c| {
            let mut e = Map::new();
            e.insert("ts".into(), c.ts.clone().into());
            e.insert("author".into(), c.author.clone().into());
            e.insert("text".into(), c.text.clone().into());
            Value::Object(e)
        });
        m.insert("comments".into(), Value::Array(comments.collect()));
        m
    }

    /// `related_to … proof`, each only when present and non-empty.
    pub(crate) fn optional_json(&self, m: &mut Map<String, Value>) {
        for (key, list) in [
            ("related_to", &self.related_to),
            ("scope", &self.scope),
            ("location", &self.location),
            ("validation", &self.validation),
        ] {
            if !list.is_empty() {
                m.insert(key.into(), list.clone().into());
            }
        }
        put_str(m, "agent", &self.agent);
        put_str(m, "role", &self.role);
        if let Some(s) = &self.source {
            let mut e = Map::new();
            e.insert("kind".into(), s.kind.clone().into());
            e.insert("locator".into(), s.locator.clone().into());
            put_str(&mut e, "source_task_id", &s.source_task_id);
            put_str(&mut e, "wave_id", &s.wave_id);
            m.insert("source".into(), Value::Object(e));
        }
        if let Some(c) = &self.claim {
            m.insert("claim".into(), claim_json(c));
        }
        if let Some(r) = &self.runtime {
            let mut e = Map::new();
            e.insert("substrate".into(), r.substrate.as_str().into());
            put_str(&mut e, "thread_id", &r.thread_id);
            put_str(&mut e, "agent_id", &r.agent_id);
            put_str(&mut e, "row_id", &r.row_id);
            put_str(&mut e, "output_ref", &r.output_ref);
            put_str(&mut e, "last_event", &r.last_event);
            m.insert("runtime".into(), Value::Object(e));
        }
        if let Some(p) = &self.proof {
            let mut e = Map::new();
            e.insert("state".into(), p.state.as_str().into());
            put_str(&mut e, "command", &p.command);
            put_str(&mut e, "evidence_ref", &p.evidence_ref);
            put_str(&mut e, "last_run_at", &p.last_run_at);
            m.insert("proof".into(), Value::Object(e));
        }
    }
}

fn claim_json(c: &Claim) -> Value {
    let mut e = Map::new();
    e.insert("state".into(), c.state.as_str().into());
    put_str(&mut e, "owner", &c.owner);
    put_str(&mut e, "executor", c.executor.as_str());
    put_str(&mut e, "wave_id", &c.wave_id);
    if !c.lock_roots.is_empty() {
        e.insert("lock_roots".into(), c.lock_roots.clone().into());
    }
    put_str(&mut e, "claimed_at", &c.claimed_at);
    e.insert("lease_seconds".into(), c.lease_seconds.into());
    put_str(&mut e, "lease_expires_at", &c.lease_expires_at);
    put_str(&mut e, "heartbeat_at", &c.heartbeat_at);
    e.insert("attempts".into(), c.attempts.into());
    Value::Object(e)
}

fn put_str(m: &mut Map<String, Value>, key: &str, value: &str) {
    if !value.is_empty() {
        m.insert(key.into(), value.into());
    }
}
