//! Whether the codex has what each selected scenario relies on, checked before any of them runs.
//!
//! A scenario relies on the methods and notifications its steps name (and its `requires`);
//! on a codex lacking one it is [`NotApplicable`] with the missing names, and the rest run. A
//! codex lacking even the handshake is refused ([`Incompatible`]). A codex that cannot be found
//! is left to the runs, which report it as verdicts with status error.

use serde::Serialize;
use serde_json::{json, Value};
use std::path::PathBuf;

use super::SuiteError;
use crate::errors::SchemaError;
use crate::hooks::HookPolicy;
use crate::launch::LaunchFlags;
use crate::outcome::CheckName;
use crate::scenario::load::{Step, StepKind};
use crate::scenario::{Scenario, TargetName};
use crate::schema::compat::{
    self, Compatibility, Requirements, HOOK_NOTIFICATIONS, HOOK_SETUP_REQUESTS,
};
use crate::schema::diff::MethodRef;
use crate::schema::Surface;
use crate::target::TargetEnv;

/// A codex refused because it lacks what the selected scenarios rely on.
#[derive(Debug, Clone)]
pub struct Incompatible {
    /// The codex binary.
    pub bin: PathBuf,
    /// Its version.
    pub codex_version: String,
    /// The verdict, with what is missing.
    pub compatibility: Compatibility,
}

impl Incompatible {
    /// The JSON document `cas conformance --json` prints for the refusal.
    pub fn to_json(&self) -> Value {
        let mut doc = json!({"schemaVersion": 1, "check": "conformance", "ok": false,
            "codex": {"path": self.bin, "version": self.codex_version}});
        if let (Some(d), Ok(Value::Object(v))) = (
            doc.as_object_mut(),
            serde_json::to_value(&self.compatibility),
        ) {
            d.extend(v);
        }
        doc
    }
}

impl std::fmt::Display for Incompatible {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let missing: Vec<String> = self
            .compatibility
            .missing
            .iter()
            .map(|m| format!("{} {}", m.kind, m.method))
            .collect();
        write!(
            f,
            "codex {} lacks what the selected scenarios rely on: {} (compatibilityVerdict: incompatible)",
            self.codex_version,
            missing.join(", ")
        )
    }
}

/// What a scenario relies on that a codex may lack, derived from its steps and `requires`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReliesOn {
    /// Methods and notifications, by kind.
    pub methods: Vec<MethodRef>,
    /// Names from `requires`: a method of any direction, a launch flag (`--disable`), or a
    /// lowest codex version for a behaviour no method names (`codex >= 0.131.0`).
    pub named: Vec<String>,
    /// Whether it turns hooks off (which needs `--disable`).
    pub hooks_off: bool,
}

/// What `scenario` relies on: each request it expects a result from, each notification it
/// sends, waits for or drains, each server request it answers (one by one or with
/// `answer_all`), the hook surface it uses, and `requires`.
pub fn relies_on(scenario: &Scenario) -> ReliesOn {
    let mut methods = Vec::new();
    let mut push = |kind: &'static str, method: &str| {
        methods.push(MethodRef {
            kind,
            method: method.to_owned(),
        })
    };
    for m in scenario.methods_expecting_results() {
        push("clientRequest", m);
    }
    walk_steps(&scenario.steps, &mut push);
    if scenario.hooks_config.is_some() {
        for m in HOOK_SETUP_REQUESTS {
            push("clientRequest", m);
        }
    }
    if scenario.hook_policy != HookPolicy::Inherit {
        for m in HOOK_NOTIFICATIONS {
            push("serverNotification", m);
        }
    }
    methods.sort();
    methods.dedup();
    ReliesOn {
        methods,
        named: scenario.requires.clone(),
        hooks_off: scenario.hook_policy == HookPolicy::Off,
    }
}

/// The notifications and server requests named by `steps`, parallel branches included.
fn walk_steps(steps: &[Step], push: &mut impl FnMut(&'static str, &str)) {
    for step in steps {
        match &step.kind {
            StepKind::Notify(n) => push("clientNotification", &n.method),
            StepKind::AwaitNotification(n) => push("serverNotification", &n.method),
            StepKind::AwaitRequest(r) => push("serverRequest", &r.method),
            StepKind::AnswerAll(r) => push("serverRequest", &r.method),
            StepKind::Drain { spec, .. } => push("serverNotification", &spec.method),
            StepKind::Parallel { steps, .. } => walk_steps(steps, push),
            _ => {}
        }
    }
}

/// Why a scenario was not run on this codex: what it relies on and the codex lacks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NotApplicable {
    /// The codex version.
    pub codex_version: String,
    /// Each missing method (`clientRequest turn/steer`) or launch flag (`launchFlag --disable`).
    pub missing: Vec<String>,
}

