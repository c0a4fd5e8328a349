//! Turning the shared runtime flags into a ready [`Launcher`], for the control lanes.
//!
//! Resolves codex (and asks its version), or reads the `--url` token; sets up hermetic homes
//! or seeded user homes; and checks the codex's protocol surface for what the command relies
//! on. Anything wrong here is a usage or setup problem, and an incompatible codex is refused:
//! exit 2 either way.

use serde_json::{json, Value};
use std::path::PathBuf;

use super::args::RuntimeArgs;
use crate::hermetic;
use crate::hooks::HookPolicy;
use crate::instances::{user_codex_home, HomesSetup, Launcher, Source, Transport};
use crate::launch::{self, CodexLocator};
use crate::schema::compat::{self, Requirements};

/// From this many hermetic instances on, a template home initialised once and copied pays
/// for itself; below it every instance initialises its own fresh home.
pub const TEMPLATE_MIN_INSTANCES: usize = 4;

/// A prepared runtime and what the output says about it.
pub struct Runtime {
    /// Starts instances.
    pub launcher: Launcher,
    /// `{path, version}` of the codex used, or null with `--url`.
    pub codex: Value,
    /// stdio or ws.
    pub transport: Transport,
    /// Whether homes are hermetic.
    pub hermetic: bool,
    /// The server and thread cwd.
    pub cwd: PathBuf,
    /// The compatibility verdict for the command (`compatible`, `incompatible`, or `unchecked`
    /// for a `--url` server), with what is missing; `failureCode: hooks_unsupported` when the
    /// codex cannot honour the hook policy.
    pub compatibility: Value,
    /// What cas could not do about the hook policy, said instead of pretended.
    pub hooks_note: Option<String>,
}

impl Runtime {
    /// Whether the codex lacks something the command relies on.
    pub fn incompatible(&self) -> bool {
        self.compatibility["compatibilityVerdict"] == "incompatible"
    }

    /// Reports an incompatible codex (JSON on stdout with `--json`, else a line on stderr); exit 2.
    pub fn refuse(&self, check: &str, json_output: bool) -> std::process::ExitCode {
        let missing: Vec<String> = self.compatibility["missing"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|m| {
                format!(
                    "{} {}",
                    m["kind"].as_str().unwrap_or("?"),
                    m["method"].as_str().unwrap_or("?")
                )
            })
            .collect();
        if json_output {
            let mut doc =
                json!({"schemaVersion": 1, "check": check, "ok": false, "codex": self.codex});
            if let (Some(d), Some(c)) = (doc.as_object_mut(), self.compatibility.as_object()) {
                d.extend(c.clone());
            }
            super::output::print_stdout(&super::output::pretty(&doc));
        }
        match self.compatibility["failureHint"].as_str() {
            Some(hint) => eprintln!("cas: {hint} (failureCode: hooks_unsupported)"),
            None => eprintln!(
                "cas: codex {} lacks what {check} relies on: {} (compatibilityVerdict: incompatible)",
                self.codex["version"].as_str().unwrap_or("?"),
                missing.join(", ")
            ),
        }
        std::process::ExitCode::from(2)
    }
}

/// What a control lane relies on, given its flags (experimental opt-in, hooks).
pub fn requirements(args: &RuntimeArgs, command: &str, method: Option<&str>) -> Requirements {
    let mut needs = Requirements::of(command, method);
    needs.experimental_api = args.experimental_api;
    if args.hooks_config.is_some() {
        needs = needs.with_hook_setup();
    }
    needs
}

/// The hook policy actually in force: `off` cannot be applied to a `--url` server cas does not
/// own (the output says so in `hooksNote`), so there it is observed as `inherit`.
pub fn effective_hook_policy(args: &RuntimeArgs) -> HookPolicy {
    match (args.hooks, &args.url) {
        (HookPolicy::Off, Some(_)) => HookPolicy::Inherit,
        (policy, _) => policy,
    }
}

/// A hook observer logging to `$XDG_STATE_HOME/cas/hook-logs/<check>-<ms>-<pid>.ndjson`.
pub fn hook_observer(check: &str) -> std::sync::Arc<crate::hooks::HookObserver> {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0);
    let dir = hermetic::default_root()
        .parent()
        .map(|p| p.join("hook-logs"))
        .unwrap_or_else(|| PathBuf::from("hook-logs"));
    let path = dir.join(format!("{check}-{ms}-{}.ndjson", std::process::id()));
    std::sync::Arc::new(crate::hooks::HookObserver::new(path))
}

/// The `--cwd` flag made absolute (it must exist), else the current directory.
pub fn resolve_cwd(flag: Option<&std::path::Path>) -> Result<PathBuf, String> {
    match flag {
        Some(dir) => dir
            .canonicalize()
            .map_err(|e| format!("--cwd {}: {e}", dir.display())),
        None => std::env::current_dir().map_err(|e| format!("current directory: {e}")),
    }
}

