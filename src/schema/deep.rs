//! The payload-level difference between two surfaces, by method: what changed inside the
//! params, responses and notification params each method carries.
//!
//! Types are compared once (fields added, removed, retyped, required ↔ optional, experimental
//! ↔ stable; variants added or removed, with their fields); each method then lists the changes
//! of every type it reaches, at the path it reaches them by (`params.items[].text`). Whether a
//! change breaks depends on who writes the payload: a new required field breaks what cas sends
//! (client request params, server request responses), a field that became optional breaks what
//! cas reads; a removed field or variant and a retyped field break either way.

use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, VecDeque};

use super::payload::{Field, TypeShape};
use super::surface::Surface;

/// One change inside a payload, as a method reaches it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PayloadChange {
    /// Where: `params`, `response` or `notification`, then the path, e.g. `params.items[].text`.
    pub path: String,
    /// The type that changed.
    #[serde(rename = "type")]
    pub ty: String,
    /// What: `fieldAdded`, `fieldRemoved`, `fieldType`, `fieldRequired`, `fieldExperimental`,
    /// `variantAdded`, `variantRemoved`, `variantExperimental`, `shape`.
    pub what: &'static str,
    /// The old value, as text (empty when added).
    pub from: String,
    /// The new value, as text (empty when removed).
    pub to: String,
    /// Whether it can break a client of the old side.
    pub breaking: bool,
}

/// The payload changes of one method present on both sides.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MethodPayload {
    /// `clientRequest`, `serverRequest`, `serverNotification` or `clientNotification`.
    pub kind: &'static str,
    /// The method.
    pub method: String,
    /// Every change, in path order.
    pub changes: Vec<PayloadChange>,
}

/// A change to one member of one type, before a method's path is known.
#[derive(Debug, Clone)]
struct TypeChange {
    member: String,
    what: &'static str,
    from: String,
    to: String,
}

/// Who writes a payload: cas (its input to codex) or codex (what cas reads).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Writer {
    Cas,
    Codex,
}

/// The payload changes of every method both sides have, grouped by method.
pub fn payload_diff(old: &Surface, new: &Surface) -> Vec<MethodPayload> {
    let changes = type_changes(&old.types, &new.types);
    if changes.is_empty() {
        return Vec::new();
    }
    let mut out = Vec::new();
    let old_roots: BTreeMap<(&str, String), Roots> = roots_of(old)
        .into_iter()
        .map(|(k, m, r)| ((k, m), r))
        .collect();
    for (kind, method, roots) in roots_of(new) {
        let Some(old_roots) = old_roots.get(&(kind, method.clone())) else {
            continue;
        };
        let mut list = Vec::new();
        for ((side, writer, root), (_, _, old_root)) in roots.iter().zip(old_roots) {
            if root != old_root {
                continue; // a renamed params or response type is a method-level change
            }
            let Some(root) = root else { continue };
            let mut paths = reach(&new.types, root, side);
            for (ty, path) in reach(&old.types, root, side) {
                paths.entry(ty).or_insert(path);
            }
            for (ty, path) in &paths {
                for c in changes.get(ty).into_iter().flatten() {
                    list.push(PayloadChange {
                        path: join(path, &c.member),
                        ty: ty.clone(),
                        what: c.what,
                        from: c.from.clone(),
                        to: c.to.clone(),
                        breaking: breaks(c, *writer),
                    });
                }
            }
        }
        if !list.is_empty() {
            list.sort_by(|a, b| (&a.path, a.what).cmp(&(&b.path, b.what)));
            list.dedup();
            out.push(MethodPayload {
                kind,
                method,
                changes: list,
            });
        }
    }
    out.sort_by(|a, b| (a.kind, &a.method).cmp(&(b.kind, &b.method)));
    out
}

type Roots = Vec<(&'static str, Writer, Option<String>)>;

/// Each method's payload roots: (side, who writes it, type).
fn roots_of(s: &Surface) -> Vec<(&'static str, String, Roots)> {
    let mut out = Vec::new();
    for r in &s.client_requests {
        let roots = vec![
            ("params", Writer::Cas, r.params.clone()),
            ("response", Writer::Codex, r.response.clone()),
        ];
        out.push(("clientRequest", r.method.clone(), roots));
    }
    for r in &s.server_requests {
        let roots = vec![
            ("params", Writer::Codex, r.params.clone()),
            ("response", Writer::Cas, r.response.clone()),
        ];
        out.push(("serverRequest", r.method.clone(), roots));
    }
    for n in &s.server_notifications {
        let roots = vec![("params", Writer::Codex, n.params.clone())];
        out.push(("serverNotification", n.method.clone(), roots));
    }
    for n in &s.client_notifications {
        let roots = vec![("params", Writer::Cas, n.params.clone())];
        out.push(("clientNotification", n.method.clone(), roots));
    }
    out
}

/// Every type reachable from `root`, with the shortest path to it (`params.items[]`).
fn reach(types: &BTreeMap<String, TypeShape>, root: &str, side: &str) -> BTreeMap<String, String> {
    let mut paths = BTreeMap::new();
    let mut queue = VecDeque::from([(root.to_owned(), side.to_owned())]);
    while let Some((ty, path)) = queue.pop_front() {
        if paths.contains_key(&ty) {
            continue;
        }
        let Some(shape) = types.get(&ty) else {
            continue;
        };
        paths.insert(ty, path.clone());
        let members =
            shape
                .fields
                .iter()
                .map(|(k, f)| (k.clone(), f))
                .chain(shape.variants.iter().flat_map(|(tag, v)| {
                    v.fields
                        .iter()
                        .map(move |(k, f)| (format!("<{tag}>.{k}"), f))
                }));
        for (name, field) in members {
            for next in names_in(&field.ty)
                .into_iter()
                .filter(|n| types.contains_key(n))
            {
                queue.push_back((next, join(&path, &name)));
            }
        }
        for next in shape.alias.iter().flat_map(|a| names_in(a)) {
            queue.push_back((next, path.clone()));
        }
    }
    paths
}

/// The type names in a type text (`Item[]|null` → `Item`).
fn names_in(text: &str) -> BTreeSet<String> {
    text.split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|w| w.starts_with(|c: char| c.is_ascii_uppercase()))
        .map(str::to_owned)
        .collect()
}

