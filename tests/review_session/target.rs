//! A review target that does not exist, or has nothing to review, is refused before launch:
//! `review_target_invalid` with git's reason, exit 1, no lane host, no server, no lane folder.

use serde_json::{json, Value};

use crate::lab::Lab;
use crate::support::{done, expect, expect_fields, Outcome};

/// Fails unless `doc` is a refusal before launch with a hint containing `says`, and nothing
/// was left behind.
fn refused_before_launch(lab: &Lab, what: &str, code: i32, doc: &Value, says: &str) -> Outcome {
    expect_fields(
        what,
        Some(code),
        doc,
        json!({
            "exit": 1,
            "schemaVersion": 1,
            "success": false,
            "status": "failed",
            "failureCode": "review_target_invalid",
            "reviewThreadId": null,
            "hostPid": null,
            "managedServerPid": null,
            "managedServerListenUrl": null,
        }),
    )?;
    let hint = doc["failureHint"].as_str().unwrap_or_default();
    expect(
        hint.contains(says),
        &format!("{what}: the hint says {says:?}"),
        doc,
    )?;
    let left = lab.lane_folders();
    expect(
        left.is_empty(),
        &format!("{what}: no lane folder or hermetic home is made, found {left:?}"),
        doc,
    )?;
    done()
}

/// A nonexistent commit (the fixture repository has few objects, none of them this).
const MISSING_SHA: &str = "0123456789abcdef0123456789abcdef01234567";

pub fn invalid_targets(lab: &Lab) -> Outcome {
    let plain = lab.plain_folder()?;
    let plain = plain.to_str().unwrap_or_default();
    let start = ["review_session", "start", "--hermetic", "--json", "--wait"];
    let not_git = [&start[..], &["--uncommitted", "--cwd", plain]].concat();
    let (code, doc) = lab.cas(&not_git, &lab.outside_git())?;
    let says = "is not a git work tree";
    refused_before_launch(
        lab,
        "a folder that is not a git repository",
        code,
        &doc,
        says,
    )?;
    let cases: [(&str, &[&str], &str); 2] = [
        (
            "--base nosuchbranch",
            &["--base", "nosuchbranch"],
            "--base nosuchbranch: no such branch or commit",
        ),
        (
            "--commit of a nonexistent sha",
            &["--commit", MISSING_SHA],
            "no such commit",
        ),
    ];
    for (what, target, says) in cases {
        let (code, doc) = lab.start(&[target, &["--wait"][..]].concat())?;
        refused_before_launch(lab, what, code, &doc, says)?;
    }
    lab.commit_all()?;
    let (code, doc) = lab.start(&["--uncommitted", "--wait"])?;
    let says = "--uncommitted: no changes";
    refused_before_launch(lab, "--uncommitted on a clean tree", code, &doc, says)?;
    expect_fields(
        "the refused target is the one asked for",
        None,
        &doc,
        json!({"target": {"type": "uncommittedChanges"}}),
    )?;
    let text = ["review_session", "start", "--hermetic", "--uncommitted"];
    let (code, _, stderr) = lab.cas_text(&[&text[..], &["--cwd", lab.repo()]].concat(), &[])?;
    let said = stderr.contains(says) && stderr.contains("(failureCode: review_target_invalid)");
    expect(
        code == 1 && said,
        &format!("in text mode the reason is on stderr (exit {code}, stderr {stderr:?})"),
        &Value::Null,
    )?;
    no_git(lab)
}

/// Without git the target cannot be checked: cas could not run (exit 2), and says why.
fn no_git(lab: &Lab) -> Outcome {
    let codex = lab.codex().to_str().unwrap_or_default();
    let args = ["review_session", "start", "--hermetic", "--commit", "HEAD"];
    let args = [
        &args[..],
        &["--cwd", lab.repo(), "--codex-bin", codex, "--json"],
    ]
    .concat();
    let (code, stdout, stderr) = lab.cas_text(&args, &[("PATH", "/nonexistent")])?;
    let said = stderr.contains("git not found") && stderr.contains("(hint: install git");
    // With --json, the one exit-2 document says it on stdout too.
    let doc: Value = serde_json::from_str(&stdout).unwrap_or_default();
    let documented = doc["failureCode"] == "setup_failed"
        && doc["error"]
            .as_str()
            .is_some_and(|e| e.contains("git not found"));
    expect(
        code == 2 && documented && said && lab.lane_folders().is_empty(),
        &format!("a missing git: exit {code}, stdout {stdout:?}, stderr {stderr:?}"),
        &Value::Null,
    )?;
    done()
}
