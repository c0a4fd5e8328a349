//! The difference between two protocol surfaces, in the terms a reviewer cares about.
//!
//! Methods added or removed (per kind), methods that moved to another kind, that became or
//! stopped being experimental, whose params or response type changed, whose required params or
//! response fields changed; variants added to or removed from the watched enums; and, from
//! [`super::deep`], every change inside the payload types a method carries. The codex version
//! itself is not a difference.

use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

use super::deep::MethodPayload;
use super::surface::{NotificationEntry, RequestEntry, Surface};

/// One method, by kind.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct MethodRef {
    /// `clientRequest`, `serverRequest`, `serverNotification` or `clientNotification`.
    pub kind: &'static str,
    /// The method.
    pub method: String,
}

/// A change to a method present on both sides.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    /// The method's kind on the new side.
    pub kind: &'static str,
    /// The method.
    pub method: String,
    /// What changed: `kind`, `experimental`, `params`, `paramsMandatory`, `response`, `requiredFields`,
    /// `experimentalFields`, `responseRequiredFields`.
    pub what: &'static str,
    /// The old value, as text.
    pub from: String,
    /// The new value, as text.
    pub to: String,
}

/// Variants of one watched enum that differ.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EnumChange {
    /// The type.
    pub name: String,
    /// Variants only on the new side.
    pub added: Vec<String>,
    /// Variants only on the old side.
    pub removed: Vec<String>,
}

/// Everything that differs from `a` (old) to `b` (new).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SurfaceDiff {
    /// Methods only in `b`.
    pub added: Vec<MethodRef>,
    /// Methods only in `a`.
    pub removed: Vec<MethodRef>,
    /// Methods in both that changed.
    pub changed: Vec<Change>,
    /// Watched enums whose variants changed.
    pub enums: Vec<EnumChange>,
    /// Changes inside the payloads of methods both sides have, by method.
    pub payload: Vec<MethodPayload>,
}

impl SurfaceDiff {
    /// No difference at all.
    pub fn is_empty(&self) -> bool {
        self.added.is_empty()
            && self.removed.is_empty()
            && self.changed.is_empty()
            && self.enums.is_empty()
            && self.payload.is_empty()
    }
}

/// A method's comparable facts, whatever its kind.
#[derive(Debug, Clone)]
struct Facts {
    kind: &'static str,
    experimental: bool,
    params: Option<String>,
    response: Option<String>,
    params_mandatory: bool,
    required: Vec<String>,
    experimental_fields: Vec<String>,
    response_required: Vec<String>,
}

fn index(s: &Surface) -> BTreeMap<String, Facts> {
    let mut map = BTreeMap::new();
    let requests =
        |kind: &'static str, list: &[RequestEntry], map: &mut BTreeMap<String, Facts>| {
            for r in list {
                map.insert(
                    format!("{kind} {}", r.method),
                    Facts {
                        kind,
                        experimental: r.experimental,
                        params: r.params.clone(),
                        response: r.response.clone(),
                        params_mandatory: r.params_mandatory,
                        required: r.required_fields.clone(),
                        experimental_fields: r.experimental_fields.clone(),
                        response_required: r.response_required_fields.clone(),
                    },
                );
            }
        };
    let notes =
        |kind: &'static str, list: &[NotificationEntry], map: &mut BTreeMap<String, Facts>| {
            for n in list {
                map.insert(
                    format!("{kind} {}", n.method),
                    Facts {
                        kind,
                        experimental: n.experimental,
                        params: n.params.clone(),
                        response: None,
                        params_mandatory: false,
                        required: Vec::new(),
                        experimental_fields: Vec::new(),
                        response_required: Vec::new(),
                    },
                );
            }
        };
    requests("clientRequest", &s.client_requests, &mut map);
    requests("serverRequest", &s.server_requests, &mut map);
    notes("serverNotification", &s.server_notifications, &mut map);
    notes("clientNotification", &s.client_notifications, &mut map);
    map
}

fn method_of(key: &str) -> &str {
    key.split_once(' ').map_or(key, |(_, m)| m)
}

/// Compares two surfaces.
pub fn diff(a: &Surface, b: &Surface) -> SurfaceDiff {
    let (old, new) = (index(a), index(b));
    let mut out = SurfaceDiff::default();
    let only_old: Vec<&String> = old.keys().filter(|k| !new.contains_key(*k)).collect();
    let only_new: Vec<&String> = new.keys().filter(|k| !old.contains_key(*k)).collect();
    for key in &only_new {
        let method = method_of(key);
        match only_old.iter().find(|k| method_of(k) == method) {
            Some(was) => {
                out.changed.push(Change {
                    kind: new[*key].kind,
                    method: method.to_owned(),
                    what: "kind",
                    from: old[*was].kind.to_owned(),
                    to: new[*key].kind.to_owned(),
                });
                compare(&mut out.changed, method, &old[*was], &new[*key]);
            }
            None => out.added.push(MethodRef {
                kind: new[*key].kind,
                method: method.to_owned(),
            }),
        }
    }
    for key in &only_old {
        let method = method_of(key);
        if !only_new.iter().any(|k| method_of(k) == method) {
            out.removed.push(MethodRef {
                kind: old[*key].kind,
                method: method.to_owned(),
            });
        }
    }
    for (key, b_facts) in &new {
        if let Some(a_facts) = old.get(key) {
            compare(&mut out.changed, method_of(key), a_facts, b_facts);
        }
    }
    out.enums = enum_changes(a, b);
    out.payload = super::deep::payload_diff(a, b);
    out
}

