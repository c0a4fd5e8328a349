//! The claim operations as pure changes to a list of items (`st`'s §3), plus the [`Op`] enum.
//!
//! Each function checks every precondition before it changes anything it returns, and returns
//! `st`'s human line. Callers run them on a copy under the file lock, validate the result and
//! write it, so a multi-item claim is all-or-nothing.

use std::path::PathBuf;

use serde::Deserialize;

use super::clock::format_secs;
use super::error::{fail, ErrorCode, LedgerError};
use super::fields::{Executor, Lease, ProofState, Substrate};
use super::item::{Claim, ClaimState, Item, Proof, Runtime, Status};
use super::item_read::proof_state;

/// The default lease, in seconds.
pub const DEFAULT_LEASE_SECONDS: i64 = 900;

/// One ledger operation, as scenarios and `cas st` name them.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
pub enum Op {
    /// Import an OrchPlan (JSON or simple YAML).
    ImportOrchplan {
        /// The OrchPlan file (recorded as `source.locator` as given).
        input: PathBuf,
        /// Clear the ledger first.
        #[serde(default)]
        replace: bool,
        /// Import the items outside the plan.
        #[serde(default)]
        backlog_only: bool,
    },
    /// Claim items by id, or an imported OrchPlan wave by `wave` alone.
    Claim {
        /// Item ids (each may itself be comma-separated).
        #[serde(default)]
        ids: Vec<String>,
        /// The wave (`manual` when absent).
        wave: Option<String>,
        /// teams, mesh or local.
        executor: String,
        /// The lease (default 900), a number or the flag's text.
        lease_seconds: Option<Lease>,
    },
    /// Renew a held claim's lease.
    Heartbeat {
        /// The item.
        id: String,
    },
    /// Attach runtime metadata (a pending item becomes in_progress).
    SetRuntime {
        /// The item.
        id: String,
        /// spawn_agent, spawn_agents_on_csv or local.
        substrate: String,
        /// The codex thread.
        thread_id: Option<String>,
        /// The agent.
        agent_id: Option<String>,
        /// The CSV row.
        row_id: Option<String>,
        /// Where output goes.
        output_ref: Option<String>,
        /// The last event.
        last_event: Option<String>,
    },
    /// Record a validation run.
    SetProof {
        /// The item.
        id: String,
        /// pass, fail or not_run.
        state: String,
        /// The command run.
        command: String,
        /// Where the evidence is.
        evidence_ref: Option<String>,
    },
    /// Give a held or stale claim back.
    Release {
        /// The item.
        id: String,
        /// Recorded as the runtime's last event.
        reason: Option<String>,
    },
    /// Turn every held claim whose lease expired at `now` stale.
    ReclaimStale {
        /// `YYYY-MM-DDTHH:MM:SSZ` (default: the ledger's clock).
        now: Option<String>,
    },
}

/// What an operation knows about its moment and its writer.
pub(crate) struct Ctx<'a> {
    /// Now, formatted.
    pub now: String,
    /// Now, in seconds since the epoch.
    pub now_secs: i64,
    /// The writer (becomes `claim.owner`).
    pub actor: &'a str,
}

pub(crate) fn non_empty(flag: &str, value: &str) -> Result<String, LedgerError> {
    let v = value.trim();
    if v.is_empty() {
        return fail(ErrorCode::EmptyString, format!("{flag} is empty"));
    }
    Ok(v.to_owned())
}

fn optional(flag: &str, value: Option<&String>) -> Result<Option<String>, LedgerError> {
    value.map(|v| non_empty(flag, v)).transpose()
}

fn find<'i>(items: &'i mut [Item], id: &str) -> Result<&'i mut Item, LedgerError> {
    match items.iter_mut().find(|i| i.id == id) {
        Some(item) => Ok(item),
        None => fail(ErrorCode::UnknownItemId, format!("no item {id:?}")),
    }
}

/// Held and `lease_expires_at` non-empty and `<= now`, compared byte-wise as `st` does.
pub(crate) fn expired(claim: &Claim, now: &str) -> bool {
    !claim.lease_expires_at.is_empty() && claim.lease_expires_at.as_str() <= now
}

fn held_claim<'i>(items: &'i mut [Item], id: &str) -> Result<&'i mut Item, LedgerError> {
    let item = find(items, id)?;
    match &item.claim {
        Some(c) if c.state == ClaimState::Held => Ok(item),
        Some(c) => fail(
            ErrorCode::NoHeldClaim,
            format!("{id}'s claim is {}", c.state.as_str()),
        ),
        None => fail(ErrorCode::NoHeldClaim, format!("{id} has no claim")),
    }
}

/// `heartbeat`: renew the lease of a held claim (expiry not checked).
pub(crate) fn heartbeat(items: &mut [Item], ctx: &Ctx, id: &str) -> Result<String, LedgerError> {
    let id = non_empty("--id", id)?;
    let item = held_claim(items, &id)?;
    if let Some(c) = item.claim.as_mut() {
        let lease = if c.lease_seconds > 0 {
            c.lease_seconds
        } else {
            DEFAULT_LEASE_SECONDS
        };
        c.heartbeat_at = ctx.now.clone();
        c.lease_expires_at = format_secs(ctx.now_secs.saturating_add(lease));
    }
    Ok(format!("heartbeat refreshed for {id}"))
}