/// Prepares the runtime the flags describe; `as_is` uses the user's CODEX_HOME itself
/// (smoke_check) instead of isolated copies of its config (the fanout lanes).
pub async fn prepare(
    args: &RuntimeArgs,
    state_dir: Option<PathBuf>,
    instances: usize,
    as_is: bool,
    needs: &Requirements,
) -> Result<Runtime, String> {
    let cwd = resolve_cwd(args.cwd.as_deref())?;
    if let Some(url) = &args.url {
        if state_dir.is_some() {
            return Err(
                "--state-dir needs a server cas starts; it does not apply with --url".into(),
            );
        }
        if !url.starts_with("ws://") && !url.starts_with("wss://") {
            return Err(format!("--url {url:?} is not a ws:// URL"));
        }
        let token = match &args.token_file {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| format!("--token-file {}: {e}", path.display()))?;
                Some(text.trim().to_owned())
                    .filter(|t| !t.is_empty())
                    .ok_or("--token-file is empty")?
                    .into()
            }
            None => None,
        };
        let launcher = Launcher::prepare(Source::Url {
            url: url.clone(),
            token,
        })
        .await
        .map_err(|e| e.to_string())?;
        return Ok(Runtime {
            launcher,
            codex: Value::Null,
            transport: Transport::Ws,
            hermetic: false,
            cwd,
            compatibility: json!({"compatibilityVerdict": "unchecked", "missing": []}),
            hooks_note: (args.hooks == HookPolicy::Off).then(|| {
                "--hooks off is not applied: cas does not control a --url server".to_owned()
            }),
        });
    }
    let bin = CodexLocator::from_env(args.codex_bin.clone())
        .resolve()
        .map_err(|e| e.to_string())?;
    let scratch = hermetic::default_root();
    let version_home = if args.hermetic {
        scratch.join("version-probe")
    } else {
        user_codex_home()
    };
    std::fs::create_dir_all(&version_home)
        .map_err(|e| format!("{}: {e}", version_home.display()))?;
    let hooks = match &args.hooks_config {
        Some(path) => Some(
            crate::hooks::read_config(path)
                .map_err(|e| format!("--hooks-config {}: {e}", path.display()))?,
        ),
        None => None,
    };
    let disable = match args.hooks {
        HookPolicy::Off => disable_args(&bin, &version_home).await,
        _ => Ok(Vec::new()),
    };
    let (extra_args, mut hooks_unsupported) = match disable {
        Ok(extra) => (extra, None),
        Err(why) => (Vec::new(), Some(why)),
    };
    let source = Source::Codex {
        bin: bin.clone(),
        transport: args.transport,
        cwd: cwd.clone(),
        extra_args,
        hooks,
        state_dir,
        scratch,
        homes: match (args.hermetic, instances >= TEMPLATE_MIN_INSTANCES) {
            (true, true) => HomesSetup::Hermetic,
            (true, false) => HomesSetup::HermeticFresh,
            (false, _) if as_is => HomesSetup::UserHomeAsIs,
            (false, _) => HomesSetup::UserRuntime,
        },
    };
    // The version probe and compatibility check overlap the shared setup (mock model, template).
    let surface_scratch = hermetic::default_root().join("schema");
    let verdict = async {
        let version = launch::codex_version(&bin, &version_home)
            .await
            .map_err(|e| e.to_string())?;
        std::fs::create_dir_all(&surface_scratch)
            .map_err(|e| format!("{}: {e}", surface_scratch.display()))?;
        let surface = compat::surface_for(
            &bin,
            &version,
            &compat::default_cache_dir(),
            &surface_scratch,
        )
        .await
        .map_err(|e| format!("the protocol surface of {}: {e}", bin.display()))?;
        let has_hook_notes = ["hook/started", "hook/completed"]
            .iter()
            .all(|m| surface.server_notifications.iter().any(|n| n.method == *m));
        Ok::<_, String>((version, compat::check(&surface, needs), has_hook_notes))
    };
    let (verdict, launcher) = tokio::join!(verdict, Launcher::prepare(source));
    let (version, compatibility, has_hook_notes) = verdict?;
    let launcher = launcher.map_err(|e| e.to_string())?;
    if args.hooks != HookPolicy::Inherit && !has_hook_notes {
        hooks_unsupported.get_or_insert(format!(
            "codex {version} sends no hook/started or hook/completed notifications"
        ));
    }
    let mut compatibility = serde_json::to_value(compatibility).unwrap_or_default();
    if let Some(why) = hooks_unsupported {
        compatibility["compatibilityVerdict"] = json!("incompatible");
        compatibility["failureCode"] = json!("hooks_unsupported");
        compatibility["failureHint"] = json!(format!("--hooks {}: {why}", args.hooks.as_str()));
    }
    Ok(Runtime {
        launcher,
        codex: json!({"path": bin, "version": version}),
        transport: args.transport,
        hermetic: args.hermetic,
        cwd,
        compatibility,
        hooks_note: None,
    })
}

/// `--disable <feature>` for the hooks feature under the name this codex knows, after checking
/// that its app-server takes `--disable` at all.
pub async fn disable_args(
    bin: &std::path::Path,
    codex_home: &std::path::Path,
) -> Result<Vec<String>, String> {
    let mut help = tokio::process::Command::new(bin);
    help.args(["app-server", "--help"])
        .env("CODEX_HOME", codex_home)
        .kill_on_drop(true);
    let output = tokio::time::timeout(std::time::Duration::from_secs(20), help.output())
        .await
        .map_err(|_| "`codex app-server --help` did not answer".to_owned())?
        .map_err(|e| format!("`codex app-server --help`: {e}"))?;
    if !String::from_utf8_lossy(&output.stdout).contains("--disable") {
        return Err("its app-server has no --disable flag".into());
    }
    match crate::hooks::feature_name(bin, codex_home).await {
        Some(name) => Ok(vec!["--disable".into(), name.into()]),
        None => Err("`codex features list` knows neither `hooks` nor `codex_hooks`".into()),
    }
}
