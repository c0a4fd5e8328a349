//! Tests of the payload diff: every kind of change, reached by path, classed by who writes it.

use super::*;
use crate::schema::payload::Variant;
use crate::schema::surface::{NotificationEntry, RequestEntry};

fn field(text: &str) -> Field {
    Field::from(text.to_owned())
}

fn object(fields: &[(&str, &str)]) -> TypeShape {
    TypeShape {
        fields: fields
            .iter()
            .map(|(k, t)| (k.to_string(), field(t)))
            .collect(),
        ..TypeShape::default()
    }
}

fn enumeration(tags: &[&str]) -> TypeShape {
    TypeShape {
        variants: tags
            .iter()
            .map(|t| (t.to_string(), Variant::default()))
            .collect(),
        ..TypeShape::default()
    }
}

fn surface(types: Vec<(&str, TypeShape)>) -> Surface {
    Surface {
        client_requests: vec![RequestEntry {
            method: "thread/start".into(),
            params: Some("StartParams".into()),
            params_mandatory: true,
            required_fields: vec![],
            experimental_fields: vec![],
            response: Some("StartResponse".into()),
            response_required_fields: vec![],
            experimental: false,
        }],
        server_notifications: vec![NotificationEntry {
            method: "item/completed".into(),
            params: Some("ItemNote".into()),
            experimental: false,
        }],
        types: types.into_iter().map(|(k, v)| (k.to_owned(), v)).collect(),
        ..Surface::default()
    }
}

fn old() -> Surface {
    surface(vec![
        (
            "StartParams",
            object(&[
                ("cwd", "string (optional)"),
                ("mode", "Mode (optional)"),
                ("gone", "string (optional)"),
            ]),
        ),
        ("StartResponse", object(&[("thread", "Thread")])),
        ("Thread", object(&[("id", "string"), ("status", "Status")])),
        ("Mode", enumeration(&["fast", "slow"])),
        ("Status", enumeration(&["idle", "busy"])),
        ("ItemNote", object(&[("item", "Thread")])),
    ])
}

fn new() -> Surface {
    surface(vec![
        (
            "StartParams",
            object(&[
                ("cwd", "string"),
                ("mode", "Mode (optional)"),
                ("extra", "boolean (optional) (experimental)"),
            ]),
        ),
        ("StartResponse", object(&[("thread", "Thread")])),
        (
            "Thread",
            object(&[("id", "string (optional)"), ("status", "Status")]),
        ),
        ("Mode", enumeration(&["fast"])),
        ("Status", enumeration(&["idle", "busy", "done"])),
        ("ItemNote", object(&[("item", "Thread")])),
    ])
}

fn lines(d: &[MethodPayload]) -> Vec<String> {
    d.iter()
        .flat_map(|m| {
            m.changes.iter().map(move |c| {
                format!(
                    "{} {} {} {} {}->{} {}",
                    m.kind,
                    m.method,
                    c.path,
                    c.what,
                    c.from,
                    c.to,
                    if c.breaking { "breaking" } else { "additive" }
                )
            })
        })
        .collect()
}

#[test]
fn descends_into_params_responses_and_notifications_classing_each_change() {
    let got = lines(&payload_diff(&old(), &new()));
    assert_eq!(
        got,
        [
            "clientRequest thread/start params.cwd fieldRequired optional->required breaking",
            "clientRequest thread/start params.extra fieldAdded ->boolean (optional) (experimental) additive",
            "clientRequest thread/start params.gone fieldRemoved string (optional)-> breaking",
            "clientRequest thread/start params.mode.<slow> variantRemoved slow-> breaking",
            "clientRequest thread/start response.thread.id fieldRequired required->optional breaking",
            "clientRequest thread/start response.thread.status.<done> variantAdded ->done additive",
            "serverNotification item/completed params.item.id fieldRequired required->optional breaking",
            "serverNotification item/completed params.item.status.<done> variantAdded ->done additive",
        ]
    );
}

#[test]
fn the_same_types_are_no_change_and_who_writes_decides_the_class() {
    assert!(payload_diff(&old(), &old()).is_empty());
    // Required → optional breaks only what cas reads; optional → required only what cas sends.
    let loosened = change("f", "fieldRequired", "required".into(), "optional".into());
    assert!(breaks(&loosened, Writer::Codex) && !breaks(&loosened, Writer::Cas));
    let tightened = change("f", "fieldRequired", "optional".into(), "required".into());
    assert!(breaks(&tightened, Writer::Cas) && !breaks(&tightened, Writer::Codex));
    let required_new = change("f", "fieldAdded", String::new(), "string".into());
    assert!(breaks(&required_new, Writer::Cas) && !breaks(&required_new, Writer::Codex));
}
