//! Reading a transcript back as a conversation a person can follow.
//!
//! One line per event, in the order written: the time since the start, an arrow (`→` cas sent,
//! `←` cas received, `!` server stderr, `◆` model request, `×` input closed, `?` unreadable
//! input, `·` cas's note), the connection, the method and id, and the params (or result, or
//! error) cut short. `--full` adds the whole frame, pretty-printed, under each line; `--json`
//! passes the lines through unchanged. Both can be narrowed to methods.

use serde_json::Value;
use std::io::{BufRead, Write};

/// How much of the params a line shows before it is cut short.
const BRIEF_CHARS: usize = 100;

/// How to show a transcript.
#[derive(Debug, Clone, Default)]
pub struct ShowOptions {
    /// Show each whole frame under its line.
    pub full: bool,
    /// Print the transcript's own lines instead.
    pub json: bool,
    /// Only frames with one of these methods (a trailing `*` matches a prefix); empty: all.
    pub methods: Vec<String>,
}

/// Why a transcript could not be shown.
#[derive(Debug, thiserror::Error)]
pub enum ShowError {
    /// Reading the transcript or writing the output failed.
    #[error("reading or writing the transcript")]
    Io(#[from] std::io::Error),
    /// A line is not a JSON object.
    #[error("line {line} is not a transcript record")]
    BadLine {
        /// Its number (1-based).
        line: usize,
        /// What the parser said.
        #[source]
        source: serde_json::Error,
    },
}

/// Writes `input`'s transcript to `out` as `options` ask.
pub fn show(
    input: impl BufRead,
    options: &ShowOptions,
    out: &mut impl Write,
) -> Result<(), ShowError> {
    for (i, line) in input.lines().enumerate() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let record: Value = serde_json::from_str(&line).map_err(|source| ShowError::BadLine {
            line: i + 1,
            source,
        })?;
        if !wanted(&record, &options.methods) {
            continue;
        }
        if options.json {
            writeln!(out, "{line}")?;
            continue;
        }
        writeln!(out, "{}", describe(&record))?;
        if options.full {
            if let Some(frame) = record.get("frame").or_else(|| record.get("body")) {
                let pretty = serde_json::to_string_pretty(frame).unwrap_or_default();
                for l in pretty.lines() {
                    writeln!(out, "            {l}")?;
                }
            }
        }
    }
    Ok(())
}

/// Whether the record passes the method filter (no filter passes everything).
fn wanted(record: &Value, methods: &[String]) -> bool {
    if methods.is_empty() {
        return true;
    }
    let Some(method) = record.get("method").and_then(Value::as_str) else {
        return false;
    };
    methods.iter().any(|m| match m.strip_suffix('*') {
        Some(prefix) => method.starts_with(prefix),
        None => method == m,
    })
}

/// One record as one line of text.
pub fn describe(record: &Value) -> String {
    let ms = record.get("ms").and_then(Value::as_u64).unwrap_or(0);
    let time = format!("{:>4}.{:03}s", ms / 1000, ms % 1000);
    let field = |name: &str| record.get(name).and_then(Value::as_str).unwrap_or("");
    let conn = field("conn");
    let text = field("text");
    match field("event") {
        "start" => format!(
            "{time}   transcript {} ({})",
            field("label"),
            field("schema")
        ),
        "send" => format!("{time} → {conn} {}", frame_line(record).trim_end()),
        "recv" => format!("{time} ← {conn} {}", frame_line(record).trim_end()),
        "stderr" => format!("{time} ! {conn} stderr: {text}"),
        "model_request" => format!(
            "{time} ◆ model request: {}",
            brief(record.get("body").unwrap_or(&Value::Null))
        ),
        "closed" => format!("{time} × {conn} closed: {text}"),
        "unreadable" => format!("{time} ? {conn} unreadable: {text}"),
        "note" if conn.is_empty() => format!("{time} · {text}"),
        "note" => format!("{time} · {conn} {text}"),
        other => format!("{time}   {other}: {text}"),
    }
}

/// The method, id and brief body of a frame record.
fn frame_line(record: &Value) -> String {
    let frame = record.get("frame");
    let method = record.get("method").and_then(Value::as_str);
    let id = record
        .get("id")
        .map(|id| format!(" #{id}"))
        .unwrap_or_default();
    let kind = record.get("kind").and_then(Value::as_str).unwrap_or("");
    let body = |key: &str| frame.and_then(|f| f.get(key));
    match kind {
        "request" | "notification" => format!(
            "{}{id} {}",
            method.unwrap_or("?"),
            body("params").map(brief).unwrap_or_default()
        ),
        "response" => format!(
            "{}{id} result {}",
            method.unwrap_or("(response)"),
            body("result").map(brief).unwrap_or_default()
        ),
        "error" => format!(
            "{}{id} error {}",
            method.unwrap_or("(response)"),
            body("error").map(brief).unwrap_or_default()
        ),
        _ => {
            let raw = frame
                .map(Value::to_string)
                .or_else(|| {
                    record
                        .get("text")
                        .and_then(Value::as_str)
                        .map(str::to_owned)
                })
                .unwrap_or_default();
            format!("malformed {}", cut(&raw))
        }
    }
}

/// A value as compact JSON, cut short.
fn brief(value: &Value) -> String {
    cut(&value.to_string())
}

fn cut(text: &str) -> String {
    crate::text::cut(text, BRIEF_CHARS)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = concat!(
        r#"{"ms":0,"event":"start","schema":"cas.transcript/1","label":"x","startedAtMs":1}"#,
        "\n",
        r#"{"ms":3,"event":"send","conn":"main","kind":"request","method":"thread/start","id":2,"frame":{"id":2,"method":"thread/start","params":{}}}"#,
        "\n",
        r#"{"ms":1250,"event":"recv","conn":"main","kind":"response","method":"thread/start","id":2,"threadId":"t1","frame":{"id":2,"result":{"thread":{"id":"t1"}}}}"#,
        "\n",
        r#"{"ms":1251,"event":"stderr","conn":"main","text":"WARN something"}"#,
        "\n",
        r#"{"ms":1300,"event":"recv","conn":"main","kind":"malformed","text":"{oops"}"#,
        "\n",
    );

    fn render(options: &ShowOptions) -> String {
        let mut out = Vec::new();
        show(SAMPLE.as_bytes(), options, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn shows_a_conversation() {
        let text = render(&ShowOptions::default());
        let expected = concat!(
            "   0.000s   transcript x (cas.transcript/1)\n",
            "   0.003s → main thread/start #2 {}\n",
            "   1.250s ← main thread/start #2 result {\"thread\":{\"id\":\"t1\"}}\n",
            "   1.251s ! main stderr: WARN something\n",
            "   1.300s ← main malformed {oops\n",
        );
        assert_eq!(text, expected);
    }

    #[test]
    fn filters_by_method_and_passes_json_through() {
        let options = ShowOptions {
            json: true,
            methods: vec!["thread/*".into()],
            ..ShowOptions::default()
        };
        let text = render(&options);
        assert_eq!(text.lines().count(), 2, "{text}");
        assert!(text.lines().all(|l| l.contains("\"thread/start\"")));
        let full = render(&ShowOptions {
            full: true,
            ..ShowOptions::default()
        });
        assert!(full.contains("            {\n"), "{full}");
    }

    #[test]
    fn a_line_that_is_not_json_is_an_error_with_its_number() {
        let mut out = Vec::new();
        let err = show("{}\nnope\n".as_bytes(), &ShowOptions::default(), &mut out);
        assert!(matches!(err, Err(ShowError::BadLine { line: 2, .. })));
    }
}
