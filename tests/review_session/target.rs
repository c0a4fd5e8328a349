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

pub fn invalid_targets(lab: &Lab) -> Outcome {
    let plain = lab.plain_folder()?;
    let plain = plain.to_str().unwrap_or_default();
    let args = ["review_session", "start", "--hermetic", "--json"];
    let not_git = [&args[..], &["--uncommitted", "--wait", "--cwd", plain]].concat();
    let (code, doc) = lab.cas(&not_git, &lab.outside_git())?;
    refused_before_launch(
        lab,
        "a folder that is not a git repository",
        code,
        &doc,
        "is not a git work tree",
    )?;
    let (code, doc) = lab.start(&["--base", "nosuchbranch", "--wait"])?;
    refused_before_launch(
        lab,
        "--base nosuchbranch",
        code,
        &doc,
        "--base nosuchbranch: no such branch or commit",
    )?;
    let sha = "0123456789abcdef0123456789abcdef01234567";
    let (code, doc) = lab.start(&["--commit", sha, "--wait"])?;
    refused_before_launch(
        lab,
        "--commit of a nonexistent sha",
        code,
        &doc,
        "no such commit",
    )?;
    expect_fields(
        "the refused target is the one asked for",
        None,
        &doc,
        json!({"target": {"type": "commit", "sha": sha, "title": null}}),
    )?;
    lab.commit_all()?;
    let (code, doc) = lab.start(&["--uncommitted", "--wait"])?;
    refused_before_launch(
        lab,
        "--uncommitted on a clean tree",
        code,
        &doc,
        "--uncommitted: no changes",
    )?;
    let repo = lab.repo();
    let text = [
        "review_session",
        "start",
        "--hermetic",
        "--uncommitted",
        "--cwd",
        repo,
    ];
    let (code, _, stderr) = lab.cas_text(&text)?;
    let said =
        stderr.contains("no changes") && stderr.contains("failureCode: review_target_invalid");
    expect(
        code == 1 && said,
        &format!("in text mode the reason is on stderr (exit {code}, stderr {stderr:?})"),
        &Value::Null,
    )?;
    done()
}
