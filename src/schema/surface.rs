//! The protocol surface of one codex: every method of every kind, reduced to what can drift.
//!
//! Made from `codex app-server generate-json-schema` (stable and `--experimental`): client
//! requests with their params and response types, whether `params` is mandatory and which params
//! fields are required; server requests with the response cas must send and its required fields;
//! both notification sets; and the variants of the enums cas answers with or reads. Sorted and
//! free of timestamps and paths, so two surfaces of the same codex are byte-identical.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Duration;
use tokio::process::Command;

use super::payload::{self, Defs, TypeShape};
use super::responses::{self, Request};
use crate::errors::SchemaError;

/// The version of this surface format (and of the reduction that makes it).
pub const SURFACE_VERSION: u32 = 3;

/// Enums whose variants cas sends or branches on; a variant added or removed here matters.
pub const WATCHED_ENUMS: &[&str] = &[
    "CommandExecutionApprovalDecision",
    "FileChangeApprovalDecision",
    "McpServerElicitationAction",
    "ReviewDecision",
    "HookRunStatus",
    "HookEventName",
    "ReviewTarget",
    "ReviewDelivery",
    "AskForApproval",
    "SandboxMode",
];

/// A request method (either direction).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestEntry {
    /// The method.
    pub method: String,
    /// The params type, if the method has params.
    pub params: Option<String>,
    /// Whether the `params` key must be present.
    pub params_mandatory: bool,
    /// The params type's required fields, sorted.
    pub required_fields: Vec<String>,
    /// Params fields that need `experimentalApi` (in the experimental schema only), sorted.
    #[serde(default)]
    pub experimental_fields: Vec<String>,
    /// The response type, if one is defined.
    pub response: Option<String>,
    /// The response type's required fields, sorted (what an answer must carry).
    pub response_required_fields: Vec<String>,
    /// Only with `experimentalApi`.
    pub experimental: bool,
}

/// A notification method (either direction).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NotificationEntry {
    /// The method.
    pub method: String,
    /// The params type, if any.
    pub params: Option<String>,
    /// Only with `experimentalApi`.
    pub experimental: bool,
}

impl RequestEntry {
    /// A stable request without params, fields or response (for hand-built surfaces).
    pub fn plain(method: impl Into<String>) -> RequestEntry {
        RequestEntry {
            method: method.into(),
            params: None,
            params_mandatory: false,
            required_fields: Vec::new(),
            experimental_fields: Vec::new(),
            response: None,
            response_required_fields: Vec::new(),
            experimental: false,
        }
    }
}

impl NotificationEntry {
    /// A stable notification without params (for hand-built surfaces).
    pub fn stable(method: impl Into<String>) -> NotificationEntry {
        NotificationEntry {
            method: method.into(),
            params: None,
            experimental: false,
        }
    }
}

/// The whole surface.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Surface {
    /// [`SURFACE_VERSION`].
    pub surface_version: u32,
    /// `codex --version`, e.g. `0.169.0`.
    pub codex_version: String,
    /// Client → server requests.
    pub client_requests: Vec<RequestEntry>,
    /// Server → client requests.
    pub server_requests: Vec<RequestEntry>,
    /// Server → client notifications.
    pub server_notifications: Vec<NotificationEntry>,
    /// Client → server notifications.
    pub client_notifications: Vec<NotificationEntry>,
    /// Variants of the watched enums, by type name.
    pub enums: BTreeMap<String, Vec<String>>,
    /// Whether experimental methods are included (`schema surface --experimental`).
    #[serde(default = "included")]
    pub experimental_included: bool,
    /// The `app-server` launch flags this codex lists (absent for a surface read from files).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub launch_flags: Option<crate::launch::LaunchFlags>,
    /// Every payload type a method reaches, by name (what `schema diff` descends into).
    #[serde(default)]
    pub types: BTreeMap<String, TypeShape>,
}

fn included() -> bool {
    true
}

impl Surface {
    /// The same surface without experimental methods.
    pub fn stable_only(mut self) -> Surface {
        for shape in self.types.values_mut() {
            shape.fields.retain(|_, f| !f.experimental);
            shape.variants.retain(|_, v| !v.experimental);
            for v in shape.variants.values_mut() {
                v.fields.retain(|_, f| !f.experimental);
            }
        }
        self.types.retain(|_, t| !t.experimental);
        self.client_requests.retain(|r| !r.experimental);
        self.server_requests.retain(|r| !r.experimental);
        self.server_notifications.retain(|n| !n.experimental);
        self.client_notifications.retain(|n| !n.experimental);
        self.experimental_included = false;
        self
    }

    /// The type names every method's params, response and notification params start from.
    pub fn payload_roots(&self) -> Vec<String> {
        let requests = self.client_requests.iter().chain(&self.server_requests);
        let notes = self
            .server_notifications
            .iter()
            .chain(&self.client_notifications);
        requests
            .flat_map(|r| [r.params.clone(), r.response.clone()])
            .chain(notes.map(|n| n.params.clone()))
            .flatten()
            .collect()
    }

