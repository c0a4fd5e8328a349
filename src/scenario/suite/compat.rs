//! Whether the codex has what the selected scenarios rely on, checked before any of them runs.
//!
//! A codex that lacks a method a selected scenario expects a result from is refused
//! ([`Incompatible`]). A codex that cannot be found is left to the runs, which report it as
//! verdicts with status error.

use serde_json::{json, Value};
use std::path::PathBuf;

use super::SuiteError;
use crate::hooks::HookPolicy;
use crate::outcome::CheckName;
use crate::scenario::Scenario;
use crate::schema::compat::{self, Compatibility, Requirements};
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

/// What the scenarios rely on: their result-bearing methods and the hook surface they use.
fn requirements(scenarios: &[&Scenario]) -> Requirements {
    let mut needs = Requirements::of(CheckName::Conformance, None);
    for scenario in scenarios {
        if scenario.hooks_config.is_some() {
            needs = needs.with_hook_setup();
        }
        if scenario.hook_policy != HookPolicy::Inherit {
            needs = needs.with_hook_notifications();
        }
        needs.client_requests.extend(
            scenario
                .methods_expecting_results()
                .into_iter()
                .map(str::to_owned),
        );
    }
    needs.client_requests.sort();
    needs.client_requests.dedup();
    needs
}

/// Refuses a codex that lacks what `scenarios` rely on and returns the codex used, if found.
pub(super) async fn check_compatibility(
    scenarios: &[&Scenario],
    env: &TargetEnv,
) -> Result<Option<(PathBuf, String)>, SuiteError> {
    let Ok(bin) = env.codex.resolve() else {
        return Ok(None);
    };
    let scratch = crate::launch::paths::homes_dir().join("schema");
    let _ = std::fs::create_dir_all(&scratch);
    let surface = async {
        let version = crate::launch::codex_version(&bin, &scratch).await?;
        compat::surface_for(&bin, &version, &compat::default_cache_dir(), &scratch).await
    };
    let surface = match surface.await {
        Ok(s) => s,
        Err(source) => return Err(SuiteError::Surface { bin, source }),
    };
    let compatibility = compat::check(&surface, &requirements(scenarios));
    if compatibility.is_compatible() {
        return Ok(Some((bin, surface.codex_version)));
    }
    Err(SuiteError::Incompatible(Box::new(Incompatible {
        bin,
        codex_version: surface.codex_version,
        compatibility,
    })))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcome::CompatibilityVerdict;
    use crate::schema::diff::MethodRef;

    #[test]
    fn a_refusal_names_what_is_missing_in_text_and_json() {
        let refusal = Incompatible {
            bin: PathBuf::from("/bin/codex"),
            codex_version: "0.1.0".into(),
            compatibility: Compatibility {
                verdict: CompatibilityVerdict::Incompatible,
                missing: vec![MethodRef {
                    kind: "clientRequest",
                    method: "thread/list".into(),
                }],
                unanswered_server_requests: Some(Vec::new()),
                failure_code: None,
                failure_hint: None,
                unlisted: Vec::new(),
            },
        };
        assert_eq!(
            refusal.to_string(),
            "codex 0.1.0 lacks what the selected scenarios rely on: clientRequest thread/list \
             (compatibilityVerdict: incompatible)"
        );
        assert_eq!(
            refusal.to_json(),
            json!({"schemaVersion": 1, "check": "conformance", "ok": false,
                "codex": {"path": "/bin/codex", "version": "0.1.0"},
                "compatibilityVerdict": "incompatible",
                "missing": [{"kind": "clientRequest", "method": "thread/list"}],
                "unansweredServerRequests": []})
        );
    }
}
