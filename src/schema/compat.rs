//! Whether a codex has what a cas command relies on, decided before the command drives it.
//!
//! Each command names the methods and notifications it needs; they are looked up in the
//! codex's surface, generated once per binary and cached by path, version, size and mtime (a
//! cheap stand-in for a content digest of a 300 MB binary). A missing one makes the command
//! stop with `compatibilityVerdict: "incompatible"` and the list, instead of failing later
//! with a confusing transport error. Server requests the surface has and cas has no named
//! answer for are listed too: cas refuses them, which may stall a turn.

use serde::Serialize;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

use super::diff::MethodRef;
use super::surface::{self, Surface};
use crate::errors::{LaunchError, SchemaError};
use crate::launch::{self, LaunchFlags};
use crate::outcome::CheckName;
use crate::outcome::{CompatibilityVerdict, FailureCode};
use crate::policy::ANSWERED_SERVER_REQUESTS;

/// The client requests the smoke check sends after the handshake, in the order it names them.
pub const SMOKE_METHODS: [&str; 6] = [
    "experimentalFeature/list",
    "thread/start",
    "thread/resume",
    "turn/start",
    "turn/steer",
    "turn/interrupt",
];

/// The client requests a review lane sends (for the compatibility verdict). `thread/turns/list`
/// is not among them: the lane asks it only to vet a parent for reuse, and a codex without it
/// (0.118.x) still runs reviews on a fresh thread.
pub const REVIEW_METHODS: &[&str] = &[
    "thread/start",
    "thread/resume",
    "review/start",
    "turn/interrupt",
];

/// The client requests installing and trusting hooks sends (`--hooks-config`).
pub const HOOK_SETUP_REQUESTS: [&str; 2] = ["hooks/list", "config/batchWrite"];

/// The server notifications observing hooks waits for (a hook policy other than `inherit`).
pub const HOOK_NOTIFICATIONS: [&str; 2] = ["hook/started", "hook/completed"];

/// What one command relies on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Requirements {
    /// Client requests it sends.
    pub client_requests: Vec<String>,
    /// Client notifications it sends.
    pub client_notifications: Vec<String>,
    /// Server notifications it waits for.
    pub server_notifications: Vec<String>,
    /// Whether it opts into `experimentalApi`; if not, an experimental-only method is missing.
    pub experimental_api: bool,
    /// Client requests sent as ad-hoc probes (`request --method`): a missing one is listed in
    /// [`Compatibility::unlisted`] and warned about, never a reason to call the codex incompatible.
    pub probes: Vec<String>,
}

impl Requirements {
    /// What `command` relies on; `method` is the method of `request` / `instance_runner`.
    pub fn of(command: CheckName, method: Option<&str>) -> Requirements {
        let mut r = Requirements {
            client_requests: vec!["initialize".into()],
            client_notifications: vec!["initialized".into()],
            server_notifications: Vec::new(),
            experimental_api: false,
            probes: Vec::new(),
        };
        match command {
            CheckName::SmokeCheck => {
                r.client_requests.extend(SMOKE_METHODS.map(str::to_owned));
                r.server_notifications = vec![
                    "turn/started".into(),
                    "turn/completed".into(),
                    "item/completed".into(),
                ];
            }
            CheckName::Request | CheckName::InstanceRunner => {
                r.probes.extend(method.map(str::to_owned))
            }
            CheckName::ReviewSession => {
                r.client_requests
                    .extend(REVIEW_METHODS.iter().map(|m| (*m).to_owned()));
                r.server_notifications = ["turn/started", "turn/completed", "item/started"]
                    .map(str::to_owned)
                    .to_vec();
            }
            CheckName::Conformance => {}
        }
        r
    }

    /// Adds what installing and trusting hooks needs (`--hooks-config`).
    pub fn with_hook_setup(mut self) -> Requirements {
        self.client_requests
            .extend(HOOK_SETUP_REQUESTS.map(str::to_owned));
        self
    }

    /// Adds what observing hooks needs (a policy other than `inherit`).
    pub fn with_hook_notifications(mut self) -> Requirements {
        self.server_notifications
            .extend(HOOK_NOTIFICATIONS.map(str::to_owned));
        self
    }
}

/// The verdict for one command on one codex.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Compatibility {
    /// Whether the codex has what the command relies on (`unchecked` for a `--url` server).
    #[serde(rename = "compatibilityVerdict")]
    pub verdict: CompatibilityVerdict,
    /// What the command relies on and the codex lacks.
    pub missing: Vec<MethodRef>,
    /// Server requests of this codex that cas has no named answer for (it refuses them);
    /// absent when the surface was not checked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unanswered_server_requests: Option<Vec<String>>,
    /// Why the command cannot run although nothing is missing (`hooks_unsupported`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure_code: Option<FailureCode>,
    /// What the failure code means here, in a sentence.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure_hint: Option<String>,
    /// Probed methods the codex's schema does not list (sent anyway; see `Requirements::probes`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unlisted: Vec<String>,
}

