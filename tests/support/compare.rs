//! Whole-value checks of JSON documents: a failure shows a `pretty_assertions` diff of the
//! fields that were checked, then the whole document.

use libtest_mimic::Failed;
use pretty_assertions::Comparison;
use serde_json::{Map, Value};

/// Fails with `what`, a diff (`<` got, `>` want) and the document (unless `null`) unless
/// `got == want`.
pub fn same<T: PartialEq + std::fmt::Debug>(
    what: &str,
    got: &T,
    want: &T,
    doc: &Value,
) -> Result<(), Failed> {
    if got == want {
        return Ok(());
    }
    let mut text = format!("{what} (< got, > want)\n{}", Comparison::new(got, want));
    if !doc.is_null() {
        text.push_str("\ndocument:\n");
        text.push_str(&serde_json::to_string_pretty(doc).unwrap_or_default());
    }
    Err(text.into())
}

/// Fails unless the fields `want` names hold `want`'s values, compared as one value.
///
/// Each key of `want` is a path into `doc` (`smokePreflight/status`, `results/0/ok`); a field
/// that is absent reads as `null`. The key `exit` is the exit code `code` instead.
pub fn expect_fields(
    what: &str,
    code: Option<i32>,
    doc: &Value,
    want: Value,
) -> Result<(), Failed> {
    let Value::Object(wanted) = &want else {
        return Err(format!("{what}: the expected fields must be an object, got {want}").into());
    };
    let mut got = Map::new();
    for key in wanted.keys() {
        let value = match (key.as_str(), code) {
            ("exit", Some(code)) => Value::from(code),
            (path, _) => doc
                .pointer(&format!("/{path}"))
                .cloned()
                .unwrap_or(Value::Null),
        };
        got.insert(key.clone(), value);
    }
    same(what, &Value::Object(got), &want, doc)
}

/// Fails with `what` and the document, pretty-printed, unless `cond` holds.
pub fn expect(cond: bool, what: &str, doc: &Value) -> Result<(), Failed> {
    if cond {
        Ok(())
    } else {
        Err(format!(
            "{what}\n{}",
            serde_json::to_string_pretty(doc).unwrap_or_default()
        )
        .into())
    }
}
