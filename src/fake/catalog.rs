//! The method catalog the fake serves: codex 0.169.0's client requests, as probed.
//!
//! Loaded once from `fixtures/protocol/method-index-0.169.0.json` (compiled in), so the fake
//! refuses unknown methods and gates experimental ones exactly where the real server does.

use serde::Deserialize;
use std::collections::HashMap;
use std::sync::OnceLock;

const INDEX: &str = include_str!("../../fixtures/protocol/method-index-0.169.0.json");

/// What the fake knows about one client request method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MethodInfo {
    /// Needs `capabilities.experimentalApi`.
    pub experimental: bool,
    /// `params` must be present.
    pub params_required: bool,
}

/// The client request methods of codex 0.169.0.
pub struct Catalog {
    methods: HashMap<String, MethodInfo>,
    /// Names in the order the server lists them in its "unknown variant" message.
    ordered: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct IndexFile {
    client_requests: Vec<IndexEntry>,
    #[serde(default)]
    ts_only: TsOnly,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct IndexEntry {
    method: String,
    params_required: bool,
    experimental: bool,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct TsOnly {
    #[serde(default)]
    client_requests: Vec<String>,
}

impl Catalog {
    /// The compiled-in 0.169.0 catalog.
    pub fn get() -> &'static Catalog {
        static CATALOG: OnceLock<Catalog> = OnceLock::new();
        CATALOG.get_or_init(|| Catalog::parse(INDEX).unwrap_or_else(|_| Catalog::empty()))
    }

    fn empty() -> Catalog {
        Catalog {
            methods: HashMap::new(),
            ordered: Vec::new(),
        }
    }

    fn parse(text: &str) -> Result<Catalog, serde_json::Error> {
        let index: IndexFile = serde_json::from_str(text)?;
        let mut catalog = Catalog::empty();
        let legacy = index
            .ts_only
            .client_requests
            .into_iter()
            .map(|method| IndexEntry {
                method,
                params_required: true,
                experimental: false,
            });
        for entry in index.client_requests.into_iter().chain(legacy) {
            let info = MethodInfo {
                experimental: entry.experimental,
                params_required: entry.params_required,
            };
            catalog.ordered.push(entry.method.clone());
            catalog.methods.insert(entry.method, info);
        }
        Ok(catalog)
    }

    /// What is known about `method`, if it is a method at all.
    pub fn lookup(&self, method: &str) -> Option<MethodInfo> {
        self.methods.get(method).copied()
    }

    /// The message codex sends for an unknown method.
    pub fn unknown_method_message(&self, method: &str) -> String {
        let names: Vec<String> = self.ordered.iter().map(|m| format!("`{m}`")).collect();
        format!(
            "Invalid request: unknown variant `{method}`, expected one of {}",
            names.join(", ")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn knows_the_0_169_0_methods() {
        let c = Catalog::get();
        assert_eq!(c.ordered.len(), 187);
        assert_eq!(c.lookup("initialize").map(|m| m.experimental), Some(false));
        assert_eq!(
            c.lookup("collaborationMode/list").map(|m| m.experimental),
            Some(true)
        );
        assert!(c.lookup("does/notExist").is_none());
        let msg = c.unknown_method_message("no/such");
        assert!(msg.starts_with(
            "Invalid request: unknown variant `no/such`, expected one of `initialize`, "
        ));
    }
}
