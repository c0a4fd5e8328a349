//! The JSONL v3 record stream: reading any valid stream, and the canonical two-record rewrite.
//!
//! Reading checks every line (a JSON object, `v` 2 or 3, a non-negative integer `seq`, a known
//! `lane`), then the seq contract (each checkpoint's `seq` equals the watermark before it; records
//! after the last checkpoint have increasing seqs above it), then replays the records in file
//! order. Every error names its line. Writing always produces the canonical pair: an `event`
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
    let mut records = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        if raw.trim().is_empty() {
            continue;
        }
        let line = index + 1;
        records.push(parse_record(line, raw).map_err(|e| e.context(format!("line {line}")))?);
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

fn parse_record(line: usize, raw: &str) -> Result<Record, LedgerError> {
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
    let v = body.get("v").and_then(Value::as_i64);
    let v = match v {
        Some(v @ (2 | 3)) => v,
        _ => {
            return fail(
                ErrorCode::UnsupportedSchemaVersion,
                format!("v is {:?}", body.get("v")),
            )
        }
    };
    let seq = match body.get("seq").and_then(Value::as_i64) {
        Some(seq) if seq >= 0 => seq,
        _ => {
            return fail(
                ErrorCode::InvalidSeq,
                format!("seq is {:?}", body.get("seq")),
            )
        }
    };
    let lane = body
        .get("lane")
        .or_else(|| body.get("kind"))
        .and_then(Value::as_str);
    let checkpoint = match lane.map(|l| l.trim().to_ascii_lowercase()).as_deref() {
        Some("checkpoint") => true,
        Some("event") => false,
        _ if v == 2 => false,
        other => return fail(ErrorCode::InvalidLane, format!("lane is {other:?}")),
    };
    Ok(Record {
        line,
        v,
        seq,
        checkpoint: checkpoint && v == 3,
        body,
    })
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
    let mut s: String = text.chars().take(80).collect();
    if s.len() < text.len() {
        s.push('…');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    const ITEM_A: &str = r#"{"id":"a","step":"A","status":"pending","priority":"medium","in_plan":true,"deps":[],"notes":"","comments":[]}"#;

    fn meta() -> Mutation {
        Mutation {
            allow_multiple_in_progress: false,
            actor: "tk".into(),
            pid: 12345,
            session: None,
        }
    }

    #[test]
    fn the_reference_pair_reads_and_is_written_back_identically() {
        // st's reference pair: one replace event and its checkpoint at the same seq.
        let text = include_str!("tests/reference_pair.jsonl");
        let ledger = parse_stream(text).unwrap();
        assert_eq!(ledger.watermark, 42);
        assert_eq!(ledger.items.len(), 1);
        assert_eq!(
            render_canonical(&ledger.items, 42, "2026-02-09T20:02:00Z", &meta()),
            text
        );
    }

    #[test]
    fn a_multi_record_stream_with_a_checkpoint_replays_to_the_same_state_as_its_tail() {
        let b = ITEM_A.replace("\"a\"", "\"b\"").replace("\"A\"", "\"B\"");
        let text = [
            r#"{"v":3,"ts":"t","lane":"event","seq":1,"op":"init"}"#.to_owned(),
            format!(r#"{{"v":3,"ts":"t","lane":"event","seq":2,"op":"upsert","item":{ITEM_A}}}"#),
            format!(r#"{{"v":3,"ts":"t","lane":"event","seq":3,"op":"upsert_item","item":{b}}}"#),
            format!(r#"{{"v":3,"ts":"t","lane":"checkpoint","seq":3,"items":[{ITEM_A},{b}]}}"#),
            r#"{"v":3,"ts":"t","lane":"event","seq":4,"op":"set_status","id":"a","status":"done"}"#.to_owned(),
            r#"{"v":2,"ts":"t","seq":5,"op":"set_notes","id":"b","notes":"n"}"#.to_owned(),
            String::new(),
            r#"{"v":3,"ts":"t","lane":"event","seq":6,"op":"add_comment","id":"b","ts":"t","author":"tk","text":"hi"}"#.to_owned(),
            r#"{"v":3,"ts":"t","lane":"event","seq":7,"op":"set_deps","id":"b","deps":["a"]}"#.to_owned(),
        ]
        .join("\n");
        let full = parse_stream(&text).unwrap();
        assert_eq!(full.watermark, 7);
        let a = &full.items[0];
        assert_eq!((a.status, a.in_plan), (Status::Completed, false));
        let b = &full.items[1];
        assert_eq!(
            (b.notes.as_str(), b.comments.len(), b.deps.len()),
            ("n", 1, 1)
        );
        // Replay contract: the latest checkpoint plus what follows equals the full replay.
        // (A checkpoint must follow a record at its seq, so the tail starts at the seq-3 event.)
        let tail: Vec<&str> = text.lines().skip(2).collect();
        assert_eq!(parse_stream(&tail.join("\n")).unwrap().items, full.items);
        let removed = format!(
            "{text}\n{}",
            r#"{"v":3,"ts":"t","lane":"event","seq":8,"op":"remove","id":"a"}"#
        );
        let after = parse_stream(&removed).unwrap();
        assert_eq!(
            after
                .items
                .iter()
                .map(|i| i.id.as_str())
                .collect::<Vec<_>>(),
            ["b"]
        );
    }

    #[test]
    fn corrupt_input_names_the_line() {
        let good = r#"{"v":3,"ts":"t","lane":"event","seq":1,"op":"init"}"#;
        // What follows the good first line, the identifier, and the line it names.
        let cases = [
            ("\n{not json", "InvalidRecord", "line 3"),
            ("[1]", "InvalidRecord", "line 2"),
            (
                r#"{"v":4,"seq":2,"lane":"event","op":"init"}"#,
                "UnsupportedSchemaVersion",
                "line 2",
            ),
            (
                r#"{"v":3,"seq":-1,"lane":"event","op":"init"}"#,
                "InvalidSeq",
                "line 2",
            ),
            (
                r#"{"v":3,"seq":2,"lane":"side","op":"init"}"#,
                "InvalidLane",
                "line 2",
            ),
            (
                r#"{"v":3,"seq":1,"lane":"checkpoint","items":{}}"#,
                "InvalidCheckpoint",
                "line 2",
            ),
            (
                r#"{"v":3,"seq":2,"lane":"event","op":"replace"}"#,
                "ReplaceMissingItems",
                "line 2",
            ),
            (
                r#"{"v":3,"seq":2,"lane":"event","op":"upsert"}"#,
                "UpsertMissingItem",
                "line 2",
            ),
            (
                r#"{"v":3,"seq":2,"lane":"event","op":"explode"}"#,
                "InvalidOp",
                "line 2",
            ),
            (
                r#"{"v":3,"seq":2,"lane":"event","op":"set_status","id":"zz","status":"done"}"#,
                "UnknownItemId",
                "line 2",
            ),
            (
                r#"{"v":3,"seq":2,"lane":"event","op":"replace","items":[{"id":"a"}]}"#,
                "MissingStepValue",
                "line 2",
            ),
        ];
        for (next, code, line) in cases {
            let text = format!("{good}\n{next}");
            let err = parse_stream(&text).unwrap_err();
            assert_eq!(err.code(), code, "{text}: {err}");
            assert!(err.detail().starts_with(line), "{err}");
        }
    }

    #[test]
    fn seq_contract_violations() {
        let cases = [
            // checkpoint seq must equal the watermark before it
            "{\"v\":3,\"seq\":5,\"lane\":\"event\",\"op\":\"init\"}\n{\"v\":3,\"seq\":6,\"lane\":\"checkpoint\",\"items\":[]}",
            "{\"v\":3,\"seq\":1,\"lane\":\"checkpoint\",\"items\":[]}",
            // records after the last checkpoint must increase
            "{\"v\":3,\"seq\":3,\"lane\":\"event\",\"op\":\"init\"}\n{\"v\":3,\"seq\":3,\"lane\":\"checkpoint\",\"items\":[]}\n{\"v\":3,\"seq\":3,\"lane\":\"event\",\"op\":\"init\"}",
        ];
        for text in cases {
            let err = parse_stream(text).unwrap_err();
            assert_eq!(err.code(), "SeqContractViolation", "{text}: {err}");
        }
        assert_eq!(parse_stream("").unwrap(), Ledger::default());
        let zero = "{\"v\":3,\"seq\":0,\"lane\":\"checkpoint\",\"items\":[]}";
        assert_eq!(parse_stream(zero).unwrap().watermark, 0);
    }
}