    /// The client request `method`, if the surface has it.
    pub fn client_request(&self, method: &str) -> Option<&RequestEntry> {
        self.client_requests.iter().find(|r| r.method == method)
    }

    /// Whether the surface has `method` of `kind` (`clientRequest`, `serverRequest`,
    /// `serverNotification` or `clientNotification`; any other kind it has not).
    pub fn has(&self, kind: &str, method: &str) -> bool {
        let note = |notes: &[NotificationEntry]| notes.iter().any(|n| n.method == method);
        match kind {
            "clientRequest" => self.client_request(method).is_some(),
            "serverRequest" => self.server_requests.iter().any(|r| r.method == method),
            "serverNotification" => note(&self.server_notifications),
            "clientNotification" => note(&self.client_notifications),
            _ => false,
        }
    }
}

#[cfg(test)]
impl Surface {
    /// A stable surface of codex `version` with plain `client` and `server` requests, the server
    /// notifications `notes` and the `initialized` client notification (for unit tests).
    pub(crate) fn of_methods(
        version: &str,
        client: &[&str],
        server: &[&str],
        notes: &[&str],
    ) -> Surface {
        let requests = |methods: &[&str]| methods.iter().map(|m| RequestEntry::plain(*m)).collect();
        Surface {
            surface_version: SURFACE_VERSION,
            codex_version: version.into(),
            client_requests: requests(client),
            server_requests: requests(server),
            server_notifications: notes
                .iter()
                .map(|m| NotificationEntry::stable(*m))
                .collect(),
            client_notifications: vec![NotificationEntry::stable("initialized")],
            experimental_included: true,
            ..Default::default()
        }
    }
}

/// Runs the codex at `bin` (with a throwaway CODEX_HOME under `scratch`) and reduces its schema.
pub async fn generate(bin: &Path, version: &str, scratch: &Path) -> Result<Surface, SchemaError> {
    std::fs::create_dir_all(scratch).map_err(|source| SchemaError::Io {
        path: scratch.to_owned(),
        source,
    })?;
    let dir = tempfile::Builder::new()
        .prefix("schema-")
        .tempdir_in(scratch)
        .map_err(|source| SchemaError::TempDir {
            parent: scratch.to_owned(),
            source,
        })?;
    let home = dir.path().join("home");
    std::fs::create_dir_all(&home).map_err(SchemaError::Home)?;
    for (sub, experimental) in [("plain", false), ("experimental", true)] {
        let mut command = Command::new(bin);
        command
            .args(["app-server", "generate-json-schema", "--out"])
            .arg(dir.path().join(sub))
            .env("CODEX_HOME", &home)
            .kill_on_drop(true);
        if experimental {
            command.arg("--experimental");
        }
        let output = tokio::time::timeout(Duration::from_secs(60), command.output())
            .await
            .map_err(|_| SchemaError::Timeout)?
            .map_err(SchemaError::Spawn)?;
        if !output.status.success() {
            let stderr = String::from_utf8_lossy(&output.stderr);
            return Err(SchemaError::Failed {
                status: output.status,
                stderr: stderr.trim().to_owned(),
            });
        }
    }
    let mut surface = from_schema_dirs(
        &dir.path().join("plain"),
        &dir.path().join("experimental"),
        version,
    )?;
    surface.launch_flags = Some(crate::launch::flags::probe_cached(bin, &home).await?);
    Ok(surface)
}

fn read_json(path: &Path) -> Result<Value, SchemaError> {
    let text = std::fs::read_to_string(path).map_err(|source| SchemaError::Io {
        path: path.to_owned(),
        source,
    })?;
    serde_json::from_str(&text).map_err(|source| SchemaError::Shape {
        path: path.to_owned(),
        source,
    })
}

/// Reduces the stable (`plain`) and experimental schema folders of one codex to its surface.
pub fn from_schema_dirs(
    plain: &Path,
    experimental: &Path,
    version: &str,
) -> Result<Surface, SchemaError> {
    let bundle = read_json(&experimental.join("codex_app_server_protocol.schemas.json"))?;
    let stable_bundle = read_json(&plain.join("codex_app_server_protocol.schemas.json"))?;
    let defs = Defs::of(&bundle);
    let stable_defs = Defs::of(&stable_bundle);
    let defined = defs.names();
    let union = |dir: &Path, file: &str| read_json(&dir.join(file));
    let stable = |file: &str| stable_methods(plain, file);
    let requests = |file: &str| -> Result<Vec<RequestEntry>, SchemaError> {
        let stable = stable(file)?;
        let methods = union_methods(&union(experimental, file)?);
        let paired = pair_responses(&methods, &defined);
        let mut out: Vec<RequestEntry> = methods
            .into_iter()
            .map(|(method, entry)| {
                let response = paired.get(&method).cloned();
                request_entry(&defs, &stable_defs, &stable, (method, response), &entry)
            })
            .collect();
        out.sort_by(|a, b| a.method.cmp(&b.method));
        Ok(out)
    };
    let notifications = |file: &str| notification_entries(plain, experimental, file);
    let enums = WATCHED_ENUMS
        .iter()
        .filter_map(|name| defs.get(name).map(|d| (name.to_string(), variants(d))))
        .collect();
    let roots_and_types = |mut surface: Surface| {
        let roots = surface.payload_roots();
        surface.types = payload::shapes(defs, stable_defs, &roots);
        surface
    };
    Ok(roots_and_types(Surface {
        surface_version: SURFACE_VERSION,
        codex_version: version.to_owned(),
        client_requests: requests("ClientRequest.json")?,
        server_requests: requests("ServerRequest.json")?,
        server_notifications: notifications("ServerNotification.json")?,
        client_notifications: notifications("ClientNotification.json")?,
        enums,
        experimental_included: true,
        launch_flags: None,
        types: BTreeMap::new(),
    }))
}

