//! Which differences between two surfaces can break a client of the old one, and which only add.
//!
//! Breaking: something a client of the old surface sends, waits for or relies on is gone or
//! stricter: a removed client request or notification, a removed server notification, a method
//! that moved kind or became experimental, a renamed or dropped params or response type, params
//! that became mandatory, a params field that became required or experimental-only, a response
//! field a client reads that is no longer required, a response field cas must now send to a
//! server request, an enum variant removed. Additive: everything else, something new or looser
//! (a new method or variant, a server request codex no longer sends, a required field dropped).
//! Payload changes come classed from [`super::deep`].

use serde::Serialize;
use std::collections::BTreeSet;

use super::deep::{MethodPayload, PayloadChange};
use super::diff::{Change, EnumChange, MethodRef, SurfaceDiff};

/// The differences of one diff, each described in one line, split by class.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Classified {
    /// Differences that can break a client of the old surface.
    pub breaking: Vec<String>,
    /// Differences that only add or loosen.
    pub additive: Vec<String>,
}

impl Classified {
    /// Whether any difference is breaking.
    pub fn is_breaking(&self) -> bool {
        !self.breaking.is_empty()
    }

    fn push(&mut self, breaking: bool, line: String) {
        if breaking {
            self.breaking.push(line);
        } else {
            self.additive.push(line);
        }
    }
}

/// Sorts every difference of `d` into breaking or additive.
pub fn classify(d: &SurfaceDiff) -> Classified {
    let mut out = Classified::default();
    for m in &d.added {
        out.push(false, format!("added {} {}", m.kind, m.method));
    }
    for m in &d.removed {
        out.push(
            removal_breaks(m),
            format!("removed {} {}", m.kind, m.method),
        );
    }
    for c in &d.changed {
        let line = format!("{} {} {}: {} -> {}", c.kind, c.method, c.what, c.from, c.to);
        out.push(change_breaks(c), line);
    }
    for e in &d.enums {
        enum_lines(&mut out, e);
    }
    for m in &d.payload {
        for c in &m.changes {
            out.push(c.breaking, payload_line(m, c));
        }
    }
    out
}

/// One payload change in a line: `clientRequest thread/start params.cwd: fieldRequired optional -> required`.
pub fn payload_line(m: &MethodPayload, c: &PayloadChange) -> String {
    format!(
        "{} {} {}: {} {} -> {}",
        m.kind,
        m.method,
        c.path,
        c.what,
        if c.from.is_empty() { "none" } else { &c.from },
        if c.to.is_empty() { "none" } else { &c.to },
    )
}

/// A removed server request only means codex no longer asks; any other removal breaks.
fn removal_breaks(m: &MethodRef) -> bool {
    m.kind != "serverRequest"
}

/// Whether a change to a method present on both sides can break a client of the old side.
fn change_breaks(c: &Change) -> bool {
    let (from, to) = (fields(&c.from), fields(&c.to));
    match c.what {
        "experimental" | "paramsMandatory" => c.from == "false" && c.to == "true",
        "params" | "response" => c.from != "none",
        "requiredFields" | "experimentalFields" => !to.is_subset(&from),
        "responseRequiredFields" if c.kind == "serverRequest" => !to.is_subset(&from),
        "responseRequiredFields" => !from.is_subset(&to),
        _ => true,
    }
}

fn enum_lines(out: &mut Classified, e: &EnumChange) {
    if !e.removed.is_empty() {
        out.push(
            true,
            format!("enum {}: removed {}", e.name, e.removed.join(", ")),
        );
    }
    if !e.added.is_empty() {
        out.push(
            false,
            format!("enum {}: added {}", e.name, e.added.join(", ")),
        );
    }
}

/// The field names of a comma-joined list (`Change::from` / `to`).
fn fields(list: &str) -> BTreeSet<&str> {
    list.split(',').filter(|f| !f.is_empty()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(kind: &'static str, what: &'static str, from: &str, to: &str) -> Change {
        Change {
            kind,
            method: "m".into(),
            what,
            from: from.into(),
            to: to.into(),
        }
    }

    fn method(kind: &'static str, name: &str) -> MethodRef {
        MethodRef {
            kind,
            method: name.into(),
        }
    }

    #[test]
    fn removals_and_stricter_methods_break_additions_and_looser_ones_do_not() {
        let d = SurfaceDiff {
            added: vec![method("clientRequest", "new/one")],
            removed: vec![
                method("clientRequest", "turn/steer"),
                method("serverRequest", "currentTime/read"),
            ],
            changed: vec![
                change("clientRequest", "requiredFields", "a", "a,b"),
                change("clientRequest", "requiredFields", "a,b", "a"),
                change("clientRequest", "responseRequiredFields", "a,b", "a"),
                change("serverRequest", "responseRequiredFields", "a,b", "a"),
                change("clientRequest", "experimental", "true", "false"),
                change("clientRequest", "response", "none", "R"),
            ],
            enums: vec![EnumChange {
                name: "E".into(),
                added: vec!["x".into()],
                removed: vec!["y".into()],
            }],
            payload: Vec::new(),
        };
        let c = classify(&d);
        assert_eq!(
            c.breaking,
            [
                "removed clientRequest turn/steer",
                "clientRequest m requiredFields: a -> a,b",
                "clientRequest m responseRequiredFields: a,b -> a",
                "enum E: removed y",
            ]
        );
        assert_eq!(c.additive.len(), 7);
        assert!(c.is_breaking());
        assert!(!classify(&SurfaceDiff::default()).is_breaking());
    }
}