fn join(path: &str, member: &str) -> String {
    if member.is_empty() {
        path.to_owned()
    } else {
        format!("{path}.{member}")
    }
}

/// The changes of every type present on both sides, by type name.
fn type_changes(
    old: &BTreeMap<String, TypeShape>,
    new: &BTreeMap<String, TypeShape>,
) -> BTreeMap<String, Vec<TypeChange>> {
    let mut out = BTreeMap::new();
    for (name, b) in new {
        let Some(a) = old.get(name) else { continue };
        let mut list = Vec::new();
        if a.alias != b.alias {
            let text = |s: &TypeShape| s.alias.clone().unwrap_or_else(|| "object/enum".into());
            list.push(change("", "shape", text(a), text(b)));
        }
        fields_changes(&mut list, "", &a.fields, &b.fields);
        variant_changes(&mut list, a, b);
        if !list.is_empty() {
            out.insert(name.clone(), list);
        }
    }
    out
}

fn change(member: &str, what: &'static str, from: String, to: String) -> TypeChange {
    TypeChange {
        member: member.to_owned(),
        what,
        from,
        to,
    }
}

fn fields_changes(
    list: &mut Vec<TypeChange>,
    prefix: &str,
    a: &BTreeMap<String, Field>,
    b: &BTreeMap<String, Field>,
) {
    let text = |f: &Field| String::from(f.clone());
    for (name, fb) in b {
        let member = format!("{prefix}{name}");
        let Some(fa) = a.get(name) else {
            list.push(change(&member, "fieldAdded", String::new(), text(fb)));
            continue;
        };
        if fa.ty != fb.ty {
            list.push(change(&member, "fieldType", fa.ty.clone(), fb.ty.clone()));
        }
        if fa.required != fb.required {
            let word = |r: bool| if r { "required" } else { "optional" }.to_owned();
            list.push(change(
                &member,
                "fieldRequired",
                word(fa.required),
                word(fb.required),
            ));
        }
        if fa.experimental != fb.experimental {
            let word = |e: bool| if e { "experimental" } else { "stable" }.to_owned();
            list.push(change(
                &member,
                "fieldExperimental",
                word(fa.experimental),
                word(fb.experimental),
            ));
        }
    }
    for (name, fa) in a.iter().filter(|(n, _)| !b.contains_key(*n)) {
        list.push(change(
            &format!("{prefix}{name}"),
            "fieldRemoved",
            text(fa),
            String::new(),
        ));
    }
}

fn variant_changes(list: &mut Vec<TypeChange>, a: &TypeShape, b: &TypeShape) {
    for (tag, vb) in &b.variants {
        let member = format!("<{tag}>");
        let Some(va) = a.variants.get(tag) else {
            list.push(change(&member, "variantAdded", String::new(), tag.clone()));
            continue;
        };
        if va.experimental != vb.experimental {
            let word = |e: bool| if e { "experimental" } else { "stable" }.to_owned();
            list.push(change(
                &member,
                "variantExperimental",
                word(va.experimental),
                word(vb.experimental),
            ));
        }
        fields_changes(list, &format!("{member}."), &va.fields, &vb.fields);
    }
    for tag in a.variants.keys().filter(|t| !b.variants.contains_key(*t)) {
        list.push(change(
            &format!("<{tag}>"),
            "variantRemoved",
            tag.clone(),
            String::new(),
        ));
    }
}

/// Whether a change breaks a client of the old side, given who writes the payload.
fn breaks(c: &TypeChange, writer: Writer) -> bool {
    let field_required = Field::from(c.to.clone()).required;
    match c.what {
        "fieldRemoved" | "variantRemoved" | "fieldType" | "shape" => true,
        "fieldAdded" => writer == Writer::Cas && field_required,
        "fieldRequired" => match writer {
            Writer::Cas => c.to == "required",
            Writer::Codex => c.to == "optional",
        },
        "fieldExperimental" | "variantExperimental" => {
            writer == Writer::Cas && c.to == "experimental"
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests;
