//! A reader for the simple YAML subset OrchPlans use, producing JSON values.
//!
//! Supported: block mappings and sequences by indentation (a sequence may sit at its key's
//! indent), `- key: value` items, flow sequences and JSON-compatible flow collections, plain,
//! single- and double-quoted scalars (`true`/`false`, `null`/`~` and integers typed), comments
//! and `---`. Anything else (block scalars, anchors, tabs, multi-line plain scalars) is an error
//! naming the line, never a silent misreading.

use serde_json::{Map, Value};

/// YAML the reader does not accept, with the line it is on.
#[derive(Debug, thiserror::Error)]
pub enum YamlError {
    /// A line that breaks the block structure.
    #[error("line {line}: {problem}")]
    Structure {
        /// The 1-based line number.
        line: usize,
        /// What is wrong with it.
        problem: String,
    },
    /// A value that is not a supported scalar or flow collection.
    #[error("line {line}")]
    Scalar {
        /// The 1-based line number.
        line: usize,
        /// What is wrong with the value.
        #[source]
        source: ScalarError,
    },
}

/// A value the reader does not accept.
#[derive(Debug, thiserror::Error)]
pub enum ScalarError {
    /// A flow collection other than a JSON one or a flat `[a, b]`.
    #[error("unsupported flow collection {0:?}")]
    FlowCollection(String),
    /// A block scalar, anchor, alias or tag.
    #[error("unsupported YAML construct {0:?}")]
    Construct(String),
    /// A double-quoted string that is not a JSON string.
    #[error("bad double-quoted string {text:?}")]
    DoubleQuoted {
        /// The quoted text.
        text: String,
        /// What the JSON parser said.
        #[source]
        source: serde_json::Error,
    },
    /// A single-quoted string without its closing quote.
    #[error("unterminated single-quoted string {0:?}")]
    SingleQuoted(String),
}

fn structure(line: usize, problem: impl Into<String>) -> YamlError {
    YamlError::Structure {
        line,
        problem: problem.into(),
    }
}

#[derive(Debug, Clone)]
struct Line {
    no: usize,
    indent: usize,
    text: String,
}

/// Parses a YAML document; the error says which line and why.
pub fn parse(text: &str) -> Result<Value, YamlError> {
    let mut lines = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let no = i + 1;
        let body = strip_comment(raw);
        let trimmed = body.trim_end();
        if trimmed.trim().is_empty() || trimmed == "---" || trimmed == "..." {
            continue;
        }
        let indent = trimmed.len() - trimmed.trim_start_matches(' ').len();
        if trimmed[indent..].starts_with('\t') {
            return Err(structure(no, "tabs are not allowed in indentation"));
        }
        lines.push(Line {
            no,
            indent,
            text: trimmed[indent..].to_owned(),
        });
    }
    if lines.is_empty() {
        return Ok(Value::Null);
    }
    let mut pos = 0;
    let indent = lines[0].indent;
    let value = block(&mut lines, &mut pos, indent)?;
    if let Some(extra) = lines.get(pos) {
        return Err(structure(extra.no, "unexpected indentation"));
    }
    Ok(value)
}

fn is_item(text: &str) -> bool {
    text == "-" || text.starts_with("- ")
}

fn block(lines: &mut [Line], pos: &mut usize, indent: usize) -> Result<Value, YamlError> {
    if is_item(&lines[*pos].text) {
        sequence(lines, pos, indent)
    } else {
        mapping(lines, pos, indent)
    }
}

fn sequence(lines: &mut [Line], pos: &mut usize, indent: usize) -> Result<Value, YamlError> {
    let mut out = Vec::new();
    while *pos < lines.len() && lines[*pos].indent == indent && is_item(&lines[*pos].text) {
        let line = lines[*pos].clone();
        let rest = line.text[1..].trim_start();
        if rest.is_empty() {
            *pos += 1;
            out.push(nested(lines, pos, indent, false)?);
        } else if split_key(rest).is_some() {
            // `- key: value` opens a mapping at the column of `key`.
            let column = indent + (line.text.len() - rest.len());
            lines[*pos] = Line {
                no: line.no,
                indent: column,
                text: rest.to_owned(),
            };
            out.push(mapping(lines, pos, column)?);
        } else {
            out.push(scalar(rest).map_err(|source| YamlError::Scalar {
                line: line.no,
                source,
            })?);
            *pos += 1;
        }
    }
    Ok(Value::Array(out))
}

fn mapping(lines: &mut [Line], pos: &mut usize, indent: usize) -> Result<Value, YamlError> {
    let mut out = Map::new();
    while *pos < lines.len() && lines[*pos].indent == indent && !is_item(&lines[*pos].text) {
        let line = lines[*pos].clone();
        let Some((key, rest)) = split_key(&line.text) else {
            let problem = format!("expected `key: value`, got {:?}", line.text);
            return Err(structure(line.no, problem));
        };
        *pos += 1;
        let value = if rest.is_empty() {
            nested(lines, pos, indent, true)?
        } else {
            scalar(rest).map_err(|source| YamlError::Scalar {
                line: line.no,
                source,
            })?
        };
        if out.insert(key.clone(), value).is_some() {
            return Err(structure(line.no, format!("duplicate key {key:?}")));
        }
    }
    if let Some(next) = lines.get(*pos).filter(|l| l.indent > indent) {
        return Err(structure(next.no, "unexpected indentation"));
    }
    Ok(Value::Object(out))
}

