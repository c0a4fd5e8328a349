//! Unit tests of the operators, `$null`, `$absent`, load-time validation and projection.

use super::*;
use serde_json::json;

/// Expected, actual, and `None` for a match or `Some((path, op))` of the mismatch.
type Case<'a> = (Value, Value, Option<(&'a str, &'a str)>);

fn run(cases: &[Case<'_>]) {
    for (want, have, bad) in cases {
        assert_eq!(validate(want), Ok(()), "{want} must validate");
        let got = matches(want, have, &mut Captures::new()).err();
        let got = got
            .as_ref()
            .map(|m| (m.path.as_str(), m.op.as_deref().unwrap_or("")));
        assert_eq!(got, *bad, "{want} vs {have}");
    }
}

#[test]
fn null_and_absent() {
    run(&[
        (json!({"a": "$null"}), json!({"a": null}), None),
        (json!({"a": "$null"}), json!({"a": 0}), Some(("/a", ""))),
        (json!({"a": "$null"}), json!({}), Some(("/a", ""))),
        (json!({"a": "$absent"}), json!({"b": 1}), None),
        (
            json!({"a": "$absent"}),
            json!({"a": null}),
            Some(("/a", "$absent")),
        ),
        (
            json!({"a": {"b": "$absent"}}),
            json!({"a": {"b": 1}}),
            Some(("/a/b", "$absent")),
        ),
    ]);
    let sent = substitute(&json!({"cwd": "$null", "x": ["$null"]}), &Captures::new());
    assert_eq!(sent, json!({"cwd": null, "x": [null]}));
}

#[test]
fn number_comparisons() {
    run(&[
        (json!({"$gt": 1}), json!(2), None),
        (json!({"$gt": 2}), json!(2), Some(("", "$gt"))),
        (json!({"$gte": 2}), json!(2.0), None),
        (json!({"$gte": 2}), json!(1), Some(("", "$gte"))),
        (json!({"$lt": 2}), json!(1.5), None),
        (json!({"$lt": 2}), json!(2), Some(("", "$lt"))),
        (json!({"$lte": 2}), json!(2), None),
        (json!({"$lte": 2}), json!(3), Some(("", "$lte"))),
        (
            json!({"n": {"$gt": 0}}),
            json!({"n": "1"}),
            Some(("/n", "$gt")),
        ),
        (json!({"n": {"$gt": 0}}), json!({}), Some(("/n", "$gt"))),
    ]);
}

#[test]
fn ne_prefix_regex_type() {
    run(&[
        (json!({"$ne": "a"}), json!("b"), None),
        (json!({"$ne": "a"}), json!("a"), Some(("", "$ne"))),
        (
            json!({"$ne": {"x": 1}}),
            json!({"x": 1, "y": 2}),
            Some(("", "$ne")),
        ),
        (json!({"$ne": "$null"}), json!(null), Some(("", "$ne"))),
        (json!({"$prefix": "thr_"}), json!("thr_1"), None),
        (
            json!({"$prefix": "thr_"}),
            json!("t_1"),
            Some(("", "$prefix")),
        ),
        (json!({"$prefix": "1"}), json!(12), Some(("", "$prefix"))),
        (
            json!({"$regex": "^[0-9a-f-]{36}$"}),
            json!("0b7e5a3c-8f1d-4c2a-9e6b-1a2b3c4d5e6f"),
            None,
        ),
        (
            json!({"$regex": "^a+$"}),
            json!("aab"),
            Some(("", "$regex")),
        ),
        (json!({"$type": "string"}), json!("x"), None),
        (json!({"$type": "integer"}), json!(3), None),
        (json!({"$type": "integer"}), json!(3.5), Some(("", "$type"))),
        (json!({"$type": "number"}), json!(3.5), None),
        (json!({"$type": "boolean"}), json!(false), None),
        (json!({"$type": "object"}), json!([]), Some(("", "$type"))),
        (json!({"$type": "array"}), json!([]), None),
        (json!({"$type": "null"}), json!(null), None),
        (json!({"$type": "null"}), json!(0), Some(("", "$type"))),
    ]);
}

#[test]
fn contains_len() {
    run(&[
        (json!({"$contains": "ell"}), json!("hello"), None),
        (
            json!({"$contains": "xyz"}),
            json!("hello"),
            Some(("", "$contains")),
        ),
        (
            json!({"$contains": {"id": 2}}),
            json!([{"id": 1}, {"id": 2, "n": 0}]),
            None,
        ),
        (
            json!({"$contains": {"id": 3}}),
            json!([{"id": 1}]),
            Some(("", "$contains")),
        ),
        (json!({"$contains": {"$gt": 5}}), json!([1, 9]), None),
        (json!({"$len": 2}), json!([1, 2]), None),
        (json!({"$len": 3}), json!("abc"), None),
        (
            json!({"$len": 1}),
            json!({"a": 1, "b": 2}),
            Some(("", "$len")),
        ),
        (
            json!({"$len": {"$gte": 1}}),
            json!([]),
            Some(("", "$len $gte")),
        ),
        (json!({"$len": {"$gte": 1}}), json!([0]), None),
        (json!({"$len": 1}), json!(1), Some(("", "$len"))),
    ]);
}

#[test]
fn exact_unordered() {
    run(&[
        (json!({"$exact": {"a": 1}}), json!({"a": 1}), None),
        (
            json!({"$exact": {"a": 1}}),
            json!({"a": 1, "b": 2}),
            Some(("/b", "$exact")),
        ),
        (
            json!({"$exact": {"a": {"x": 1}}}),
            json!({"a": {"x": 1, "y": 2}}),
            None,
        ),
        (json!({"$exact": {"a": "$absent"}}), json!({}), None),
        (
            json!({"$exact": {"a": 1}}),
            json!({"a": 2}),
            Some(("/a", "")),
        ),
        (json!({"$unordered": [1, 2, 3]}), json!([3, 1, 2]), None),
        (
            json!({"$unordered": [1, 2]}),
            json!([1, 2, 3]),
            Some(("", "$unordered")),
        ),
        (
            json!({"$unordered": [1, 1]}),
            json!([1, 2]),
            Some(("", "$unordered")),
        ),
        (
            json!({"$unordered": [{"id": "$any"}, {"id": 1}]}),
            json!([{"id": 2}, {"id": 1}]),
            None,
        ),
    ]);
}

#[test]
fn operators_nest_and_capture() {
    let want = json!({"data": {"$contains": {"id": "$capture:tid", "name": {"$prefix": "x"}}}});
    let have = json!({"data": [{"id": "a", "name": "y"}, {"id": "b", "name": "x1"}]});
    let mut caps = Captures::new();
    matches(&want, &have, &mut caps).unwrap();
    assert_eq!(
        caps.get("tid"),
        Some(&json!("b")),
        "captures of the matching element"
    );
    let mut caps = Captures::new();
    caps.insert("tid".into(), json!("b"));
    assert!(check(
        &json!({"id": {"$ne": "${tid}"}}),
        &json!({"id": "b"}),
        &mut caps
    )
    .is_err());
    assert!(check(
        &json!({"id": {"$ne": "${tid}"}}),
        &json!({"id": "c"}),
        &mut caps
    )
    .is_ok());
    caps.insert("n".into(), json!(3));
    assert!(check(&json!({"$gte": "${n}"}), &json!(3), &mut caps).is_ok());
    assert!(check(&json!({"$gt": "${n}"}), &json!(3), &mut caps).is_err());
    caps.insert("s".into(), json!("2"));
    assert!(
        check(&json!({"$gt": "${s}"}), &json!(3), &mut caps).is_ok(),
        "a [vars] string"
    );
    assert!(check(&json!({"$len": "${s}"}), &json!([1, 2]), &mut caps).is_ok());
    assert!(check(&json!({"$len": "${s}"}), &json!([1]), &mut caps).is_err());
    caps.insert("dot".into(), json!("a.b"));
    assert!(check(&json!({"$regex": "^${dot}$"}), &json!("a.b"), &mut caps).is_ok());
    assert!(
        check(&json!({"$regex": "^${dot}$"}), &json!("axb"), &mut caps).is_err(),
        "a substituted value matches literally"
    );
}

#[test]
fn mismatch_messages_name_path_operator_expected_and_observed() {
    let cases = [
        (
            json!({"a": {"$gt": 3}}),
            json!({"a": 2}),
            "at /a: $gt: expected a number > 3, got 2",
        ),
        (
            json!({"a": {"$len": 3}}),
            json!({"a": [1]}),
            "at /a: $len: expected 3, got 1 (length of [1])",
        ),
        (
            json!({"a": "$absent"}),
            json!({"a": 1}),
            "at /a: $absent: expected no such key, got 1",
        ),
        (
            json!({"id": {"$prefix": "thr_"}}),
            json!({}),
            "at /id: $prefix: expected a string starting with \"thr_\", got nothing (missing)",
        ),
        (
            json!({"a": 1}),
            json!({}),
            "at /a: expected 1, got nothing (missing)",
        ),
    ];
    for (want, have, text) in cases {
        let m = matches(&want, &have, &mut Captures::new()).unwrap_err();
        assert_eq!(m.to_string(), text);
    }
}

#[test]
fn validate_refuses_unknown_operators_and_bad_operands() {
    let cases = [
        (json!({"a": {"$gtt": 1}}), "/a", "unknown operator $gtt"),
        (json!({"a": {"$gt": "x"}}), "/a", "$gt takes a number"),
        (json!({"$prefix": 1}), "", "$prefix takes a string"),
        (json!({"$regex": "("}), "", "does not compile"),
        (json!({"$len": "x"}), "", "$len takes a number"),
        (json!({"$len": {"$prefix": "a"}}), "", "$len takes a number"),
        (json!({"$exact": [1]}), "", "$exact takes a table"),
        (json!({"$unordered": {}}), "", "$unordered takes an array"),
        (json!({"$type": "str"}), "", "$type takes one of"),
        (json!({"$gt": 1, "$lt": 3}), "", "exactly one key"),
        (json!({"a": ["$absent"]}), "/a/0", "$absent"),
        (json!({"a": "$abesnt"}), "/a", "unknown magic string"),
        (
            json!({"a": {"$ne": {"$bogus": 1}}}),
            "/a",
            "unknown operator $bogus",
        ),
    ];
    for (want, path, text) in cases {
        let e = validate(&want).unwrap_err();
        assert_eq!(e.path, path, "{want}");
        assert!(e.message.contains(text), "{want}: {}", e.message);
    }
    for ok in [
        json!({"$gt": "${n}"}),
        json!({"$regex": "^${tid}$"}),
        json!({"$ne": "${x}"}),
    ] {
        assert_eq!(validate(&ok), Ok(()), "{ok}");
    }
}

#[test]
fn projects_operators_stably() {
    let want = json!({"id": {"$prefix": "thr_"}, "gone": "$absent", "n": {"$gt": 1}, "o": {"$exact": {"k": "$any"}}});
    let have = json!({"id": "thr_9", "n": 0, "o": {"k": 1}});
    assert_eq!(
        project(&want, &have),
        json!({"id": "<$prefix \"thr_\">", "gone": "<absent>", "n": 0, "o": {"k": "<any number>"}})
    );
}

#[test]
fn references_and_captured_names() {
    assert_eq!(references("a ${x} b ${y.z} ${}"), vec!["x", "y.z"]);
    let mut names = Vec::new();
    captured_names(&json!({"a": ["$capture:t"], "b": "$capture:u"}), &mut names);
    assert_eq!(names, vec!["t", "u"]);
}

#[test]
fn matches_subsets_and_reports_the_first_difference() {
    let cases = [
        (json!({"a": 1}), json!({"a": 1.0, "b": 2}), None),
        (json!({"a": "$any"}), json!({"a": null}), None),
        (json!({"a": "$any"}), json!({}), Some("/a")),
        (
            json!({"a": {"b": [1, 2]}}),
            json!({"a": {"b": [1, 2]}}),
            None,
        ),
        (
            json!({"a": {"b": [1, 2]}}),
            json!({"a": {"b": [1]}}),
            Some("/a/b"),
        ),
        (
            json!({"a": [{"x": 1}]}),
            json!({"a": [{"x": 2}]}),
            Some("/a/0/x"),
        ),
        (json!("s"), json!(1), Some("")),
    ];
    for (want, have, bad_path) in cases {
        let got = matches(&want, &have, &mut Captures::new())
            .err()
            .map(|m| m.path);
        assert_eq!(got.as_deref(), bad_path, "{want} vs {have}");
    }
}

#[test]
fn captures_and_substitutes() {
    let mut caps = Captures::new();
    matches(
        &json!({"thread": {"id": "$capture:tid"}}),
        &json!({"thread": {"id": "t-1"}}),
        &mut caps,
    )
    .unwrap();
    let params = substitute(
        &json!({"threadId": "${tid}", "note": "on ${tid}", "n": "${nope}"}),
        &caps,
    );
    assert_eq!(
        params,
        json!({"threadId": "t-1", "note": "on t-1", "n": "${nope}"})
    );
}

#[test]
fn projects_what_was_checked() {
    let want = json!({"userAgent": "$any", "id": "$capture:x", "os": "linux"});
    let have = json!({"userAgent": "cas/1", "id": 7, "os": "linux", "extra": true});
    assert_eq!(
        project(&want, &have),
        json!({"userAgent": "<any string>", "id": "<captured x>", "os": "linux"})
    );
    let m = matches(&json!({"a": 1}), &json!({}), &mut Captures::new()).unwrap_err();
    assert_eq!(m.to_string(), "at /a: expected 1, got nothing (missing)");
}

#[test]
fn all_and_each() {
    run(&[
        (
            json!({"$all": [{"$contains": 1}, {"$contains": 2}]}),
            json!([3, 2, 1]),
            None,
        ),
        (
            json!({"$all": [{"$contains": 1}, {"$contains": 2}]}),
            json!([1, 3]),
            Some(("", "$contains")),
        ),
        (
            json!({"$all": [{"$type": "string"}, {"$prefix": "0."}]}),
            json!("0.1"),
            None,
        ),
        (
            json!({"$each": {"scope": "system"}}),
            json!([{"scope": "system"}, {"scope": "system", "x": 1}]),
            None,
        ),
        (json!({"$each": {"scope": "system"}}), json!([]), None),
        (
            json!({"$each": {"scope": "system"}}),
            json!([{"scope": "system"}, {"scope": "user"}]),
            Some(("/1/scope", "")),
        ),
        (json!({"$each": 1}), json!({"a": 1}), Some(("", "$each"))),
    ]);
    assert!(validate(&json!({"$all": 1})).is_err());
}

#[test]
fn magic_values_take_the_observed_projection() {
    let want = json!({"a": "$any", "b": [1, "$capture:x"], "c": 3});
    let seen = json!({"a": "<any string>", "b": [1, "<captured x>"], "c": 4});
    assert_eq!(
        shown_as_matched(&want, Some(&seen)),
        json!({"a": "<any string>", "b": [1, "<captured x>"], "c": 3})
    );
}

#[test]
fn operators_that_held_show_as_their_projection_and_the_others_as_written() {
    let want = json!({"n": {"$gt": 1}, "m": {"$gt": 5}, "gone": "$absent", "s": {"$prefix": "ab"}});
    let actual = json!({"n": 2, "m": 3, "s": "abc"});
    let seen = project(&want, &actual);
    assert_eq!(
        shown_as_matched(&want, Some(&seen)),
        json!({"n": "<$gt 1>", "m": {"$gt": 5}, "gone": "<absent>", "s": "<$prefix \"ab\">"})
    );
    assert_eq!(shown_as_matched(&want, None), want);
}