/// The methods of the stable schema's union `file`.
fn stable_methods(plain: &Path, file: &str) -> Result<BTreeSet<String>, SchemaError> {
    Ok(union_methods(&read_json(&plain.join(file))?)
        .into_iter()
        .map(|(m, _)| m)
        .collect())
}

/// The notifications of the union `file`, each flagged experimental when only that schema has it.
fn notification_entries(
    plain: &Path,
    experimental: &Path,
    file: &str,
) -> Result<Vec<NotificationEntry>, SchemaError> {
    let stable = stable_methods(plain, file)?;
    let mut out: Vec<NotificationEntry> = union_methods(&read_json(&experimental.join(file))?)
        .into_iter()
        .map(|(method, entry)| NotificationEntry {
            experimental: !stable.contains(&method),
            params: ref_name(&entry["properties"]["params"]),
            method,
        })
        .collect();
    out.sort_by(|a, b| a.method.cmp(&b.method));
    Ok(out)
}

/// The response type of each request method of a union file (see [`responses::resolve`]).
fn pair_responses(
    methods: &[(String, Value)],
    defined: &BTreeSet<String>,
) -> BTreeMap<String, String> {
    let params: Vec<(&str, Option<String>)> = methods
        .iter()
        .map(|(m, e)| (m.as_str(), ref_name(&e["properties"]["params"])))
        .collect();
    let asked: Vec<Request<'_>> = params
        .iter()
        .map(|(method, params)| Request {
            method,
            params: params.as_deref(),
        })
        .collect();
    responses::resolve(&asked, defined)
}

/// `(method, entry)` for every `oneOf` entry of a union file.
fn union_methods(union: &Value) -> Vec<(String, Value)> {
    union["oneOf"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| {
            Some((
                e["properties"]["method"]["enum"][0].as_str()?.to_owned(),
                e.clone(),
            ))
        })
        .collect()
}

/// The type name of a `{"$ref": "#/definitions/…/Name"}`, also when wrapped as an optional
/// (`anyOf: [{$ref}, {type: null}]`) or in `allOf` / `oneOf`.
fn ref_name(value: &Value) -> Option<String> {
    if let Some(r) = value["$ref"].as_str() {
        return r.rsplit('/').next().map(str::to_owned);
    }
    // Optional params are written `anyOf: [{$ref}, {type: null}]`.
    ["anyOf", "allOf", "oneOf"]
        .iter()
        .filter_map(|k| value[*k].as_array())
        .flatten()
        .find_map(ref_name)
}

fn request_entry(
    defs: &Defs<'_>,
    stable_defs: &Defs<'_>,
    stable: &BTreeSet<String>,
    (method, response): (String, Option<String>),
    entry: &Value,
) -> RequestEntry {
    let params = ref_name(&entry["properties"]["params"]);
    let mandatory = entry["required"]
        .as_array()
        .is_some_and(|r| r.iter().any(|f| f == "params"));
    let fields = |d: &Defs<'_>| -> BTreeSet<String> {
        params
            .as_deref()
            .and_then(|p| d.get(p))
            .and_then(|def| def["properties"].as_object())
            .map(|props| props.keys().cloned().collect())
            .unwrap_or_default()
    };
    let experimental_fields = fields(defs)
        .difference(&fields(stable_defs))
        .cloned()
        .collect();
    RequestEntry {
        experimental: !stable.contains(&method),
        required_fields: defs.required(params.as_deref()),
        experimental_fields,
        response_required_fields: defs.required(response.as_deref()),
        params_mandatory: mandatory,
        params,
        response,
        method,
    }
}

/// The variant tags of an enum: its strings, or for a tagged union each variant's tag (the
/// `type` constant, else its single required key), sorted.
fn variants(def: &Value) -> Vec<String> {
    fn add_enum(out: &mut BTreeSet<String>, v: &Value) {
        for s in v["enum"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            out.insert(s.to_owned());
        }
    }
    let mut out: BTreeSet<String> = BTreeSet::new();
    add_enum(&mut out, def);
    for variant in def["oneOf"].as_array().into_iter().flatten() {
        add_enum(&mut out, variant);
        add_enum(&mut out, &variant["properties"]["type"]);
        if variant["properties"]["type"].is_null() {
            if let Some([key]) = variant["required"].as_array().map(Vec::as_slice) {
                if let Some(key) = key.as_str() {
                    out.insert(format!("{{{key}}}"));
                }
            }
        }
    }
    out.into_iter().collect()
}

#[cfg(test)]
mod tests;