/// The value under a key or dash with nothing after it: a deeper block, a sequence at the
/// key's own indent (mapping values only), or null.
fn nested(
    lines: &mut [Line],
    pos: &mut usize,
    indent: usize,
    in_map: bool,
) -> Result<Value, YamlError> {
    match lines.get(*pos) {
        Some(next) if next.indent > indent => {
            let deeper = next.indent;
            block(lines, pos, deeper)
        }
        Some(next) if in_map && next.indent == indent && is_item(&next.text) => {
            sequence(lines, pos, indent)
        }
        _ => Ok(Value::Null),
    }
}

/// Splits `key: rest` (or `key:`) outside quotes; `None` when the text is not a mapping entry.
fn split_key(text: &str) -> Option<(String, &str)> {
    let (key, rest) = if text.starts_with('"') || text.starts_with('\'') {
        let q = text.chars().next()?;
        let end = text[1..].find(q)? + 1;
        let after = text[end + 1..].trim_start();
        let rest = after.strip_prefix(':')?;
        (unquote(&text[..=end]).ok()?, rest)
    } else {
        if text.starts_with('[') || text.starts_with('{') {
            return None;
        }
        let at = text
            .find(": ")
            .or_else(|| text.ends_with(':').then(|| text.len() - 1))?;
        (text[..at].trim().to_owned(), &text[at + 1..])
    };
    if !(rest.is_empty() || rest.starts_with(' ')) {
        return None;
    }
    Some((key, rest.trim()))
}

fn scalar(text: &str) -> Result<Value, ScalarError> {
    let t = text.trim();
    if t.starts_with('[') || t.starts_with('{') {
        if let Ok(v) = serde_json::from_str::<Value>(t) {
            return Ok(v);
        }
        let inner = t.strip_prefix('[').and_then(|s| s.strip_suffix(']'));
        let Some(inner) = inner.filter(|s| !s.contains(['[', ']', '{', '}'])) else {
            return Err(ScalarError::FlowCollection(t.to_owned()));
        };
        return split_flow(inner)
            .into_iter()
            .map(|p| scalar(&p))
            .collect::<Result<Vec<_>, _>>()
            .map(Value::Array);
    }
    if t.starts_with('"') || t.starts_with('\'') {
        return unquote(t).map(Value::String);
    }
    if t.starts_with(['|', '>', '&', '*', '!']) {
        return Err(ScalarError::Construct(t.to_owned()));
    }
    Ok(match t {
        "true" | "True" => Value::Bool(true),
        "false" | "False" => Value::Bool(false),
        "null" | "~" | "Null" => Value::Null,
        _ => t
            .parse::<i64>()
            .map(Value::from)
            .unwrap_or_else(|_| Value::String(t.to_owned())),
    })
}

fn unquote(t: &str) -> Result<String, ScalarError> {
    if t.starts_with('"') {
        return serde_json::from_str::<String>(t).map_err(|source| ScalarError::DoubleQuoted {
            text: t.to_owned(),
            source,
        });
    }
    match t.strip_prefix('\'').and_then(|s| s.strip_suffix('\'')) {
        Some(inner) if t.len() >= 2 => Ok(inner.replace("''", "'")),
        _ => Err(ScalarError::SingleQuoted(t.to_owned())),
    }
}

/// Splits a flow sequence body at commas outside quotes.
fn split_flow(inner: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    for c in inner.chars() {
        match (quote, c) {
            (None, ',') => parts.push(std::mem::take(&mut cur)),
            (None, '"' | '\'') => {
                quote = Some(c);
                cur.push(c);
            }
            (Some(q), _) if c == q => {
                quote = None;
                cur.push(c);
            }
            _ => cur.push(c),
        }
    }
    parts.push(cur);
    parts
        .into_iter()
        .map(|p| p.trim().to_owned())
        .filter(|p| !p.is_empty())
        .collect()
}

/// Drops a `#` comment that starts the line or follows whitespace, outside quotes (a quote
/// opens only at the start of a token, so `It's` is plain text).
fn strip_comment(line: &str) -> &str {
    let mut quote: Option<char> = None;
    let mut prev = ' ';
    for (i, c) in line.char_indices() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if (c == '"' || c == '\'')
                && matches!(prev, ' ' | '\t' | '[' | ',' | ':' | '-') =>
            {
                quote = Some(c)
            }
            None if c == '#' && matches!(prev, ' ' | '\t') => return &line[..i],
            None => {}
        }
        prev = c;
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_an_orchplan_shaped_document() {
        let text = r#"
schema_version: 1   # the peer's fixtures carry it
kind: OrchPlan
tasks:
  - id: cfg
    title: "Update config loader"
    scope: ["src/config/**"]
    validation:
      - npm test -w config
    depends_on: []
  - id: 'ui'
    title: It's fine # comment
    scope: src/ui/**
waves:
- id: w1
  tasks: [cfg, "ui"]
"#;
        let want = json!({
            "schema_version": 1, "kind": "OrchPlan",
            "tasks": [
                {"id": "cfg", "title": "Update config loader", "scope": ["src/config/**"],
                 "validation": ["npm test -w config"], "depends_on": []},
                {"id": "ui", "title": "It's fine", "scope": "src/ui/**"}
            ],
            "waves": [{"id": "w1", "tasks": ["cfg", "ui"]}]
        });
        assert_eq!(parse(text).unwrap(), want);
    }

    #[test]
    fn unsupported_or_broken_input_names_the_line() {
        let cases = [
            ("a: |\n  text\n", "line 1"),
            ("a: 1\n   b: 2\n", "line 2"),
            ("a: 1\na: 2\n", "line 2"),
            ("a: [x, [y]]\n", "line 1"),
            ("a: 'open\n", "line 1"),
            ("just a line\n", "line 1"),
        ];
        for (text, want) in cases {
            let err = parse(text).unwrap_err().to_string();
            assert!(err.starts_with(want), "{text:?}: {err}");
        }
    }
}
