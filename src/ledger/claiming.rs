//! `claim` (st's §3.1): resolving the targets, parsing the lease, and the per-target checks.
//!
//! The order of checks is st's, so the first refusal names st's identifier: the executor, the
//! `--wave` value, the wave's imported OrchPlan items, the `--ids` tokens (an empty token is
//! `EmptyString`; duplicates are dropped), the targets (`OrchplanWaveClaimDoesNotAcceptIds` /
//! `MissingIdsValue`), then the lease (`InvalidLeaseSeconds`), then each target in order.

use std::collections::HashMap;

use super::clock::format_secs;
use super::error::{fail, ErrorCode, LedgerError};
use super::fields::{Executor, Lease};
use super::item::{Claim, ClaimState, Item, Status};
use super::lock_roots::{lists_overlap, lock_roots, EVERYTHING};
use super::ops::{expired, non_empty, Ctx, DEFAULT_LEASE_SECONDS};
use super::validate::unresolved_deps;

/// Whether a claim names no ids at all (st refuses that without `--wave` as `MissingIdsValue`,
/// before it reads the plan file).
pub(crate) fn ids_blank(ids: &[String]) -> bool {
    ids.join(",").trim().is_empty()
}

/// The `--ids` tokens as st reads them: split at commas, each trimmed and non-empty
/// (`EmptyString`), duplicates dropped keeping the first.
pub(crate) fn parse_ids(ids: &[String]) -> Result<Vec<String>, LedgerError> {
    let text = ids.join(",");
    let text = text.trim();
    let mut out: Vec<String> = Vec::new();
    if text.is_empty() {
        return Ok(out);
    }
    for token in text.split(',') {
        let id = non_empty("--ids token", token)?;
        if !out.contains(&id) {
            out.push(id);
        }
    }
    Ok(out)
}

/// The lease in seconds: 900 when absent; a positive integer, else `InvalidLeaseSeconds`.
///
/// Text is read as st's integer parser reads it (an optional sign, digits, `_` between digits),
/// except that a non-integer or out-of-range text is `InvalidLeaseSeconds` where st passes its
/// parser's `InvalidCharacter` / `Overflow` through (a deliberate difference, see `cas st`).
pub(crate) fn parse_lease(lease: Option<&Lease>) -> Result<i64, LedgerError> {
    let seconds = match lease {
        None => return Ok(DEFAULT_LEASE_SECONDS),
        Some(Lease::Seconds(n)) => Some(*n),
        Some(Lease::Text(text)) => integer(text.trim()),
    };
    match seconds {
        Some(n) if n > 0 => Ok(n),
        Some(n) => fail(
            ErrorCode::InvalidLeaseSeconds,
            format!("lease of {n} s; it must be > 0"),
        ),
        None => fail(
            ErrorCode::InvalidLeaseSeconds,
            format!(
                "--lease-seconds {:?} is not an integer",
                lease.map(Lease::to_string)
            ),
        ),
    }
}

/// A decimal integer with an optional sign and `_` between digits, or `None`.
fn integer(text: &str) -> Option<i64> {
    let digits = text.strip_prefix(['+', '-']).unwrap_or(text);
    if digits.is_empty() || digits.starts_with('_') || digits.ends_with('_') {
        return None;
    }
    let sign = if text.starts_with('-') { "-" } else { "" };
    let clean: String = digits.chars().filter(|c| *c != '_').collect();
    if !clean.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    format!("{sign}{clean}").parse().ok()
}

/// `claim`: see the reference §3.1 (the post-`074e013c` `--ids`/`--wave` rule).
pub(crate) fn claim(
    items: &mut [Item],
    ctx: &Ctx,
    ids: &[String],
    wave: Option<&str>,
    executor: &str,
    lease: Option<&Lease>,
) -> Result<String, LedgerError> {
    let executor_text = executor.trim().to_ascii_lowercase();
    let Some(executor) = Executor::known(&executor_text) else {
        return fail(
            ErrorCode::InvalidExecutor,
            format!("executor {executor_text:?} is not teams, mesh or local"),
        );
    };
    let (wave_id, targets) = claim_targets(items, ids, wave)?;
    let lease = parse_lease(lease)?;
    let lease_expires_at = format_secs(ctx.now_secs.saturating_add(lease));
    let mut taken: Vec<(String, Vec<String>)> = Vec::new();
    for id in &targets {
        let roots = check_claimable(items, ctx, id, &targets, &taken)?;
        let Some(item) = items.iter_mut().find(|i| &i.id == id) else {
            return fail(ErrorCode::UnknownItemId, format!("no item {id:?}"));
        };
        let attempts = item.claim.as_ref().map_or(0, |c| c.attempts) + 1;
        item.claim = Some(Claim {
            state: ClaimState::Held,
            owner: ctx.actor.to_owned(),
            executor: executor.clone(),
            wave_id: wave_id.clone(),
            lock_roots: roots.clone(),
            claimed_at: ctx.now.clone(),
            lease_seconds: lease,
            lease_expires_at: lease_expires_at.clone(),
            heartbeat_at: ctx.now.clone(),
            attempts,
        });
        item.in_plan = true;
        item.normalize_membership();
        taken.push((id.clone(), roots));
    }
    Ok(format!(
        "claimed {} item(s) in wave {wave_id}",
        targets.len()
    ))
}