impl Compatibility {
    /// The verdict for a server cas does not control: nothing checked, nothing missing.
    pub fn unchecked() -> Compatibility {
        Compatibility {
            verdict: CompatibilityVerdict::Unchecked,
            missing: Vec::new(),
            unanswered_server_requests: None,
            failure_code: None,
            failure_hint: None,
            unlisted: Vec::new(),
        }
    }

    /// Whether the command can run.
    pub fn is_compatible(&self) -> bool {
        self.missing.is_empty()
    }

    /// Marks the codex as unable to honour the hook policy, with why.
    pub fn refuse_hooks(&mut self, hint: String) {
        self.verdict = CompatibilityVerdict::Incompatible;
        self.failure_code = Some(FailureCode::HooksUnsupported);
        self.failure_hint = Some(hint);
    }
}

/// The snake_case name of a verdict, as reports spell it.
pub fn verdict_name(verdict: CompatibilityVerdict) -> &'static str {
    match verdict {
        CompatibilityVerdict::Compatible => "compatible",
        CompatibilityVerdict::Incompatible => "incompatible",
        CompatibilityVerdict::Unchecked => "unchecked",
    }
}

/// Checks `needs` against `surface`.
pub fn check(surface: &Surface, needs: &Requirements) -> Compatibility {
    let mut missing = Vec::new();
    let mut need = |kind: &'static str, methods: &[String]| {
        for m in methods.iter().filter(|m| !surface.has(kind, m)) {
            missing.push(MethodRef {
                kind,
                method: m.clone(),
            });
        }
    };
    need("clientRequest", &needs.client_requests);
    need("clientNotification", &needs.client_notifications);
    need("serverNotification", &needs.server_notifications);
    let unanswered = surface
        .server_requests
        .iter()
        .map(|r| r.method.clone())
        .filter(|m| !ANSWERED_SERVER_REQUESTS.contains(&m.as_str()))
        .collect();
    Compatibility {
        verdict: if missing.is_empty() {
            CompatibilityVerdict::Compatible
        } else {
            CompatibilityVerdict::Incompatible
        },
        missing,
        unanswered_server_requests: Some(unanswered),
        failure_code: None,
        failure_hint: None,
        unlisted: needs
            .probes
            .iter()
            .filter(|m| surface.client_request(m).is_none())
            .cloned()
            .collect(),
    }
}

/// Where cached surfaces live: `$XDG_CACHE_HOME/cas/surfaces`, else `~/.cache/cas/surfaces`.
pub fn default_cache_dir() -> PathBuf {
    crate::launch::paths::cache_dir()
        .unwrap_or_else(|| PathBuf::from(".cas/cache/cas"))
        .join("surfaces")
}

/// The cache key of a binary: path, version, size and modification time.
fn cache_key(bin: &Path, version: &str) -> String {
    let meta = std::fs::metadata(bin).ok();
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    bin.canonicalize()
        .unwrap_or_else(|_| bin.to_owned())
        .hash(&mut hasher);
    version.hash(&mut hasher);
    env!("CARGO_PKG_VERSION").hash(&mut hasher);
    surface::SURFACE_VERSION.hash(&mut hasher);
    meta.as_ref().map(|m| m.len()).hash(&mut hasher);
    meta.and_then(|m| m.modified().ok()).hash(&mut hasher);
    format!("{version}-{:016x}", hasher.finish())
}

/// The surface of `bin` kept in the cache, if it is there (and of this surface version).
pub fn cached_surface(bin: &Path, version: &str, cache_dir: &Path) -> Option<Surface> {
    let text = std::fs::read_to_string(cache_path(bin, version, cache_dir)).ok()?;
    serde_json::from_str::<Surface>(&text)
        .ok()
        .filter(|cached| cached.surface_version == surface::SURFACE_VERSION)
}

fn cache_path(bin: &Path, version: &str, cache_dir: &Path) -> PathBuf {
    cache_dir.join(format!("{}.json", cache_key(bin, version)))
}

/// The surface of `bin`, from the cache when it is there, else generated and cached.
pub async fn surface_for(
    bin: &Path,
    version: &str,
    cache_dir: &Path,
    scratch: &Path,
) -> Result<Surface, SchemaError> {
    if let Some(cached) = cached_surface(bin, version, cache_dir) {
        return Ok(cached);
    }
    let fresh = surface::generate(bin, version, scratch).await?;
    let path = cache_path(bin, version, cache_dir);
    // A cache that cannot be written only costs the next run the generation again.
    let _ = write_atomically(&path, &serde_json::to_string(&fresh).unwrap_or_default());
    Ok(fresh)
}

