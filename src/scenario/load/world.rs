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

#[cfg(test)]
mod tests {
    use super::super::{load, Scenario};
    use crate::scenario::format::TargetName;
    use std::path::Path;

    const CODEX: &str = "targets = [\"codex-stdio\", \"codex-ws\"]\n";
    const STEP: &str = "[[steps]]\nrequest = { method = \"thread/list\" }\n";

    fn try_load(dir: &Path, name: &str, text: &str) -> Result<Scenario, crate::errors::Why> {
        let path = dir.join(format!("{name}.toml"));
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(&path, format!("description = \"d\"\n{text}")).unwrap();
        load(dir, &path).map_err(|e| crate::errors::Why::of(&e))
    }

    #[test]
    fn model_and_server_tables_need_codex_targets_only() {
        let dir = tempfile::tempdir().unwrap();
        let model = "[[model.responses]]\ntext = \"hi\"\n";
        let err = try_load(dir.path(), "a", &format!("{model}{STEP}")).unwrap_err();
        assert!(
            err.contains("[model] needs a real codex") && err.contains("fake-stdio"),
            "{err}"
        );
        let ok = try_load(dir.path(), "b", &format!("{CODEX}{model}{STEP}")).unwrap();
        assert_eq!(ok.model.responses[0].text.as_deref(), Some("hi"));
        let server = "[server]\nenv = { A = \"1\" }\n";
        let err = try_load(dir.path(), "c", &format!("{server}{STEP}")).unwrap_err();
        assert!(err.contains("[server] needs a real codex"), "{err}");
        let check = "[[steps]]\nexpect_model_request = { index = 1 }\n";
        let err = try_load(dir.path(), "d", &format!("{STEP}{check}")).unwrap_err();
        assert!(
            err.contains("expect_model_request step needs a real codex"),
            "{err}"
        );
        let bad = "[[model.responses]]\nerror = 500\ntext = \"x\"\n";
        let err = try_load(dir.path(), "e", &format!("{CODEX}{bad}{STEP}")).unwrap_err();
        assert!(err.contains("model.responses[1]: error excludes"), "{err}");
        let escaping = "[server]\nhome_files = { \"../AGENTS.md\" = \"x\" }\n";
        let err = try_load(dir.path(), "f", &format!("{CODEX}{escaping}{STEP}")).unwrap_err();
        assert!(err.contains("inside CODEX_HOME"), "{err}");
    }

    #[test]
    fn a_twin_of_a_codex_only_scenario_runs_on_codex_with_its_own_script() {
        let dir = tempfile::tempdir().unwrap();
        let original = format!("{CODEX}[[model.responses]]\ntext = \"a\"\n{STEP}");
        try_load(dir.path(), "orig", &original).unwrap();
        let twin = "targets = [\"codex-stdio\", \"codex-ws\"]\nnegative_twin_of = \"orig\"\nexpect_status = \"fail\"\nexpect_failure = { code = \"model_request_mismatch\" }\n[[model.responses]]\ntext = \"b\"\n";
        let loaded = try_load(dir.path(), "orig_twin", twin).unwrap();
        assert_eq!(
            loaded.targets,
            [TargetName::CodexStdio, TargetName::CodexWs]
        );
        assert_eq!(loaded.model.responses[0].text.as_deref(), Some("b"));
        try_load(dir.path(), "plain", STEP).unwrap();
        let codex_twin = format!("{CODEX}negative_twin_of = \"plain\"\nexpect_status = \"fail\"\nexpect_failure = {{ code = \"no_response\" }}\n");
        let err = try_load(dir.path(), "plain_twin", &codex_twin).unwrap_err();
        assert!(err.contains("cannot run on codex-stdio"), "{err}");
    }

    #[test]
    fn world_steps_run_locally_and_keep_inside_the_workspace() {
        let dir = tempfile::tempdir().unwrap();
        let steps = "[[steps]]\nwrite_file = { path = \"a/b.txt\", contents = \"x\" }\n[[steps]]\nexpect_file = { path = \"a/b.txt\", regex = \"^x$\" }\n[[steps]]\nrun = { cmd = \"true\" }\n";
        let s = try_load(dir.path(), "w", steps).unwrap();
        assert_eq!(s.targets, [TargetName::Local]);
        let names: Vec<&str> = s.steps.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["write_file", "expect_file", "run"]);
        for (bad, why) in [
            ("write_file = { path = \"../x\" }", "stay inside"),
            ("expect_file = { path = \"/etc/passwd\" }", "stay inside"),
            (
                "expect_file = { path = \"x\", exists = false, contains = \"y\" }",
                "excludes",
            ),
            ("expect_file = { path = \"x\", regex = \"(\" }", "regex"),
            ("run = { cmd = \" \" }", "run.cmd is empty"),
            ("expect_model_request = { index = 0 }", "counts from 1"),
            (
                "run = { cmd = \"true\" }\nwrite_file = { path = \"x\" }",
                "exactly one of",
            ),
        ] {
            let err = try_load(dir.path(), "bad", &format!("[[steps]]\n{bad}\n")).unwrap_err();
            assert!(err.contains(why), "{bad}: {err}");
        }
    }
}