/// Steps 2–3 of §3.1: the wave id and the targets (the OrchPlan wave's items, else `--ids`).
fn claim_targets(
    items: &[Item],
    ids: &[String],
    wave: Option<&str>,
) -> Result<(String, Vec<String>), LedgerError> {
    let wave_id = wave
        .map(|w| non_empty("--wave", w))
        .transpose()?
        .unwrap_or_else(|| "manual".to_owned());
    let wave_targets: Vec<String> = match wave {
        None => Vec::new(),
        Some(_) => items
            .iter()
            .filter(|i| {
                i.source
                    .as_ref()
                    .is_some_and(|s| s.kind == "orchplan" && s.wave_id == wave_id)
            })
            .map(|i| i.id.clone())
            .collect(),
    };
    let explicit = parse_ids(ids)?;
    let targets = if !wave_targets.is_empty() {
        if !explicit.is_empty() {
            return fail(
                ErrorCode::OrchplanWaveClaimDoesNotAcceptIds,
                format!(
                    "wave {wave_id} names imported OrchPlan items ({}); claim it with --wave alone",
                    wave_targets.join(",")
                ),
            );
        }
        wave_targets
    } else if explicit.is_empty() {
        return fail(
            ErrorCode::MissingIdsValue,
            format!("--ids is required (wave {wave_id:?} has no imported OrchPlan items)"),
        );
    } else {
        explicit
    };
    Ok((wave_id, targets))
}

/// The roots a claim on `item` takes: its existing claim roots, else its scope's.
fn roots_for(item: &Item) -> Vec<String> {
    match &item.claim {
        Some(c) if !c.lock_roots.is_empty() => c.lock_roots.clone(),
        _ => lock_roots(&item.scope),
    }
}

/// Steps 5.1–5.7 of §3.1 for one target; returns the roots it would take.
fn check_claimable(
    items: &[Item],
    ctx: &Ctx,
    id: &str,
    targets: &[String],
    taken: &[(String, Vec<String>)],
) -> Result<Vec<String>, LedgerError> {
    let by_id: HashMap<&str, &Item> = items.iter().map(|i| (i.id.as_str(), i)).collect();
    let Some(item) = by_id.get(id) else {
        return fail(ErrorCode::UnknownItemId, format!("no item {id:?}"));
    };
    if item.status.is_terminal() || item.status == Status::Blocked {
        return fail(
            ErrorCode::InvalidClaimState,
            format!("{id} is {}", item.status.as_str()),
        );
    }
    let waiting = unresolved_deps(item, &by_id);
    if item.status == Status::Pending && !waiting.is_empty() {
        return fail(
            ErrorCode::UnresolvedDependencies,
            format!("{id} waits on {}", waiting.join(",")),
        );
    }
    if let Some(c) = item
        .claim
        .as_ref()
        .filter(|c| c.state == ClaimState::Held && !expired(c, &ctx.now))
    {
        return fail(
            ErrorCode::ItemAlreadyClaimed,
            format!("{id} is held by {} until {}", c.owner, c.lease_expires_at),
        );
    }
    let roots = roots_for(item);
    check_held_overlap(items, id, &roots, targets)?;
    if let Some((prior, theirs)) = taken.iter().find(|(_, r)| lists_overlap(&roots, r)) {
        return fail(
            ErrorCode::ScopeClaimConflict,
            format!("{id} roots {roots:?} overlap {prior} roots {theirs:?} in the same claim"),
        );
    }
    Ok(roots)
}

/// Step 5.6 of §3.1: the roots may not overlap another item's held claim (a held claim
/// without roots counts as `["."]`; its expiry does not matter) unless it is a target too.
fn check_held_overlap(
    items: &[Item],
    id: &str,
    roots: &[String],
    targets: &[String],
) -> Result<(), LedgerError> {
    for other in items
        .iter()
        .filter(|o| o.id != id && !targets.contains(&o.id))
    {
        let Some(c) = other.claim.as_ref().filter(|c| c.state == ClaimState::Held) else {
            continue;
        };
        let theirs = if c.lock_roots.is_empty() {
            vec![EVERYTHING.to_owned()]
        } else {
            c.lock_roots.clone()
        };
        if lists_overlap(roots, &theirs) {
            return fail(
                ErrorCode::ScopeClaimConflict,
                format!(
                    "{id} roots {roots:?} overlap {} held claim roots {theirs:?}",
                    other.id
                ),
            );
        }
    }
    Ok(())
}
