//! The JSONL v3 record stream: reading any valid stream, and the canonical two-record rewrite.
//!
//! Reading checks every line (a JSON object, no negative `seq`), then each record's `v` (2 or
//! 3), `seq` (a non-negative integer; `2.0` counts) and `lane`, then the seq contract (each
//! checkpoint's `seq` equals the watermark before it; records after the last checkpoint have
//! increasing seqs above it), then replays the records in file order. Every error names its line. Writing always produces the canonical pair: an `event`
//! `replace` and a `checkpoint`, with the same `seq` and `ts`.

use serde_json::{Map, Value};

use super::error::{fail, ErrorCode, LedgerError};
use super::item::{Item, Status};
use super::item_read::{comment, deps};

/// The materialized state of a stream.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Ledger {
    /// The items, in ledger order.
    pub items: Vec<Item>,
    /// The largest `seq` in the stream (0 when empty).
    pub watermark: i64,
}

/// The writer audit envelope of a mutation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mutation {
    /// Whether the safe-wave check was off.
    pub allow_multiple_in_progress: bool,
    /// Who wrote.
    pub actor: String,
    /// The writing process.
    pub pid: u32,
    /// The writer's session, if any.
    pub session: Option<String>,
}

struct Record {
    line: usize,
    v: i64,
    seq: i64,
    checkpoint: bool,
    body: Map<String, Value>,
}

/// Reads a stream; an empty text is an empty ledger at watermark 0.
pub fn parse_stream(text: &str) -> Result<Ledger, LedgerError> {
    // As st: every line is parsed (JSON object, no negative seq) before the seq contract is
    // checked, so an earlier contract problem never hides a later unreadable line.
    let mut bodies = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        if raw.trim().is_empty() {
            continue;
        }
        let line = index + 1;
        bodies.push((
            line,
            parse_line(raw).map_err(|e| e.context(format!("line {line}")))?,
        ));
    }
    let mut records = Vec::with_capacity(bodies.len());
    for (line, body) in bodies {
        records.push(classify(line, body).map_err(|e| e.context(format!("line {line}")))?);
    }
    check_seq_contract(&records)?;
    let mut items: Vec<Item> = Vec::new();
    for r in &records {
        replay(&mut items, r).map_err(|e| e.context(format!("line {}", r.line)))?;
    }
    for item in &mut items {
        item.normalize_membership();
    }
    let watermark = records.iter().map(|r| r.seq).max().unwrap_or(0);
    Ok(Ledger { items, watermark })
}

fn parse_line(raw: &str) -> Result<Map<String, Value>, LedgerError> {
    let body = match serde_json::from_str::<Value>(raw) {
        Ok(Value::Object(m)) => m,
        Ok(other) => {
            return fail(
                ErrorCode::InvalidRecord,
                format!("not a JSON object: {}", snippet(&other.to_string())),
            )
        }
        Err(e) => {
            return fail(
                ErrorCode::InvalidRecord,
                format!("not JSON ({e}): {}", snippet(raw)),
            )
        }
    };
    match int_field(&body, "seq") {
        Some(seq) if seq < 0 => fail(ErrorCode::InvalidSeq, format!("seq is {seq}")),
        _ => Ok(body),
    }
}

/// A field's value as JSON text, or `missing`.
fn shown(value: Option<&Value>) -> String {
    value.map_or_else(|| "missing".to_owned(), Value::to_string)
}

/// The version, seq and lane of a parsed line. As st: `v` and `seq` are integers or floats
/// with a zero fraction (`3.0`); a missing or other version, a missing or fractional seq and a
/// v3 record without a known lane break the seq contract (`SeqContractViolation`).
fn classify(line: usize, body: Map<String, Value>) -> Result<Record, LedgerError> {
    let contract = |what: String| fail(ErrorCode::SeqContractViolation, what);
    let v = match int_field(&body, "v") {
        Some(v @ (2 | 3)) => v,
        _ => return contract(format!("unsupported version {}", shown(body.get("v")))),
    };
    let Some(seq) = int_field(&body, "seq") else {
        return contract(format!("invalid seq {}", shown(body.get("seq"))));
    };
    // st reads `lane` when it is a string, else the legacy `kind`.
    let lane = match body.get("lane").and_then(Value::as_str) {
        Some(lane) => Some(lane),
        None => body.get("kind").and_then(Value::as_str),
    };
    let checkpoint = match lane.map(|l| l.trim().to_ascii_lowercase()).as_deref() {
        Some("checkpoint") => true,
        Some("event") => false,
        _ if v == 2 => false,
        other => return contract(format!("invalid lane {other:?}")),
    };
    Ok(Record {
        line,
        v,
        seq,
        checkpoint: checkpoint && v == 3,
        body,
    })
}

/// An integer field, or a float with a zero fraction (st's `intField`).
fn int_field(body: &Map<String, Value>, key: &str) -> Option<i64> {
    let value = body.get(key)?;
    if let Some(n) = value.as_i64() {
        return Some(n);
    }
    let f = value.as_f64()?;
    (f.is_finite() && f.fract() == 0.0 && f.abs() < 9.2e18).then_some(f as i64)
}

