//! The parent thread of a review: reused while safe, refused while another server writes it
//! or before it is materialized, and replaced by a fresh thread under `auto`.

use serde_json::json;
use std::path::Path;
use std::time::Duration;

use crate::lab::{id_of, Lab, FIXTURE_TITLE};
use crate::support::{self, done, expect, expect_fields, Outcome};

pub fn start_wait_and_reuse(lab: &Lab) -> Outcome {
    let commit = [
        "--commit",
        "HEAD",
        "--title",
        "base",
        "--wait",
        "--orphan-ttl-seconds",
        "3",
    ];
    let (code, first) = lab.start(&commit)?;
    expect_fields(
        "start --wait reviews the commit target with findings",
        Some(code),
        &first,
        json!({
            "exit": 0,
            "success": true,
            "target": {"type": "commit", "sha": "HEAD", "title": "base"},
            "reviewResult/findings/0/title": FIXTURE_TITLE,
        }),
    )?;
    let id = id_of(&first)?;
    let reuse = [
        "--parent-mode",
        "reuse",
        "--parent-thread-id",
        &id,
        "--orphan-ttl-seconds",
        "1",
    ];
    // The first lane's server still holds the thread for its TTL: an active writer.
    let (code, busy) = lab.start(&[&reuse[..], &["--uncommitted"]].concat())?;
    let hint = busy["failureHint"].as_str().unwrap_or_default();
    expect_fields(
        "a parent that another server still writes is unsafe",
        Some(code),
        &busy,
        json!({"exit": 1, "failureCode": "unsafe_parent_thread_state"}),
    )?;
    expect(
        hint.contains("active writer"),
        "the hint names the active writer",
        &busy,
    )?;
    lab.all_gone(Duration::from_secs(15))?;
    let (code, second) =
        lab.start(&[&reuse[..], &["--custom-instructions", "again", "--wait"]].concat())?;
    expect_fields(
        "the reused parent is reviewed inline, in the parent's home",
        Some(code),
        &second,
        json!({
            "exit": 0,
            "success": true,
            "reviewThreadId": id,
            "codexHome": first["codexHome"],
        }),
    )?;
    let decision = second["parentDecision"].as_str().unwrap_or_default();
    expect(
        decision.starts_with("reused"),
        "the parent decision says reused",
        &second,
    )?;
    let turn = first["reviewTurnId"].as_str().unwrap_or_default();
    let kept = Path::new(first["recordPath"].as_str().unwrap_or_default())
        .with_file_name(format!("{id}.{turn}.json"));
    expect(
        kept.is_file(),
        "the earlier review's record is kept",
        &second,
    )?;
    done()
}

pub fn parent_not_materialized(lab: &Lab) -> Outcome {
    let parent = "01a1ff71-0000-7000-8000-000000000000";
    let given = [
        "--uncommitted",
        "--parent-thread-id",
        parent,
        "--orphan-ttl-seconds",
        "1",
    ];
    let (code, doc) = lab.start(&[&given[..], &["--parent-mode", "reuse"]].concat())?;
    let hint = doc["failureHint"].as_str().unwrap_or_default();
    expect_fields(
        "parent_thread_not_materialized",
        Some(code),
        &doc,
        json!({
            "exit": 1,
            "failureCode": "parent_thread_not_materialized",
            "reviewThreadId": null,
        }),
    )?;
    expect(
        hint.contains("no rollout found"),
        "the hint says no rollout was found",
        &doc,
    )?;
    let (code, fresh) = lab.start(&[&given[..], &["--wait"]].concat())?;
    let decision = fresh["parentDecision"].as_str().unwrap_or_default();
    let got = json!({
        "exit": code,
        "success": fresh["success"],
        "reviewThreadIdIsTheParent": fresh["reviewThreadId"] == parent,
        "decisionSaysWhy": decision.contains("parent_thread_not_materialized"),
    });
    let want = json!({
        "exit": 0,
        "success": true,
        "reviewThreadIdIsTheParent": false,
        "decisionSaysWhy": true,
    });
    support::same(
        "auto falls back to a fresh thread and says why",
        &got,
        &want,
        &fresh,
    )?;
    done()
}