/// The launch flags of `bin`: those `surface` keeps (remembered for the rest of the process),
/// else asked of the binary with `codex_home` as CODEX_HOME, once per process.
pub async fn launch_flags(
    surface: Option<&Surface>,
    bin: &Path,
    codex_home: &Path,
) -> Result<LaunchFlags, LaunchError> {
    match surface.and_then(|s| s.launch_flags) {
        Some(flags) => {
            launch::flags::remember(bin, flags);
            Ok(flags)
        }
        None => launch::flags::probe_cached(bin, codex_home).await,
    }
}

fn write_atomically(path: &Path, text: &str) -> std::io::Result<()> {
    let dir = path
        .parent()
        .ok_or_else(|| std::io::Error::other("no parent"))?;
    std::fs::create_dir_all(dir)?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    std::io::Write::write_all(&mut tmp, text.as_bytes())?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map(|_| ()).map_err(|e| e.error)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::surface::SURFACE_VERSION;

    fn surface(client: &[&str], server_requests: &[&str]) -> Surface {
        let notes = ["turn/started", "turn/completed", "item/completed"];
        Surface::of_methods("x", client, server_requests, &notes)
    }

    #[test]
    fn names_what_a_command_relies_on_and_lacks() {
        let mut all = vec!["initialize"];
        all.extend(SMOKE_METHODS);
        let s = surface(&all, &["item/tool/call", "item/new/ask"]);
        let ok = check(&s, &Requirements::of(CheckName::SmokeCheck, None));
        assert_eq!(ok.verdict, CompatibilityVerdict::Compatible);
        assert_eq!(
            ok.unanswered_server_requests,
            Some(vec!["item/new/ask".to_owned()])
        );
        let without_steer = surface(&["initialize", "thread/start"], &[]);
        let bad = check(
            &without_steer,
            &Requirements::of(CheckName::SmokeCheck, None),
        );
        assert_eq!(bad.verdict, CompatibilityVerdict::Incompatible);
        assert!(bad.missing.contains(&MethodRef {
            kind: "clientRequest",
            method: "turn/steer".into()
        }));
        let req = check(
            &without_steer,
            &Requirements::of(CheckName::Request, Some("thread/list")),
        );
        // A probed method the schema lacks is warned about, not a reason to refuse.
        assert_eq!(req.verdict, CompatibilityVerdict::Compatible);
        assert!(req.missing.is_empty());
        assert_eq!(req.unlisted, ["thread/list"]);
        let listed = check(
            &s,
            &Requirements::of(CheckName::Request, Some("thread/start")),
        );
        assert!(listed.unlisted.is_empty());
    }

    #[tokio::test]
    async fn launch_flags_kept_in_a_surface_are_used_and_remembered() {
        let dir = tempfile::tempdir().unwrap();
        // No such binary: asking it would fail, so the flags must come from the surface.
        let bin = dir.path().join("no-codex");
        let kept = LaunchFlags {
            disable: true,
            ..LaunchFlags::default()
        };
        let with = Surface {
            launch_flags: Some(kept),
            ..surface(&[], &[])
        };
        let flags = launch_flags(Some(&with), &bin, dir.path()).await.unwrap();
        assert_eq!(flags, kept);
        let again = launch::flags::probe_cached(&bin, dir.path()).await.unwrap();
        assert_eq!(again, kept);
        let other = dir.path().join("other-no-codex");
        assert!(launch_flags(Some(&surface(&[], &[])), &other, dir.path())
            .await
            .is_err());
    }

    #[test]
    fn a_cached_surface_is_read_back_only_at_this_surface_version() {
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("codex");
        std::fs::write(&bin, "x").unwrap();
        assert_eq!(cached_surface(&bin, "1", dir.path()), None);
        let kept = surface(&["initialize"], &[]);
        let path = cache_path(&bin, "1", dir.path());
        write_atomically(&path, &serde_json::to_string(&kept).unwrap()).unwrap();
        assert_eq!(cached_surface(&bin, "1", dir.path()), Some(kept.clone()));
        assert_eq!(cached_surface(&bin, "2", dir.path()), None);
        let old = Surface {
            surface_version: SURFACE_VERSION - 1,
            ..kept
        };
        write_atomically(&path, &serde_json::to_string(&old).unwrap()).unwrap();
        assert_eq!(cached_surface(&bin, "1", dir.path()), None);
    }

    #[test]
    fn the_cache_key_follows_path_and_version() {
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("codex");
        std::fs::write(&bin, "x").unwrap();
        assert_eq!(cache_key(&bin, "1"), cache_key(&bin, "1"));
        assert_ne!(cache_key(&bin, "1"), cache_key(&bin, "2"));
        assert_ne!(
            cache_key(&bin, "1"),
            cache_key(&dir.path().join("other"), "1")
        );
    }
}
