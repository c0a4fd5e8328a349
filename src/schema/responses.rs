//! Which response type answers each request method, found in the schema itself.
//!
//! The generated JSON schema lists every request's params type but says nothing of its
//! response type, which only the definitions name. A request is paired with a response
//! definition by evidence, strongest first: the params type's stem (`ThreadStartParams` →
//! `ThreadStartResponse`); the method's segments in any order (`memory/reset` →
//! `MemoryResetResponse`, `account/logout` → `LogoutAccountResponse`); else the one unclaimed
//! response definition whose words are all words of the method or its params (`account/
//! securitySetup/read` → `GetAccountSecuritySetupResponse`, with a leading `Get` ignored). A
//! request with no such evidence keeps no response type rather than a guessed one.

use std::collections::{BTreeMap, BTreeSet};

/// One request to pair: its method and params type.
pub struct Request<'a> {
    /// The method, e.g. `thread/start`.
    pub method: &'a str,
    /// The params type, if any.
    pub params: Option<&'a str>,
}

/// The response type of each request that has one, by method.
pub fn resolve(requests: &[Request<'_>], defined: &BTreeSet<String>) -> BTreeMap<String, String> {
    let responses: Vec<&String> = defined.iter().filter(|n| n.ends_with("Response")).collect();
    let mut out = BTreeMap::new();
    for r in requests {
        if let Some(hit) = direct(r).into_iter().find(|c| defined.contains(c)) {
            out.insert(r.method.to_owned(), hit);
        }
    }
    let claimed: BTreeSet<String> = out.values().cloned().collect();
    let unclaimed: Vec<&String> = responses
        .into_iter()
        .filter(|n| !claimed.contains(*n))
        .collect();
    for r in requests {
        if out.contains_key(r.method) {
            continue;
        }
        if let Some(hit) = by_words(r, &unclaimed) {
            out.insert(r.method.to_owned(), hit.clone());
        }
    }
    out
}

/// The names the params stem and the method's segments (in every order) give.
fn direct(r: &Request<'_>) -> Vec<String> {
    let mut names: Vec<String> = r
        .params
        .and_then(|p| p.strip_suffix("Params"))
        .map(|stem| format!("{stem}Response"))
        .into_iter()
        .collect();
    let segments: Vec<String> = r
        .method
        .split(['/', '_'])
        .filter(|s| !s.is_empty())
        .map(pascal)
        .collect();
    if segments.len() <= 4 {
        permutations(&segments, &mut Vec::new(), &mut names);
    }
    names
}

fn permutations(rest: &[String], prefix: &mut Vec<String>, out: &mut Vec<String>) {
    if rest.is_empty() {
        out.push(format!("{}Response", prefix.concat()));
        return;
    }
    for i in 0..rest.len() {
        let mut others = rest.to_vec();
        let next = others.remove(i);
        prefix.push(next);
        permutations(&others, prefix, out);
        prefix.pop();
    }
}

fn pascal(segment: &str) -> String {
    let mut chars = segment.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// The lower-case words of a camel- or Pascal-case name.
fn words(name: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut word = String::new();
    for c in name.chars() {
        if !c.is_alphanumeric() {
            out.extend((!word.is_empty()).then(|| std::mem::take(&mut word)));
            continue;
        }
        if c.is_uppercase() && !word.is_empty() {
            out.insert(std::mem::take(&mut word));
        }
        word.extend(c.to_lowercase());
    }
    out.extend((!word.is_empty()).then_some(word));
    out
}

/// The one unclaimed response whose words are all among the request's, the most words winning;
/// none when two tie.
fn by_words<'a>(r: &Request<'_>, unclaimed: &[&'a String]) -> Option<&'a String> {
    let mut have = words(r.method);
    have.extend(r.params.map(words).unwrap_or_default());
    let mut best: Vec<(usize, &String)> = unclaimed
        .iter()
        .filter_map(|name| {
            let stem = name.strip_suffix("Response")?;
            let stem = stem.strip_prefix("Get").unwrap_or(stem);
            let need = words(stem);
            (!need.is_empty() && need.is_subset(&have)).then_some((need.len(), *name))
        })
        .collect();
    best.sort_by_key(|b| std::cmp::Reverse(b.0));
    match best.as_slice() {
        [(n, one), rest @ ..] if rest.first().is_none_or(|(m, _)| m < n) => Some(*one),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_by_params_stem_then_segments_then_words_and_never_guesses() {
        let defined: BTreeSet<String> = [
            "ThreadStartResponse",
            "MemoryResetResponse",
            "LogoutAccountResponse",
            "GetAccountSecuritySetupResponse",
            "ConfigWriteResponse",
            "McpServerRefreshResponse",
            "AccountSessionsResponse",
        ]
        .map(str::to_owned)
        .into_iter()
        .collect();
        let req = |method, params| Request { method, params };
        let got = resolve(
            &[
                req("thread/start", Some("ThreadStartParams")),
                req("memory/reset", None),
                req("account/logout", None),
                req("account/securitySetup/read", None),
                req("config/value/write", Some("ConfigValueWriteParams")),
                req("config/batchWrite", Some("ConfigBatchWriteParams")),
                req("accountSession/list", Some("AccountSessionsListParams")),
                req("config/mcpServer/reload", None),
            ],
            &defined,
        );
        let want: BTreeMap<String, String> = [
            ("thread/start", "ThreadStartResponse"),
            ("memory/reset", "MemoryResetResponse"),
            ("account/logout", "LogoutAccountResponse"),
            (
                "account/securitySetup/read",
                "GetAccountSecuritySetupResponse",
            ),
            ("config/value/write", "ConfigWriteResponse"),
            ("config/batchWrite", "ConfigWriteResponse"),
            ("accountSession/list", "AccountSessionsResponse"),
        ]
        .map(|(a, b)| (a.to_owned(), b.to_owned()))
        .into_iter()
        .collect();
        assert_eq!(
            got, want,
            "config/mcpServer/reload has no evidence and stays unpaired"
        );
        assert_eq!(words("GatewayOAuthCancel"), words("gateway/o_auth/cancel"));
    }
}
