//! The payload types of a surface: every type a method's params, response or notification
//! params reach, reduced to fields, variants and their flags, so a diff can descend into them.
//!
//! A field is its type as text (`string`, `ThreadItem[]`, `string|null`, `{string: Tool}`),
//! whether it is required and whether only the experimental schema has it. An enum or tagged
//! union is its variants (each with its fields, and whether it is experimental). Types are
//! kept only when a method reaches them, so the surface stays about the protocol.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet, VecDeque};

/// One field of an object type or of a union variant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "String", from = "String")]
pub struct Field {
    /// The type as text, e.g. `string|null` or `ThreadItem[]`.
    pub ty: String,
    /// Whether the field must be present.
    pub required: bool,
    /// Whether only the experimental schema has it.
    pub experimental: bool,
}

const OPTIONAL: &str = " (optional)";
const EXPERIMENTAL: &str = " (experimental)";

impl From<Field> for String {
    fn from(f: Field) -> String {
        let mut text = f.ty;
        if !f.required {
            text.push_str(OPTIONAL);
        }
        if f.experimental {
            text.push_str(EXPERIMENTAL);
        }
        text
    }
}

impl From<String> for Field {
    fn from(text: String) -> Field {
        let (text, experimental) = match text.strip_suffix(EXPERIMENTAL) {
            Some(t) => (t.to_owned(), true),
            None => (text, false),
        };
        let (ty, required) = match text.strip_suffix(OPTIONAL) {
            Some(t) => (t.to_owned(), false),
            None => (text, true),
        };
        Field {
            ty,
            required,
            experimental,
        }
    }
}

/// One variant of an enum or tagged union.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Variant {
    /// Whether only the experimental schema has it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub experimental: bool,
    /// Its fields (tagged unions; the tag itself is left out).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub fields: BTreeMap<String, Field>,
}

/// One payload type.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TypeShape {
    /// Whether only the experimental schema has it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub experimental: bool,
    /// An object's fields.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub fields: BTreeMap<String, Field>,
    /// An enum's or union's variants, by tag.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub variants: BTreeMap<String, Variant>,
    /// Anything else: the type as text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alias: Option<String>,
}

/// The definitions of a schema bundle: root-level and `v2`.
#[derive(Clone, Copy)]
pub struct Defs<'a> {
    root: Option<&'a Map<String, Value>>,
    v2: Option<&'a Map<String, Value>>,
}

impl<'a> Defs<'a> {
    /// The definitions of `bundle`.
    pub fn of(bundle: &'a Value) -> Defs<'a> {
        let root = bundle["definitions"].as_object();
        let v2 = root.and_then(|r| r.get("v2")).and_then(Value::as_object);
        Defs { root, v2 }
    }

    /// The definition named `name`.
    pub fn get(&self, name: &str) -> Option<&'a Value> {
        self.root
            .and_then(|r| r.get(name))
            .filter(|_| name != "v2")
            .or_else(|| self.v2.and_then(|v| v.get(name)))
    }

    /// Every type name defined.
    pub fn names(&self) -> BTreeSet<String> {
        let keys = |m: Option<&Map<String, Value>>| {
            m.into_iter()
                .flat_map(|m| m.keys().cloned())
                .collect::<Vec<_>>()
        };
        let mut names: BTreeSet<String> = keys(self.root).into_iter().collect();
        names.extend(keys(self.v2));
        names.remove("v2");
        names
    }

