//! The connection steps as written: `connect` (with credentials and an expected refusal) and
//! `close_connection`, both on the step's `connection = "NAME"`.

use serde::Deserialize;
use std::collections::BTreeMap;

/// The name of the connection the target's launch opened; steps without `connection` use it.
pub const DEFAULT_CONNECTION: &str = "default";

/// Open the step's named connection explicitly, with these credentials.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ConnectStep {
    /// Which bearer token to present: `target` (default: the one the target was started with),
    /// `none` (no `Authorization` header) or `wrong` (a fresh random token).
    #[serde(default)]
    pub credentials: Credentials,
    /// Present this literal bearer token instead (excludes `credentials`).
    #[serde(default)]
    pub token: Option<String>,
    /// Extra headers on the upgrade request; an `Authorization` here replaces the bearer one.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// The upgrade must be refused with this HTTP status (e.g. 401).
    #[serde(default)]
    pub expect_refused: Option<u16>,
    /// With `expect_refused`: the refusal's body must contain this text.
    #[serde(default)]
    pub expect_refused_body_contains: Option<String>,
}

/// Which bearer token a `connect` step presents.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Credentials {
    /// The token the target was started with.
    #[default]
    Target,
    /// No `Authorization` header.
    None,
    /// A fresh random token the server cannot know.
    Wrong,
}