fn compare(changes: &mut Vec<Change>, method: &str, a: &Facts, b: &Facts) {
    let mut push = |what: &'static str, from: String, to: String| {
        if from != to {
            changes.push(Change {
                kind: b.kind,
                method: method.to_owned(),
                what,
                from,
                to,
            });
        }
    };
    let opt = |v: &Option<String>| v.clone().unwrap_or_else(|| "none".into());
    push(
        "experimental",
        a.experimental.to_string(),
        b.experimental.to_string(),
    );
    push("params", opt(&a.params), opt(&b.params));
    push(
        "paramsMandatory",
        a.params_mandatory.to_string(),
        b.params_mandatory.to_string(),
    );
    push("response", opt(&a.response), opt(&b.response));
    push("requiredFields", a.required.join(","), b.required.join(","));
    push(
        "experimentalFields",
        a.experimental_fields.join(","),
        b.experimental_fields.join(","),
    );
    push(
        "responseRequiredFields",
        a.response_required.join(","),
        b.response_required.join(","),
    );
}

fn enum_changes(a: &Surface, b: &Surface) -> Vec<EnumChange> {
    let names: BTreeSet<&String> = a.enums.keys().chain(b.enums.keys()).collect();
    names
        .into_iter()
        .filter_map(|name| {
            let old: BTreeSet<&String> = a.enums.get(name).into_iter().flatten().collect();
            let new: BTreeSet<&String> = b.enums.get(name).into_iter().flatten().collect();
            let added: Vec<String> = new.difference(&old).map(|s| s.to_string()).collect();
            let removed: Vec<String> = old.difference(&new).map(|s| s.to_string()).collect();
            (!added.is_empty() || !removed.is_empty()).then(|| EnumChange {
                name: name.clone(),
                added,
                removed,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::surface::SURFACE_VERSION;

    fn req(method: &str, experimental: bool, required: &[&str]) -> RequestEntry {
        RequestEntry {
            method: method.into(),
            params: Some("P".into()),
            params_mandatory: true,
            required_fields: required.iter().map(|s| s.to_string()).collect(),
            experimental_fields: Vec::new(),
            response: Some("R".into()),
            response_required_fields: Vec::new(),
            experimental,
        }
    }

    fn surface(
        version: &str,
        client: Vec<RequestEntry>,
        notes: &[&str],
        decisions: &[&str],
    ) -> Surface {
        Surface {
            surface_version: SURFACE_VERSION,
            codex_version: version.into(),
            client_requests: client,
            server_requests: Vec::new(),
            server_notifications: notes
                .iter()
                .map(|m| NotificationEntry::stable(*m))
                .collect(),
            client_notifications: Vec::new(),
            enums: [(
                "CommandExecutionApprovalDecision".to_string(),
                decisions.iter().map(|d| d.to_string()).collect(),
            )]
            .into_iter()
            .collect(),
            experimental_included: true,
            ..Default::default()
        }
    }

    /// Two surfaces that differ in every way a diff names: added, removed and changed methods
    /// (one of them moved kind) and a changed enum.
    fn every_difference() -> (Surface, Surface) {
        let a = surface(
            "1",
            vec![
                req("thread/rollback", false, &[]),
                req("turn/steer", true, &["threadId"]),
                req("x/y", false, &[]),
            ],
            &["turn/started"],
            &["accept", "decline"],
        );
        let b = surface(
            "2",
            vec![
                req("turn/steer", false, &["expectedTurnId", "threadId"]),
                req("thread/revert", false, &[]),
            ],
            &["turn/started", "x/y"],
            &["accept", "cancel"],
        );
        (a, b)
    }

    #[test]
    fn names_every_kind_of_difference() {
        let (a, b) = every_difference();
        let d = diff(&a, &b);
        assert_eq!(
            d.added,
            vec![MethodRef {
                kind: "clientRequest",
                method: "thread/revert".into()
            }]
        );
        assert_eq!(
            d.removed,
            vec![MethodRef {
                kind: "clientRequest",
                method: "thread/rollback".into()
            }]
        );
        let whats: Vec<(&str, &str)> = d
            .changed
            .iter()
            .map(|c| (c.method.as_str(), c.what))
            .collect();
        // A method that moved kind is also compared field by field.
        assert_eq!(
            whats,
            [
                ("x/y", "kind"),
                ("x/y", "params"),
                ("x/y", "paramsMandatory"),
                ("x/y", "response"),
                ("turn/steer", "experimental"),
                ("turn/steer", "requiredFields")
            ]
        );
        assert_eq!(
            d.enums,
            vec![EnumChange {
                name: "CommandExecutionApprovalDecision".into(),
                added: vec!["cancel".into()],
                removed: vec!["decline".into()]
            }]
        );
        assert!(!d.is_empty());
    }

    #[test]
    fn the_same_surface_under_another_version_is_no_difference() {
        let a = surface("1", vec![req("a", false, &["f"])], &["n"], &["accept"]);
        let b = surface("2", vec![req("a", false, &["f"])], &["n"], &["accept"]);
        assert!(diff(&a, &b).is_empty());
    }
}
