//! Tests of the payload shapes: fields, variants, flags and what is reachable.

use super::*;
use serde_json::json;

fn bundle(extra_field: bool, extra_variant: bool) -> Value {
    let mut params = json!({"type": "object", "required": ["threadId"], "properties": {
        "threadId": {"type": "string"},
        "mode": {"anyOf": [{"$ref": "#/definitions/v2/Mode"}, {"type": "null"}]},
        "items": {"type": "array", "items": {"$ref": "#/definitions/v2/Item"}},
        "limit": {"type": ["integer", "null"], "format": "uint32"}
    }});
    if extra_field {
        params["properties"]["extra"] = json!({"type": "boolean"});
    }
    let mut modes = json!(["fast", "slow"]);
    if extra_variant {
        modes = json!(["fast", "slow", "turbo"]);
    }
    json!({"definitions": {"v2": {
        "StartParams": params,
        "Mode": {"type": "string", "enum": modes},
        "Item": {"oneOf": [
            {"type": "object", "required": ["type", "text"], "properties": {
                "type": {"type": "string", "enum": ["message"]}, "text": {"type": "string"}}},
            {"type": "object", "required": ["type"], "properties": {
                "type": {"type": "string", "enum": ["other"]}}}
        ]},
        "Unreached": {"type": "string"}
    }}})
}

#[test]
fn reaches_every_type_a_root_names_and_reduces_each() {
    let b = bundle(false, false);
    let got = shapes(Defs::of(&b), Defs::of(&b), &["StartParams".to_owned()]);
    assert_eq!(
        got.keys().collect::<Vec<_>>(),
        ["Item", "Mode", "StartParams"]
    );
    let params = &got["StartParams"];
    let text: BTreeMap<&str, String> = params
        .fields
        .iter()
        .map(|(k, f)| (k.as_str(), String::from(f.clone())))
        .collect();
    assert_eq!(text["threadId"], "string");
    assert_eq!(text["mode"], "Mode|null (optional)");
    assert_eq!(text["items"], "Item[] (optional)");
    assert_eq!(text["limit"], "integer(uint32)|null (optional)");
    assert_eq!(
        got["Mode"].variants.keys().collect::<Vec<_>>(),
        ["fast", "slow"]
    );
    let item = &got["Item"];
    assert_eq!(
        item.variants.keys().collect::<Vec<_>>(),
        ["message", "other"]
    );
    assert_eq!(
        String::from(item.variants["message"].fields["text"].clone()),
        "string"
    );
    assert!(!item.variants["message"].fields.contains_key("type"));
}

#[test]
fn marks_what_only_the_experimental_schema_has() {
    let exp = bundle(true, true);
    let stable = bundle(false, false);
    let got = shapes(
        Defs::of(&exp),
        Defs::of(&stable),
        &["StartParams".to_owned()],
    );
    assert!(got["StartParams"].fields["extra"].experimental);
    assert!(!got["StartParams"].fields["threadId"].experimental);
    assert!(got["Mode"].variants["turbo"].experimental);
    assert!(!got["Mode"].variants["fast"].experimental);
    let field: Field = String::from(got["StartParams"].fields["extra"].clone()).into();
    assert_eq!(
        field, got["StartParams"].fields["extra"],
        "the text form reads back"
    );
}