fn check_seq_contract(records: &[Record]) -> Result<(), LedgerError> {
    let mut watermark = 0;
    let mut last_checkpoint: Option<usize> = None;
    for (i, r) in records.iter().enumerate() {
        if r.checkpoint {
            if r.seq != watermark {
                return fail(
                    ErrorCode::SeqContractViolation,
                    format!("line {}: checkpoint seq {} must match the watermark before it, {watermark}", r.line, r.seq),
                );
            }
            last_checkpoint = Some(i);
        }
        watermark = watermark.max(r.seq);
    }
    let Some(cp) = last_checkpoint else {
        return Ok(());
    };
    let mut prev = records[cp].seq;
    for r in &records[cp + 1..] {
        if r.seq <= prev {
            return fail(
                ErrorCode::SeqContractViolation,
                format!(
                    "line {}: seq {} after the last checkpoint does not increase (previous {prev})",
                    r.line, r.seq
                ),
            );
        }
        prev = r.seq;
    }
    Ok(())
}

fn replay(items: &mut Vec<Item>, r: &Record) -> Result<(), LedgerError> {
    if r.checkpoint {
        let Some(Value::Array(list)) = r.body.get("items") else {
            return fail(
                ErrorCode::InvalidCheckpoint,
                "checkpoint without an items array",
            );
        };
        *items = snapshot(list)?;
        return Ok(());
    }
    let op = r
        .body
        .get("op")
        .and_then(Value::as_str)
        .map(|s| s.trim().to_ascii_lowercase());
    match op.as_deref() {
        Some("init") => items.clear(),
        Some("replace" | "replace_all") => {
            let Some(Value::Array(list)) = r.body.get("items") else {
                return fail(
                    ErrorCode::ReplaceMissingItems,
                    "replace without an items array",
                );
            };
            *items = snapshot(list)?;
        }
        Some("upsert" | "upsert_item") => {
            let Some(value) = r.body.get("item").filter(|v| !v.is_null()) else {
                return fail(ErrorCode::UpsertMissingItem, "upsert without an item");
            };
            upsert(items, Item::from_json(value)?);
        }
        Some("remove") => {
            let id = target_id(&r.body)?;
            items.retain(|i| i.id != id);
        }
        Some(other) => edit(items, other, &r.body)?,
        None => {
            return fail(
                ErrorCode::InvalidOp,
                format!("v{} event without an op", r.v),
            )
        }
    }
    Ok(())
}

fn edit(items: &mut [Item], op: &str, body: &Map<String, Value>) -> Result<(), LedgerError> {
    let known = [
        "set_status",
        "set_deps",
        "set_notes",
        "add_comment",
        "append_comment",
        "comment",
    ];
    if !known.contains(&op) {
        return fail(ErrorCode::InvalidOp, format!("unknown op {op:?}"));
    }
    let id = target_id(body)?;
    let Some(item) = items.iter_mut().find(|i| i.id == id) else {
        return fail(
            ErrorCode::UnknownItemId,
            format!("{op} names unknown id {id:?}"),
        );
    };
    match op {
        "set_status" => {
            let status = body.get("status").and_then(Value::as_str).unwrap_or("");
            item.status = Status::parse(status)?;
        }
        "set_deps" => match body.get("deps") {
            Some(Value::Array(a)) => item.deps = deps(a)?,
            _ => return fail(ErrorCode::MissingDepsValue, "set_deps without a deps array"),
        },
        "set_notes" => {
            item.notes = body
                .get("notes")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned()
        }
        _ => {
            let c = match body.get("comment") {
                Some(v @ Value::Object(_)) => comment(v)?,
                _ => comment(&Value::Object(body.clone()))?,
            };
            item.comments.push(c);
        }
    }
    Ok(())
}

fn target_id(body: &Map<String, Value>) -> Result<String, LedgerError> {
    match body.get("id").and_then(Value::as_str).map(str::trim) {
        Some(id) if !id.is_empty() => Ok(id.to_owned()),
        _ => fail(ErrorCode::MissingItemId, "event without an id"),
    }
}

fn snapshot(list: &[Value]) -> Result<Vec<Item>, LedgerError> {
    let mut items: Vec<Item> = Vec::with_capacity(list.len());
    for value in list {
        let item = Item::from_json(value)?;
        if items.iter().any(|i| i.id == item.id) {
            return fail(
                ErrorCode::DuplicateItemId,
                format!("id {:?} appears twice", item.id),
            );
        }
        items.push(item);
    }
    Ok(items)
}

/// Replaces the item with the same id in place, or appends it.
pub fn upsert(items: &mut Vec<Item>, item: Item) {
    match items.iter_mut().find(|i| i.id == item.id) {
        Some(slot) => *slot = item,
        None => items.push(item),
    }
}

/// The canonical rewrite: an `event` `replace` and a `checkpoint`, both at `seq`, two lines.
pub fn render_canonical(items: &[Item], seq: i64, ts: &str, mutation: &Mutation) -> String {
    let list: Vec<Value> = items.iter().map(Item::to_json).collect();
    let mut meta = Map::new();
    meta.insert(
        "allow_multiple_in_progress".into(),
        mutation.allow_multiple_in_progress.into(),
    );
    meta.insert("actor".into(), mutation.actor.clone().into());
    meta.insert("pid".into(), mutation.pid.into());
    if let Some(s) = &mutation.session {
        meta.insert("session".into(), s.clone().into());
    }
    let record = |checkpoint: bool| {
        let mut m = Map::new();
        m.insert("v".into(), 3.into());
        m.insert("ts".into(), ts.into());
        m.insert(
            "lane".into(),
            if checkpoint { "checkpoint" } else { "event" }.into(),
        );
        m.insert("seq".into(), seq.into());
        if !checkpoint {
            m.insert("op".into(), "replace".into());
        }
        m.insert("items".into(), Value::Array(list.clone()));
        m.insert("mutation".into(), Value::Object(meta.clone()));
        Value::Object(m).to_string()
    };
    format!("{}\n{}\n", record(false), record(true))
}

fn snippet(text: &str) -> String {
    crate::text::cut(text, 80)
}
