//! How a review that ran can still fail: the model answers without JSON, or the model fails.

use libtest_mimic::Failed;
use serde_json::{json, Value};

use crate::lab::Lab;
use crate::support::{done, expect_fields, Outcome};

fn waited(lab: &Lab, instructions: &str) -> Result<(i32, Value), Failed> {
    lab.start(&[
        "--custom-instructions",
        instructions,
        "--wait",
        "--orphan-ttl-seconds",
        "1",
    ])
}

pub fn output_missing(lab: &Lab) -> Outcome {
    let (code, doc) = waited(lab, "[[say:looks fine to me]]")?;
    expect_fields(
        "review_output_missing, with the rendered text kept",
        Some(code),
        &doc,
        json!({
            "exit": 1,
            "failureCode": "review_output_missing",
            "status": "completed",
            "reviewResultAvailable": false,
            "reviewText": "looks fine to me",
        }),
    )?;
    done()
}

pub fn model_fails(lab: &Lab) -> Outcome {
    let (code, doc) = waited(lab, "[[fail]] review")?;
    expect_fields(
        "review_failed",
        Some(code),
        &doc,
        json!({"exit": 1, "failureCode": "review_failed", "status": "failed"}),
    )?;
    done()
}
