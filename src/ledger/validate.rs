//! Whole-state validation, run on every load and after every mutation (`st`'s §4 rules).
//!
//! Dependencies must name other existing items without cycles; `in_progress` and `completed`
//! items need completed deps; an in-plan item's unfinished deps must be in the plan; and two or
//! more `in_progress` items are allowed only as a safe parallel wave: every one held by a
//! `teams`/`mesh` claim with a wave id and non-empty lock roots that overlap no other's.

use std::collections::HashMap;

use super::error::{fail, ErrorCode, LedgerError};
use super::fields::Executor;
use super::item::{ClaimState, Item, Status};
use super::lock_roots::lists_overlap;

/// Checks the whole state; the first violation is the error.
pub fn validate(items: &[Item], allow_multiple_in_progress: bool) -> Result<(), LedgerError> {
    let by_id: HashMap<&str, &Item> = items.iter().map(|i| (i.id.as_str(), i)).collect();
    for item in items {
        for dep in &item.deps {
            if dep.id == item.id {
                return fail(
                    ErrorCode::SelfDependency,
                    format!("{} depends on itself", item.id),
                );
            }
            if !by_id.contains_key(dep.id.as_str()) {
                return fail(
                    ErrorCode::UnknownDependency,
                    format!("{} depends on unknown {}", item.id, dep.id),
                );
            }
        }
    }
    check_cycles(items, &by_id)?;
    for item in items {
        let unfinished: Vec<&str> = unresolved_deps(item, &by_id);
        if matches!(item.status, Status::InProgress | Status::Completed) && !unfinished.is_empty() {
            return fail(
                ErrorCode::UnresolvedDependencies,
                format!(
                    "{} is {} but waits on {}",
                    item.id,
                    item.status.as_str(),
                    unfinished.join(",")
                ),
            );
        }
        if effective_in_plan(item) {
            if let Some(dep) = unfinished
                .iter()
                .find(|d| by_id.get(*d).is_some_and(|i| !effective_in_plan(i)))
            {
                return fail(
                    ErrorCode::PlanDependencyNotSelected,
                    format!(
                        "{} is in the plan but its unfinished dependency {dep} is not",
                        item.id
                    ),
                );
            }
        }
    }
    if !allow_multiple_in_progress {
        check_safe_wave(items)?;
    }
    Ok(())
}

/// In-plan membership after terminal demotion.
pub fn effective_in_plan(item: &Item) -> bool {
    item.in_plan && !item.status.is_terminal()
}

/// Deps that are missing or not completed, de-duplicated, in dep order.
pub fn unresolved_deps<'a>(item: &'a Item, by_id: &HashMap<&str, &Item>) -> Vec<&'a str> {
    let mut out: Vec<&str> = Vec::new();
    for dep in &item.deps {
        let done = by_id
            .get(dep.id.as_str())
            .is_some_and(|d| d.status == Status::Completed);
        if !done && !out.contains(&dep.id.as_str()) {
            out.push(&dep.id);
        }
    }
    out
}

fn check_cycles(items: &[Item], by_id: &HashMap<&str, &Item>) -> Result<(), LedgerError> {
    // 0 = unvisited, 1 = on the current path, 2 = done.
    let mut mark: HashMap<&str, u8> = HashMap::new();
    for start in items {
        if mark.contains_key(start.id.as_str()) {
            continue;
        }
        let mut stack: Vec<(&str, usize)> = vec![(start.id.as_str(), 0)];
        mark.insert(&start.id, 1);
        while let Some((id, next)) = stack.pop() {
            let deps = by_id.get(id).map(|i| i.deps.as_slice()).unwrap_or(&[]);
            let Some(dep) = deps.get(next) else {
                mark.insert(id, 2);
                continue;
            };
            stack.push((id, next + 1));
            match mark.get(dep.id.as_str()) {
                Some(1) => {
                    return fail(
                        ErrorCode::DependencyCycle,
                        format!("{id} -> {} closes a cycle", dep.id),
                    )
                }
                Some(_) => {}
                None => {
                    mark.insert(&dep.id, 1);
                    stack.push((&dep.id, 0));
                }
            }
        }
    }
    Ok(())
}

