//! The request lane as a library function: params and policy checked, the runtime prepared,
//! the fanout run, hooks summarised, and one [`LaneReport`] made of it all.
//!
//! `cas request` and `cas instance_runner` are this lane with different instance and sample
//! counts; they only parse flags, call [`Lane::prepare`] and [`Lane::run`], and print. An
//! incompatible codex is not an error here: the prepared lane says so and the command refuses.

use serde::Serialize;
use serde_json::{json, Value};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use super::{FanoutPlan, FanoutReport};
use crate::errors::{RuntimeError, UsageError};
use crate::hooks::HookSummary;
use crate::outcome::{CheckName, CompatibilityVerdict};
use crate::resources::ProcessUsage;
use crate::runtime::{self, CodexInfo, Runtime, RuntimeConfig};
use crate::summary::millis;

/// Everything one lane run needs, as plain values.
#[derive(Debug, Clone)]
pub struct LaneConfig {
    /// The check reports carry: `request` or `instance_runner`.
    pub check: CheckName,
    /// Where the servers come from (its `instances` is the lane's instance count).
    pub runtime: RuntimeConfig,
    /// The params as given inline (a JSON object), if any.
    pub params_json: Option<Value>,
    /// A file holding the params as a JSON object, if any.
    pub params_file: Option<PathBuf>,
    /// What each instance does; its `params`, `instances` and `experimental_api` are filled in
    /// from the params above and the runtime config when the lane is prepared.
    pub plan: FanoutPlan,
}

/// A lane whose runtime is ready (or whose codex was found incompatible).
pub struct Lane {
    /// The prepared runtime.
    pub runtime: Runtime,
    config: LaneConfig,
    started: Instant,
    prepare: Duration,
    event_logs: Option<std::sync::Arc<crate::transcript::EventLogs>>,
}

/// The whole result of one lane, in the field order of the command's JSON.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LaneReport {
    /// Version of this document's shape.
    pub schema_version: u32,
    /// `request` or `instance_runner`.
    pub check: CheckName,
    /// Every instance started and answered, and hooks gave no failure.
    pub ok: bool,
    /// The first failure's code: a start failure's, a failed instance's, else the hooks'.
    pub failure_code: Option<crate::outcome::FailureCode>,
    /// The method called.
    pub method: String,
    /// The params sent.
    pub params: Value,
    /// The codex used, or null with `--url`.
    pub codex: Option<CodexInfo>,
    /// `stdio` or `ws`.
    pub transport: &'static str,
    /// Whether homes were hermetic.
    pub hermetic: bool,
    /// The compatibility verdict.
    pub compatibility_verdict: CompatibilityVerdict,
    /// The fanout itself (its `timingMs.total` is the whole lane's).
    #[serde(flatten)]
    pub fanout: FanoutReport,
    /// What the lane saw of hooks.
    pub hook_summary: HookSummary,
    /// What cas could not do about the hook policy.
    pub hooks_note: Option<String>,
    /// What cas itself cost.
    pub client: ProcessUsage,
}

impl Lane {
    /// Checks params and policy, then prepares the runtime.
    pub async fn prepare(config: LaneConfig) -> Result<Lane, RuntimeError> {
        let started = Instant::now();
        let mut config = config;
        config.plan.params = params_of(&config)?;
        config.plan.instances = config.runtime.instances;
        config.plan.experimental_api = config.runtime.experimental_api;
        config.plan.policy.validate().map_err(UsageError::from)?;
        let per_instance = config.check == CheckName::InstanceRunner;
        let event_logs = runtime::open_event_logs(&config.runtime, config.check, per_instance)?;
        let prepare_started = Instant::now();
        let needs = runtime::requirements(&config.runtime, config.check, Some(&config.plan.method));
        let runtime = runtime::prepare(&config.runtime, &needs).await?;
        Ok(Lane {
            runtime,
            config,
            started,
            prepare: prepare_started.elapsed(),
            event_logs,
        })
    }

    /// Runs the fanout; `progress(done, total)` is called as instances finish.
    pub async fn run(self, progress: &(dyn Fn(usize, usize) + Sync)) -> LaneReport {
        let Lane {
            runtime: mut rt,
            config,
            started,
            prepare,
            event_logs,
        } = self;
        runtime::attach_event_logs(&mut rt, event_logs.as_ref());
        let plan = config.plan;
        let observer = runtime::hook_observer(config.check);
        let mut fanout = super::run(&rt.launcher, &plan, progress, Some(observer.clone())).await;
        let hooks = observer.summary(runtime::effective_hook_policy(&config.runtime));
        let ok = fanout.ok() && hooks.failure_code.is_none();
        fanout.timing_ms.prepare = millis(prepare);
        drop(rt.launcher);
        fanout.timing_ms.total = millis(started.elapsed());
        tracing::debug!(check = config.check.as_str(), ok, "lane done");
        LaneReport {
            schema_version: 1,
            check: config.check,
            ok,
            failure_code: fanout.failure_code().or(hooks.failure_code),
            method: plan.method,
            params: plan.params,
            codex: rt.codex,
            transport: rt.transport.as_str(),
            hermetic: rt.hermetic,
            compatibility_verdict: rt.compatibility.verdict,
            fanout,
            hook_summary: hooks,
            hooks_note: rt.hooks_note,
            client: crate::resources::usage(),
        }
    }
}

/// The params: inline JSON, the params file, or the method's default.
fn params_of(config: &LaneConfig) -> Result<Value, UsageError> {
    if let Some(v) = &config.params_json {
        return Ok(v.clone());
    }
    if let Some(path) = &config.params_file {
        let text = std::fs::read_to_string(path).map_err(|source| UsageError::FlagPath {
            flag: "--params-file",
            path: path.clone(),
            source,
        })?;
        return parse_json_object(&text).map_err(|source| UsageError::FlagJson {
            flag: "--params-file",
            path: path.clone(),
            source,
        });
    }
    Ok(match config.plan.method.as_str() {
        "thread/list" => json!({"cursor": null, "limit": 1}),
        _ => json!({}),
    })
}

/// Parses text as a JSON object.
pub fn parse_json_object(text: &str) -> Result<Value, crate::errors::JsonObjectError> {
    let value: Value =
        serde_json::from_str(text).map_err(crate::errors::JsonObjectError::NotJson)?;
    if value.is_object() {
        Ok(value)
    } else {
        Err(crate::errors::JsonObjectError::NotObject(value))
    }
}
