//! [`ClaimLedger`]: one plan file, one writer identity, and the operations on it.
//!
//! Every [`Op`] runs as one locked mutation of the [`Store`]: read and validate, change a copy,
//! validate, write the canonical pair at the new seq. The seq moves by 1, except a
//! non-replacing OrchPlan import, which moves it by the number of imported items (at least 1).

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;

use super::claiming;
use super::clock::Clock;
use super::error::{ErrorCode, LedgerError};
use super::item::Item;
use super::ops::{self, Ctx, Op, RuntimeArgs};
use super::orchplan::read_orchplan;
use super::record::{upsert, Ledger, Mutation};
use super::show::{show, sync_lines, Surface};
use super::store::{Change, Store};

/// How long a mutation waits for the sidecar lock by default.
pub const DEFAULT_LOCK_TIMEOUT: Duration = Duration::from_secs(30);

/// An st-compatible claim ledger over one plan file.
#[derive(Debug, Clone)]
pub struct ClaimLedger {
    store: Store,
    actor: String,
    session: Option<String>,
    clock: Clock,
    allow_multiple_in_progress: bool,
}

impl ClaimLedger {
    /// The ledger at `path`, written as `actor` (also every claim's owner).
    pub fn new(path: impl Into<PathBuf>, actor: impl Into<String>) -> ClaimLedger {
        ClaimLedger {
            store: Store::new(path, DEFAULT_LOCK_TIMEOUT),
            actor: actor.into(),
            session: None,
            clock: Clock::System,
            allow_multiple_in_progress: false,
        }
    }

    /// Records `session` as `mutation.session` of every write (st: `ST_SESSION_ID` or
    /// `CODEX_THREAD_ID`; the caller reads the environment).
    pub fn with_session(mut self, session: Option<String>) -> ClaimLedger {
        self.session = session;
        self
    }

    /// Uses `clock` for "now" (claims, leases, heartbeats, derived fields).
    pub fn with_clock(mut self, clock: Clock) -> ClaimLedger {
        self.clock = clock;
        self
    }

    /// Waits at most `timeout` for the sidecar lock (then `LockTimeout`).
    pub fn with_lock_timeout(mut self, timeout: Duration) -> ClaimLedger {
        self.store = Store::new(self.store.path().to_path_buf(), timeout);
        self
    }

    /// `--allow-multiple-in-progress`: turns the safe-wave check off (and records it).
    pub fn with_allow_multiple_in_progress(mut self, allow: bool) -> ClaimLedger {
        self.allow_multiple_in_progress = allow;
        self
    }

    /// The plan file.
    pub fn path(&self) -> &Path {
        self.store.path()
    }

    /// Reads and validates the current state.
    pub fn load(&self) -> Result<Ledger, LedgerError> {
        self.store.load(self.allow_multiple_in_progress)
    }

    /// `show --surface S --format json`: `{"items":[enriched…]}`.
    pub fn show(&self, surface: Surface) -> Result<Value, LedgerError> {
        let ledger = self.load()?;
        Ok(show(&ledger.items, surface, &self.clock.now_iso()))
    }

    /// Runs one operation; returns `st`'s human line.
    pub fn apply(&self, op: &Op) -> Result<String, LedgerError> {
        self.apply_items(op).map(|(line, _, _)| line)
    }

    /// Runs one operation; returns what `st` prints after a mutation: the human line, then the
    /// `plan_sync: {…}` and `update_plan: {…}` lines of the state it wrote (reference §3, §6).
    pub fn apply_with_sync(&self, op: &Op) -> Result<String, LedgerError> {
        let (line, items, now) = self.apply_items(op)?;
        Ok(format!("{line}\n{}", sync_lines(&items, &now)))
    }

    /// Runs one operation; returns the human line, the items written and the moment.
    fn apply_items(&self, op: &Op) -> Result<(String, Vec<Item>, String), LedgerError> {
        let now_secs = self.clock.now_secs();
        let ctx = Ctx {
            now: super::clock::format_secs(now_secs),
            now_secs,
            actor: &self.actor,
        };
        let meta = Mutation {
            allow_multiple_in_progress: self.allow_multiple_in_progress,
            actor: self.actor.clone(),
            pid: std::process::id(),
            session: self.session.clone(),
        };
        let (line, items) = match op {
            Op::ImportOrchplan {
                input,
                replace,
                backlog_only,
            } => {
                let imported = read_orchplan(input, *backlog_only)?;
                self.store.mutate(&meta, &ctx.now, |ledger| {
                    Ok(import(ledger, imported, *replace, input))
                })
            }
            // st refuses a claim without `--wave` and without ids before reading the file.
            Op::Claim {
                ids, wave: None, ..
            } if claiming::ids_blank(ids) => Err(LedgerError::new(
                ErrorCode::MissingIdsValue,
                "--ids is required without --wave",
            )),
            Op::ReclaimStale { now } => {
                let now = now.clone().unwrap_or_else(|| ctx.now.clone());
                self.store.mutate(&meta, &now, |l| {
                    one(l, |items| ops::reclaim_stale(items, &now))
                })
            }
            _ => self
                .store
                .mutate(&meta, &ctx.now, |l| one(l, |items| edit(items, &ctx, op))),
        }?;
        Ok((line, items, ctx.now))
    }
}

/// The single-step operations.
fn edit(items: &mut [Item], ctx: &Ctx, op: &Op) -> Result<String, LedgerError> {
    match op {
        Op::Claim {
            ids,
            wave,
            executor,
            lease_seconds,
        } => claiming::claim(
            items,
            ctx,
            ids,
            wave.as_deref(),
            executor,
            lease_seconds.as_ref(),
        ),
        Op::Heartbeat { id } => ops::heartbeat(items, ctx, id),
        Op::SetRuntime {
            id,
            substrate,
            thread_id,
            agent_id,
            row_id,
            output_ref,
            last_event,
        } => {
            let args = RuntimeArgs {
                substrate,
                thread_id: thread_id.as_ref(),
                agent_id: agent_id.as_ref(),
                row_id: row_id.as_ref(),
                output_ref: output_ref.as_ref(),
                last_event: last_event.as_ref(),
            };
            ops::set_runtime(items, id, args)
        }
        Op::SetProof {
            id,
            state,
            command,
            evidence_ref,
        } => ops::set_proof(items, ctx, id, state, command, evidence_ref.as_ref()),
        Op::Release { id, reason } => ops::release(items, ctx, id, reason.as_ref()),
        Op::ImportOrchplan { .. } | Op::ReclaimStale { .. } => unreachable!("handled by apply"),
    }
}

/// A change's output: the human line and the items written.
type Written = (String, Vec<Item>);

fn one(
    ledger: Ledger,
    change: impl FnOnce(&mut [Item]) -> Result<String, LedgerError>,
) -> Result<Change<Written>, LedgerError> {
    let mut items = ledger.items;
    let line = change(&mut items)?;
    Ok(Change {
        output: (line, items.clone()),
        items,
        bump: 1,
    })
}

fn import(ledger: Ledger, imported: Vec<Item>, replace: bool, input: &Path) -> Change<Written> {
    let n = imported.len();
    let mut items = if replace { Vec::new() } else { ledger.items };
    for item in imported {
        upsert(&mut items, item);
    }
    let (bump, output) = if replace {
        (
            1,
            format!("replaced plan from orchplan {}", input.display()),
        )
    } else {
        (
            n.max(1) as i64,
            format!("imported {n} orchplan item(s) from {}", input.display()),
        )
    };
    Change {
        output: (output, items.clone()),
        items,
        bump,
    }
}