fn check_safe_wave(items: &[Item]) -> Result<(), LedgerError> {
    let active: Vec<&Item> = items
        .iter()
        .filter(|i| i.status == Status::InProgress)
        .collect();
    if active.len() < 2 {
        return Ok(());
    }
    let ids = || {
        active
            .iter()
            .map(|i| i.id.as_str())
            .collect::<Vec<_>>()
            .join(",")
    };
    for (n, item) in active.iter().enumerate() {
        let why = match &item.claim {
            None => Some("has no claim".to_owned()),
            Some(c) if c.state != ClaimState::Held => {
                Some(format!("claim is {}", c.state.as_str()))
            }
            Some(c) if c.wave_id.is_empty() => Some("claim has no wave_id".to_owned()),
            Some(c) if !matches!(c.executor, Executor::Teams | Executor::Mesh) => Some(format!(
                "executor {:?} is not parallel-safe",
                c.executor.as_str()
            )),
            Some(c) if c.lock_roots.is_empty() => Some("claim has no lock_roots".to_owned()),
            Some(c) => active[..n]
                .iter()
                .find(|o| {
                    o.claim
                        .as_ref()
                        .is_some_and(|oc| lists_overlap(&c.lock_roots, &oc.lock_roots))
                })
                .map(|o| format!("lock roots overlap {}", o.id)),
        };
        if let Some(why) = why {
            return fail(
                ErrorCode::MultipleInProgress,
                format!(
                    "{} items in progress ({}) are not a safe parallel wave: {} {why}",
                    active.len(),
                    ids(),
                    item.id
                ),
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::item::{Claim, Dep};

    fn item(id: &str, status: Status, deps: &[&str]) -> Item {
        let mut i = Item::new(id, id.to_uppercase());
        i.status = status;
        i.deps = deps
            .iter()
            .map(|d| Dep {
                id: d.to_string(),
                kind: "blocks".into(),
            })
            .collect();
        i.normalize_membership();
        i
    }

    fn held(mut i: Item, executor: &str, wave: &str, roots: &[&str]) -> Item {
        i.claim = Some(Claim {
            state: ClaimState::Held,
            owner: "tk".into(),
            executor: Executor::parse(executor),
            wave_id: wave.into(),
            lock_roots: roots.iter().map(|r| r.to_string()).collect(),
            claimed_at: String::new(),
            lease_seconds: 900,
            lease_expires_at: String::new(),
            heartbeat_at: String::new(),
            attempts: 1,
        });
        i
    }

    type Cases = Vec<(Vec<Item>, Option<&'static str>)>;

    /// Validates each case (without the wave flag) and compares the identifier it gives.
    fn check(cases: &Cases) {
        for (n, (items, want)) in cases.iter().enumerate() {
            let got = validate(items, false).err().map(|e| e.code().to_owned());
            assert_eq!(got.as_deref(), *want, "case {n}");
        }
    }

    #[test]
    fn each_dependency_rule_has_its_identifier() {
        use Status::*;
        let cases: Cases = vec![
            (vec![item("a", Pending, &["a"])], Some("SelfDependency")),
            (vec![item("a", Pending, &["zz"])], Some("UnknownDependency")),
            (
                vec![
                    item("a", Pending, &["b"]),
                    item("b", Pending, &["c"]),
                    item("c", Pending, &["a"]),
                ],
                Some("DependencyCycle"),
            ),
            (
                vec![item("a", Pending, &[]), item("b", InProgress, &["a"])],
                Some("UnresolvedDependencies"),
            ),
            (
                vec![item("a", Pending, &[]), item("b", Completed, &["a"])],
                Some("UnresolvedDependencies"),
            ),
            (
                vec![item("a", Completed, &[]), item("b", InProgress, &["a"])],
                None,
            ),
            (
                vec![
                    item("a", Pending, &["b", "c"]),
                    item("b", Pending, &["d"]),
                    item("c", Pending, &["d"]),
                    item("d", Pending, &[]),
                ],
                None,
            ),
            (
                vec![
                    {
                        let mut a = item("a", Pending, &[]);
                        a.in_plan = false;
                        a
                    },
                    item("b", Pending, &["a"]),
                ],
                Some("PlanDependencyNotSelected"),
            ),
        ];
        check(&cases);
        // The wave flag does not lift the dependency rules.
        assert!(validate(&cases[3].0, true).is_err());
    }

    #[test]
    fn each_wave_rule_has_its_identifier() {
        use Status::*;
        let ip = |id: &str| item(id, InProgress, &[]);
        let cases: Cases = vec![
            (vec![ip("a")], None),
            (vec![ip("a"), ip("b")], Some("MultipleInProgress")),
            (
                vec![
                    held(ip("a"), "teams", "w1", &["src/config"]),
                    held(ip("b"), "teams", "w1", &["src/ui"]),
                ],
                None,
            ),
            (
                vec![
                    held(ip("a"), "mesh", "w1", &["src/config"]),
                    held(ip("b"), "teams", "w2", &["src/ui"]),
                ],
                None,
            ),
            (
                vec![
                    held(ip("a"), "local", "w1", &["src/config"]),
                    held(ip("b"), "local", "w1", &["src/ui"]),
                ],
                Some("MultipleInProgress"),
            ),
            (
                vec![
                    held(ip("a"), "teams", "w1", &["src"]),
                    held(ip("b"), "teams", "w1", &["src/ui"]),
                ],
                Some("MultipleInProgress"),
            ),
            (
                vec![
                    held(ip("a"), "teams", "", &["src/config"]),
                    held(ip("b"), "teams", "w1", &["src/ui"]),
                ],
                Some("MultipleInProgress"),
            ),
            (
                vec![
                    held(ip("a"), "teams", "w1", &[]),
                    held(ip("b"), "teams", "w1", &["src/ui"]),
                ],
                Some("MultipleInProgress"),
            ),
            (
                vec![held(ip("a"), "teams", "w1", &["src/config"]), ip("b")],
                Some("MultipleInProgress"),
            ),
        ];
        check(&cases);
        // The flag turns the wave rule off, nothing else.
        assert!(validate(&cases[1].0, true).is_ok());
    }

    #[test]
    fn a_released_claim_is_not_parallel_safe() {
        let mut a = held(
            item("a", Status::InProgress, &[]),
            "teams",
            "w1",
            &["src/a"],
        );
        let b = held(
            item("b", Status::InProgress, &[]),
            "teams",
            "w1",
            &["src/b"],
        );
        if let Some(c) = a.claim.as_mut() {
            c.state = ClaimState::Released;
        }
        let err = validate(&[a, b], false).unwrap_err();
        assert!(err.detail().contains("claim is released"), "{err}");
    }
}
