//! Resolving a scenario file into the parts it runs with: its own, or for a negative twin, its
//! original's steps and settings with the twin's insertions, fake script and overrides merged in.

use std::collections::BTreeMap;

use super::super::format::*;
use crate::errors::RuleError;
use crate::fake::script::FakeScript;
use crate::policy::PolicyConfig;

/// What a file says once a twin's original is merged in: the parts a twin may take over.
pub(super) struct Resolved {
    pub(super) steps: Vec<StepSpec>,
    pub(super) step_timeout: Option<String>,
    pub(super) original_targets: Option<Vec<TargetName>>,
    pub(super) fake: FakeScript,
    pub(super) policy: Option<PolicyConfig>,
    pub(super) hooks: Option<HooksSpec>,
    pub(super) vars: BTreeMap<String, String>,
    pub(super) mode: Mode,
    pub(super) part_of: Option<String>,
    pub(super) model: ModelScript,
    pub(super) extras: ServerExtras,
}

impl Resolved {
    /// A scenario that is not a twin: its own parts.
    pub(super) fn plain(file: &ScenarioFile) -> Result<Resolved, RuleError> {
        if !file.insert_steps.is_empty() {
            return Err(RuleError::broken("insert_steps is only for negative twins"));
        }
        Ok(Resolved {
            steps: file.steps.clone(),
            step_timeout: file.step_timeout.clone(),
            original_targets: None,
            fake: file.fake.clone(),
            policy: file.policy.clone(),
            hooks: file.hooks.clone(),
            vars: file.vars.clone(),
            mode: file.mode,
            part_of: file.part_of.clone(),
            model: file.model.clone(),
            extras: file.server.clone(),
        })
    }

    /// A negative twin has no steps of its own (checked before its original is read).
    pub(super) fn no_own_steps(file: &ScenarioFile) -> Result<(), RuleError> {
        if file.steps.is_empty() {
            return Ok(());
        }
        Err(RuleError::broken(
            "a negative twin reuses its original's steps and has none of its own (use insert_steps)",
        ))
    }

    /// A negative twin: its original's steps (with the twin's insertions), the two fake
    /// scripts merged, and the twin's own settings where it has them.
    pub(super) fn twin(
        file: &ScenarioFile,
        name: &str,
        original: ScenarioFile,
    ) -> Result<Resolved, RuleError> {
        if original.negative_twin_of.is_some() {
            return Err(RuleError::Broken(format!(
                "{name} is itself a twin; name the original scenario"
            )));
        }
        let mut vars = original.vars;
        vars.extend(file.vars.clone());
        Ok(Resolved {
            steps: insert_twin_steps(original.steps, file.insert_steps.clone())?,
            step_timeout: file.step_timeout.clone().or(original.step_timeout),
            original_targets: original.targets,
            fake: twin_script(original.fake, file.fake.clone()),
            policy: file.policy.clone().or(original.policy),
            hooks: file.hooks.clone().or(original.hooks),
            vars,
            mode: original.mode,
            part_of: file.part_of.clone().or(original.part_of),
            model: if file.model.is_empty() {
                original.model
            } else {
                file.model.clone()
            },
            extras: if file.server.is_empty() {
                original.server
            } else {
                file.server.clone()
            },
        })
    }
}

/// The original's steps with a twin's insertions placed after the steps they name.
fn insert_twin_steps(
    mut steps: Vec<StepSpec>,
    inserts: Vec<InsertedSteps>,
) -> Result<Vec<StepSpec>, RuleError> {
    for insert in inserts {
        let at = steps
            .iter()
            .position(|s| s.name.as_deref() == Some(insert.after.as_str()))
            .ok_or_else(|| {
                RuleError::Broken(format!(
                    "insert_steps: the original has no step named {:?}",
                    insert.after
                ))
            })?;
        let tail = steps.split_off(at + 1);
        steps.extend(insert.steps);
        steps.extend(tail);
    }
    Ok(steps)
}

/// A twin's fake: the original's script with the twin's faults added, the twin's rules tried
/// first, and the twin's `after_initialize` instead of the original's when it has one.
fn twin_script(original: FakeScript, twin: FakeScript) -> FakeScript {
    let mut faults = original.faults;
    faults.extend(twin.faults);
    let mut rules = twin.rules;
    rules.extend(original.rules);
    let after_initialize = if twin.after_initialize.is_empty() {
        original.after_initialize
    } else {
        twin.after_initialize
    };
    FakeScript {
        faults,
        after_initialize,
        rules,
        initialize_delay: twin.initialize_delay.or(original.initialize_delay),
    }
}
