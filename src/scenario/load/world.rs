//! Checking the model and world constructs: `[model]`, `[server]`, `expect_model_request`,
//! `write_file`, `expect_file`, `run`.
//!
//! The world steps touch only the workspace, so they run on every target. The model script,
//! the server table and model-request checks mean something only where a real codex talks to
//! the mock model, so a scenario using them lists codex targets only.

use super::{Step, StepKind};
use crate::errors::RuleError;
use crate::launch::extras::is_inside;
use crate::scenario::format::*;

/// The world and model step kinds `spec` names, each checked.
pub(super) fn kinds(spec: &StepSpec) -> Result<Vec<StepKind>, RuleError> {
    let mut kinds = Vec::new();
    if let Some(e) = spec.expect_model_request.clone() {
        if e.index == Some(0) {
            return Err(RuleError::broken(
                "expect_model_request.index counts from 1",
            ));
        }
        kinds.push(StepKind::ExpectModelRequest(e));
    }
    if let Some(w) = spec.write_file.clone() {
        inside("write_file", &w.path)?;
        kinds.push(StepKind::WriteFile(w));
    }
    if let Some(e) = spec.expect_file.clone() {
        expect_file(&e)?;
        kinds.push(StepKind::ExpectFile(e));
    }
    if let Some(r) = spec.run.clone() {
        if r.cmd.trim().is_empty() {
            return Err(RuleError::broken("run.cmd is empty"));
        }
        kinds.push(StepKind::Run(r));
    }
    Ok(kinds)
}

fn inside(step: &str, path: &str) -> Result<(), RuleError> {
    if is_inside(path) {
        return Ok(());
    }
    Err(RuleError::Broken(format!(
        "{step}.path {path:?} must be relative to the workspace and stay inside it"
    )))
}

fn expect_file(e: &ExpectFileStep) -> Result<(), RuleError> {
    inside("expect_file", &e.path)?;
    if e.exists == Some(false) && e.checks_contents() {
        return Err(RuleError::broken(
            "expect_file: exists = false excludes equals, contains, regex and json",
        ));
    }
    if let Some(pattern) = &e.regex {
        regex::Regex::new(pattern)
            .map_err(|err| RuleError::Broken(format!("expect_file.regex {pattern:?}: {err}")))?;
    }
    Ok(())
}

/// Whether every target is a codex target.
pub(super) fn is_codex_only(targets: &[TargetName]) -> bool {
    !targets.is_empty() && targets.iter().all(|t| t.is_codex())
}

/// The model script, the server table and model-request checks need codex targets only; the
/// script's entries and the table are checked too.
pub(super) fn codex_only(
    targets: &[TargetName],
    model: &ModelScript,
    extras: &ServerExtras,
    steps: &[Step],
) -> Result<(), RuleError> {
    for (i, entry) in model.responses.iter().enumerate() {
        if let Some(problem) = entry.problem() {
            return Err(RuleError::Broken(format!(
                "model.responses[{}]: {problem}",
                i + 1
            )));
        }
    }
    if let Some(problem) = extras.problem() {
        return Err(RuleError::Broken(problem));
    }
    let user = if !model.is_empty() {
        Some("[model]")
    } else if !extras.is_empty() {
        Some("[server]")
    } else {
        steps
            .iter()
            .find(|s| matches!(s.kind, StepKind::ExpectModelRequest(_)))
            .map(|_| "an expect_model_request step")
    };
    match (user, targets.iter().find(|t| !t.is_codex())) {
        (Some(user), Some(t)) => Err(RuleError::Broken(format!(
            "{user} needs a real codex (the mock model and CODEX_HOME are codex's); list only codex targets, not {t}"
        ))),
        _ => Ok(()),
    }
}