    /// The required fields of the definition named `name`, sorted (none when it is absent).
    pub fn required(&self, name: Option<&str>) -> Vec<String> {
        let mut fields: Vec<String> = name
            .and_then(|n| self.get(n))
            .and_then(|d| d["required"].as_array())
            .map(|r| {
                r.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        fields.sort();
        fields
    }
}

/// The shapes of every type reachable from `roots`, with experimental flags from `stable`.
pub fn shapes(defs: Defs<'_>, stable: Defs<'_>, roots: &[String]) -> BTreeMap<String, TypeShape> {
    let mut out = BTreeMap::new();
    let mut queue: VecDeque<String> = roots.iter().cloned().collect();
    while let Some(name) = queue.pop_front() {
        if out.contains_key(&name) {
            continue;
        }
        let Some(def) = defs.get(&name) else {
            continue;
        };
        let mut refs = BTreeSet::new();
        collect_refs(def, &mut refs);
        queue.extend(refs.into_iter().filter(|r| !out.contains_key(r)));
        out.insert(name.clone(), shape(def, stable.get(&name)));
    }
    out
}

fn collect_refs(v: &Value, out: &mut BTreeSet<String>) {
    match v {
        Value::Object(map) => {
            if let Some(name) = map.get("$ref").and_then(Value::as_str).and_then(ref_tail) {
                out.insert(name.to_owned());
            }
            map.values().for_each(|v| collect_refs(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| collect_refs(v, out)),
        _ => {}
    }
}

fn ref_tail(r: &str) -> Option<&str> {
    r.rsplit('/').next()
}

/// The shape of one definition; `stable` is its stable-schema twin, if it has one.
fn shape(def: &Value, stable: Option<&Value>) -> TypeShape {
    let mut shape = TypeShape {
        experimental: stable.is_none(),
        ..TypeShape::default()
    };
    if def.get("properties").is_some() {
        shape.fields = fields(def, stable);
    } else if let Some(values) = def["enum"].as_array() {
        let stable_values = stable.map(|s| s["enum"].clone()).unwrap_or(Value::Null);
        for v in values.iter().filter_map(Value::as_str) {
            let known = stable_values
                .as_array()
                .is_some_and(|s| s.iter().any(|x| x == v));
            shape.variants.insert(
                v.to_owned(),
                Variant {
                    experimental: stable.is_some() && !known,
                    fields: BTreeMap::new(),
                },
            );
        }
    } else if let Some(list) = def["oneOf"].as_array().or(def["anyOf"].as_array()) {
        let stable_variants = stable.map(variant_defs).unwrap_or_default();
        for (tag, variant) in list.iter().flat_map(members) {
            let twin = stable_variants.get(&tag);
            let mut fields = fields(variant, twin.copied());
            fields.remove("type");
            shape.variants.insert(
                tag,
                Variant {
                    experimental: stable.is_some() && twin.is_none(),
                    fields,
                },
            );
        }
    } else {
        shape.alias = Some(type_text(def));
    }
    shape
}

/// The variants of a union definition by tag.
fn variant_defs(def: &Value) -> BTreeMap<String, &Value> {
    def["oneOf"]
        .as_array()
        .or(def["anyOf"].as_array())
        .into_iter()
        .flatten()
        .flat_map(members)
        .collect()
}

/// The variants one union member stands for: each string of a multi-valued enum, else the
/// member under its tag, else under its type text (a catch-all `string`).
fn members(v: &Value) -> Vec<(String, &Value)> {
    match v["enum"].as_array() {
        Some(values) if values.len() > 1 => values
            .iter()
            .filter_map(Value::as_str)
            .map(|s| (s.to_owned(), &Value::Null))
            .collect(),
        _ => vec![(tag_of(v).unwrap_or_else(|| type_text(v)), v)],
    }
}

/// A union variant's tag: its string (`enum: ["x"]` or `const`), its `type` constant, or for
/// an externally tagged one its single required key as `{key}`.
fn tag_of(v: &Value) -> Option<String> {
    let constant = |v: &Value| -> Option<String> {
        v["const"]
            .as_str()
            .or_else(|| match v["enum"].as_array().map(Vec::as_slice) {
                Some([one]) => one.as_str(),
                _ => None,
            })
            .map(str::to_owned)
    };
    if let Some(tag) = constant(v).or_else(|| constant(&v["properties"]["type"])) {
        return Some(tag);
    }
    match v["required"].as_array().map(Vec::as_slice) {
        Some([key]) if v["properties"].as_object().is_some_and(|p| p.len() == 1) => {
            key.as_str().map(|k| format!("{{{k}}}"))
        }
        _ => v["title"].as_str().map(str::to_owned),
    }
}

/// The fields of an object node, with required and experimental flags.
fn fields(node: &Value, stable: Option<&Value>) -> BTreeMap<String, Field> {
    let required: BTreeSet<&str> = node["required"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    let stable_props = stable.and_then(|s| s["properties"].as_object());
    node["properties"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(name, v)| {
            let field = Field {
                ty: type_text(v),
                required: required.contains(name.as_str()),
                experimental: stable.is_some()
                    && stable_props.is_none_or(|p| !p.contains_key(name)),
            };
            (name.clone(), field)
        })
        .collect()
}

/// A schema node as compact text: `Name`, `string`, `T[]`, `string|null`, `{string: T}`,
/// `"a"|"b"`, or an inline object `{a: string, b?: integer}`.
pub fn type_text(v: &Value) -> String {
    if let Some(r) = v["$ref"].as_str().and_then(ref_tail) {
        return r.to_owned();
    }
    if let Some(c) = v.get("const") {
        return c.to_string();
    }
    if let Some(values) = v["enum"].as_array() {
        return values
            .iter()
            .map(Value::to_string)
            .collect::<Vec<_>>()
            .join("|");
    }
    for key in ["anyOf", "oneOf", "allOf"] {
        if let Some(list) = v[key].as_array() {
            let mut parts: Vec<String> = list.iter().map(type_text).collect();
            parts.sort();
            parts.dedup();
            return parts.join(if key == "allOf" { "&" } else { "|" });
        }
    }
    let base = |t: &str| -> String {
        match t {
            "array" => format!("{}[]", type_text(&v["items"])),
            "object" => object_text(v),
            "integer" | "number" => match v["format"].as_str() {
                Some(f) => format!("{t}({f})"),
                None => t.to_owned(),
            },
            other => other.to_owned(),
        }
    };
    match &v["type"] {
        Value::String(t) => base(t),
        Value::Array(ts) => ts
            .iter()
            .filter_map(Value::as_str)
            .map(base)
            .collect::<Vec<_>>()
            .join("|"),
        _ => "any".to_owned(),
    }
}

fn object_text(v: &Value) -> String {
    if let Some(props) = v["properties"].as_object() {
        let required: BTreeSet<&str> = v["required"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        let parts: Vec<String> = props
            .iter()
            .map(|(k, t)| {
                let mark = if required.contains(k.as_str()) {
                    ""
                } else {
                    "?"
                };
                format!("{k}{mark}: {}", type_text(t))
            })
            .collect();
        return format!("{{{}}}", parts.join(", "));
    }
    match &v["additionalProperties"] {
        Value::Object(_) => format!("{{string: {}}}", type_text(&v["additionalProperties"])),
        _ => "object".to_owned(),
    }
}

#[cfg(test)]
mod tests;