impl NotApplicable {
    /// The reason in one line: `codex 0.118.0 lacks clientRequest hooks/list`.
    pub fn reason(&self) -> String {
        format!(
            "codex {} lacks {}",
            self.codex_version,
            self.missing.join(", ")
        )
    }
}

/// Whether `scenario` can run on a codex with `surface` and launch `flags`, on `target`.
pub fn applicability(
    surface: &Surface,
    flags: &LaunchFlags,
    scenario: &Scenario,
    target: TargetName,
) -> Option<NotApplicable> {
    applicability_of(surface, flags, &relies_on(scenario), target)
}

/// Whether a scenario relying on `needs` can run on a codex with `surface` and launch `flags`,
/// on `target`.
pub fn applicability_of(
    surface: &Surface,
    flags: &LaunchFlags,
    needs: &ReliesOn,
    target: TargetName,
) -> Option<NotApplicable> {
    let mut missing: Vec<String> = needs
        .methods
        .iter()
        .filter(|m| !surface.has(m.kind, &m.method))
        .map(|m| format!("{} {}", m.kind, m.method))
        .collect();
    for name in &needs.named {
        if let Some(min) = name.strip_prefix("codex >=") {
            if older(&surface.codex_version, min.trim()) {
                missing.push(format!("codex >= {}", min.trim()));
            }
            continue;
        }
        let present = if name.starts_with('-') {
            flags.listed().contains(&name.as_str())
        } else {
            KINDS.iter().any(|kind| surface.has(kind, name))
        };
        if !present {
            missing.push(if name.starts_with('-') {
                format!("launchFlag {name}")
            } else {
                name.clone()
            });
        }
    }
    if needs.hooks_off && !flags.disable {
        missing.push("launchFlag --disable".into());
    }
    if target == TargetName::CodexWs {
        missing.extend(flags.websocket_missing().map(|f| format!("launchFlag {f}")));
    }
    missing.dedup();
    (!missing.is_empty()).then(|| NotApplicable {
        codex_version: surface.codex_version.clone(),
        missing,
    })
}

/// Whether version `a` is older than `b` (dotted numbers; a part that is not a number counts 0).
fn older(a: &str, b: &str) -> bool {
    let parts = |v: &str| -> Vec<u64> { v.split('.').map(|p| p.parse().unwrap_or(0)).collect() };
    parts(a) < parts(b)
}

const KINDS: [&str; 4] = [
    "clientRequest",
    "clientNotification",
    "serverRequest",
    "serverNotification",
];

/// The codex a suite runs on: its binary, version, surface and launch flags.
pub struct SuiteCodex {
    /// The codex binary.
    pub bin: PathBuf,
    /// Its version.
    pub version: String,
    /// Its protocol surface.
    pub surface: Surface,
    /// Its app-server launch flags.
    pub flags: LaunchFlags,
}

/// Asks the codex at `bin` its version and reads its surface (cached) and launch flags.
pub async fn probe_surface(bin: PathBuf) -> Result<SuiteCodex, SchemaError> {
    let scratch = crate::launch::paths::homes_dir().join("schema");
    let _ = std::fs::create_dir_all(&scratch);
    let version = crate::launch::codex_version(&bin, &scratch).await?;
    let surface =
        compat::surface_for(&bin, &version, &compat::default_cache_dir(), &scratch).await?;
    let flags = compat::launch_flags(Some(&surface), &bin, &scratch).await?;
    Ok(SuiteCodex {
        bin,
        version: surface.codex_version.clone(),
        surface,
        flags,
    })
}

/// Resolves the codex, refuses one that lacks even the handshake, and returns it (if found).
pub async fn check_compatibility(env: &TargetEnv) -> Result<Option<SuiteCodex>, SuiteError> {
    let Ok(bin) = env.codex.resolve() else {
        return Ok(None);
    };
    let codex = match probe_surface(bin.clone()).await {
        Ok(codex) => codex,
        Err(source) => return Err(SuiteError::Surface { bin, source }),
    };
    let compatibility = compat::check(
        &codex.surface,
        &Requirements::of(CheckName::Conformance, None),
    );
    if !compatibility.is_compatible() {
        return Err(SuiteError::Incompatible(Box::new(Incompatible {
            bin: codex.bin,
            codex_version: codex.surface.codex_version,
            compatibility,
        })));
    }
    Ok(Some(codex))
}

#[cfg(test)]
mod tests;
