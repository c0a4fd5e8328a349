//! Lock roots: the canonical path prefixes a task owns, and when two tasks' roots overlap.
//!
//! This is `st`'s algorithm exactly, quirks included, because peer scenarios depend on it:
//! backslashes become `/`, whitespace is trimmed, one leading `./` goes, repeated `/` collapse,
//! trailing `/` go (but `/` alone stays), a terminal `/**/*` or `/**` is dropped, the path is
//! cut at the first `*`, `?` or `[` and trailing `/` trimmed again; broad results (`""`, `.`,
//! `*`, `**`, `**/*`, `/`) become `"."`, which overlaps everything. Two roots overlap when equal
//! or when one is a prefix of the other at a `/` boundary (`src/a` and `src/ab` do not).
//! Cutting a glob mid-segment can under-report overlap (`src/a*` → `src/a`): kept on purpose.

/// The root that overlaps everything.
pub const EVERYTHING: &str = ".";

/// The lock root of one `scope` entry.
pub fn lock_root(scope: &str) -> String {
    let mut s = scope.replace('\\', "/");
    s = s.trim_matches([' ', '\t', '\r', '\n']).to_owned();
    if let Some(rest) = s.strip_prefix("./") {
        s = rest.to_owned();
    }
    s = collapse_slashes(&s);
    s = trim_trailing_slashes(&s);
    if let Some(rest) = s.strip_suffix("/**/*") {
        s = rest.to_owned();
    } else if let Some(rest) = s.strip_suffix("/**") {
        s = rest.to_owned();
    }
    if let Some(cut) = s.find(['*', '?', '[']) {
        s.truncate(cut);
        s = trim_trailing_slashes(&s);
    }
    if matches!(s.as_str(), "" | "." | "*" | "**" | "**/*" | "/") {
        return EVERYTHING.to_owned();
    }
    s
}

/// The lock roots of a `scope` list: de-duplicated in first-seen order; `["."]` when empty.
pub fn lock_roots(scope: &[String]) -> Vec<String> {
    let mut roots: Vec<String> = Vec::new();
    for entry in scope {
        let root = lock_root(entry);
        if !roots.contains(&root) {
            roots.push(root);
        }
    }
    if roots.is_empty() {
        roots.push(EVERYTHING.to_owned());
    }
    roots
}

/// Whether two roots overlap: either is `"."`, they are equal, or one is a prefix of the
/// other at a `/` boundary.
pub fn roots_overlap(a: &str, b: &str) -> bool {
    let under = |long: &str, short: &str| {
        long.strip_prefix(short)
            .is_some_and(|rest| rest.starts_with('/'))
    };
    a == EVERYTHING || b == EVERYTHING || a == b || under(a, b) || under(b, a)
}

/// Whether two root lists overlap (any pair does).
pub fn lists_overlap(a: &[String], b: &[String]) -> bool {
    a.iter().any(|x| b.iter().any(|y| roots_overlap(x, y)))
}

fn collapse_slashes(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if !(c == '/' && out.ends_with('/')) {
            out.push(c);
        }
    }
    out
}

fn trim_trailing_slashes(s: &str) -> String {
    let mut out = s.to_owned();
    while out.len() > 1 && out.ends_with('/') {
        out.pop();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_like_st() {
        let cases = [
            ("src/config/**", "src/config"),
            ("./src/ui/", "src/ui"),
            ("src//a///b/", "src/a/b"),
            ("src\\win\\dir", "src/win/dir"),
            ("src/a/**/*", "src/a"),
            ("src/*.rs", "src"),
            ("src/a/**/*.rs", "src/a"),
            ("src/a?", "src/a"),
            ("**/*.rs", "."),
            ("[ab]/x", "."),
            ("", "."),
            (".", "."),
            ("./", "."),
            ("/", "."),
            ("*", "."),
            ("**", "."),
            ("**/*", "."),
            ("  \tsrc/x\r\n", "src/x"),
            ("././src", "./src"),
            ("src/a*", "src/a"),
        ];
        for (scope, want) in cases {
            assert_eq!(lock_root(scope), want, "{scope:?}");
        }
    }

    #[test]
    fn lists_dedupe_and_default_to_everything() {
        let scope = |xs: &[&str]| xs.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(lock_roots(&[]), ["."]);
        assert_eq!(
            lock_roots(&scope(&["src/ui/**", "./src/ui/", "docs"])),
            ["src/ui", "docs"]
        );
    }

    #[test]
    fn overlap_is_at_path_boundaries() {
        let cases = [
            ("src/config", "src/ui", false),
            ("src", "src/ui", true),
            ("src/ui", "src", true),
            ("src/ui", "src/ui", true),
            ("src/a", "src/ab", false),
            (".", "anything/at/all", true),
            ("x", ".", true),
        ];
        for (a, b, want) in cases {
            assert_eq!(roots_overlap(a, b), want, "{a} vs {b}");
        }
        let list = |xs: &[&str]| xs.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(!lists_overlap(
            &list(&["src/config"]),
            &list(&["src/ui", "docs"])
        ));
        assert!(lists_overlap(
            &list(&["src/config", "docs/a"]),
            &list(&["src/ui", "docs"])
        ));
    }
}