/// The runtime flags of `set-runtime`.
pub(crate) struct RuntimeArgs<'a> {
    pub substrate: &'a str,
    pub thread_id: Option<&'a String>,
    pub agent_id: Option<&'a String>,
    pub row_id: Option<&'a String>,
    pub output_ref: Option<&'a String>,
    pub last_event: Option<&'a String>,
}

/// `set-runtime`: attach runtime metadata to a held claim; pending becomes in_progress.
pub(crate) fn set_runtime(
    items: &mut [Item],
    id: &str,
    args: RuntimeArgs,
) -> Result<String, LedgerError> {
    let id = non_empty("--id", id)?;
    let substrate_text = args.substrate.trim().to_ascii_lowercase();
    let item = held_claim(items, &id)?;
    let Some(substrate) = Substrate::known(&substrate_text) else {
        return fail(
            ErrorCode::InvalidRuntimeSubstrate,
            format!("substrate {substrate_text:?}"),
        );
    };
    let mut rt = item.runtime.clone().unwrap_or_default();
    rt.substrate = substrate;
    let set = |field: &mut String, flag: &str, value: Option<&String>| -> Result<(), LedgerError> {
        if let Some(v) = optional(flag, value)? {
            *field = v;
        }
        Ok(())
    };
    set(&mut rt.thread_id, "--thread-id", args.thread_id)?;
    set(&mut rt.agent_id, "--agent-id", args.agent_id)?;
    set(&mut rt.row_id, "--row-id", args.row_id)?;
    set(&mut rt.output_ref, "--output-ref", args.output_ref)?;
    set(&mut rt.last_event, "--last-event", args.last_event)?;
    if rt.last_event.is_empty() {
        rt.last_event = "runtime_attached".to_owned();
    }
    item.runtime = Some(rt);
    if item.status == Status::Pending {
        item.status = Status::InProgress;
        item.normalize_membership();
    }
    Ok(format!("attached runtime metadata to {id}"))
}

/// `set-proof`: record a validation run (no claim needed, status unchanged).
pub(crate) fn set_proof(
    items: &mut [Item],
    ctx: &Ctx,
    id: &str,
    state: &str,
    command: &str,
    evidence_ref: Option<&String>,
) -> Result<String, LedgerError> {
    let id = non_empty("--id", id)?;
    let item = find(items, &id)?;
    let proof = Proof {
        state: proof_state(state)?,
        command: non_empty("--command", command)?,
        evidence_ref: optional("--evidence-ref", evidence_ref)?.unwrap_or_default(),
        last_run_at: ctx.now.clone(),
    };
    let line = format!("updated proof for {id} -> {}", proof.state);
    item.proof = Some(proof);
    Ok(line)
}

/// `release`: give back a held or stale claim; an in-progress item settles by its proof.
pub(crate) fn release(
    items: &mut [Item],
    ctx: &Ctx,
    id: &str,
    reason: Option<&String>,
) -> Result<String, LedgerError> {
    let id = non_empty("--id", id)?;
    let item = find(items, &id)?;
    if !item
        .claim
        .as_ref()
        .is_some_and(|c| matches!(c.state, ClaimState::Held | ClaimState::Stale))
    {
        return fail(
            ErrorCode::NoHeldClaim,
            format!("{id} has no held or stale claim"),
        );
    }
    // As st: `--reason` is read only when there is a runtime to record it in, after the claim
    // check (an unknown id or no claim is refused first; without a runtime it is unused).
    let reason = match item.runtime {
        Some(_) => optional("--reason", reason)?,
        None => None,
    };
    if let Some(c) = item.claim.as_mut() {
        c.state = ClaimState::Released;
        c.heartbeat_at = ctx.now.clone();
        c.lease_expires_at.clear();
    }
    if let Some(rt) = item.runtime.as_mut() {
        rt.last_event = match reason {
            Some(r) => r,
            None if !rt.last_event.is_empty() => rt.last_event.clone(),
            None => "released".to_owned(),
        };
    }
    if item.status == Status::InProgress {
        item.status = match item.proof.as_ref().map(|p| &p.state) {
            Some(ProofState::Pass) => Status::Completed,
            Some(ProofState::Fail) => Status::Blocked,
            _ => Status::Pending,
        };
        item.normalize_membership();
    }
    Ok(format!("released claim for {id}"))
}

/// `reclaim-stale`: every held claim expired at `now` becomes stale, its runtime dropped.
pub(crate) fn reclaim_stale(items: &mut [Item], now: &str) -> Result<String, LedgerError> {
    let now = non_empty("--now", now)?;
    let mut reclaimed = 0;
    for item in items.iter_mut() {
        let Some(c) = item
            .claim
            .as_mut()
            .filter(|c| c.state == ClaimState::Held && expired(c, &now))
        else {
            continue;
        };
        c.state = ClaimState::Stale;
        c.owner.clear();
        c.executor = Executor::Unset;
        c.heartbeat_at = now.clone();
        item.runtime = None::<Runtime>;
        if item.status == Status::InProgress {
            item.status = Status::Pending;
            item.normalize_membership();
        }
        reclaimed += 1;
    }
    Ok(format!("reclaimed {reclaimed} stale claim(s)"))
}
