//! The snapshot side of drift: the committed surface snapshot reproduced and diffed, and no
//! snapshot name carrying a codex version (save the version matrix's archives).

use libtest_mimic::Failed;
use serde_json::json;
use std::path::Path;
use std::process::Command;

use crate::support;

use cas::schema::surface::RequestEntry;
use cas::schema::Surface;

/// The committed surface snapshot, `schema_surface@codex.snap`: its insta header (with the
/// `---` lines) and its body.
fn committed_snapshot() -> Result<(String, String), Failed> {
    let path = support::root().join("snapshots/schema_surface@codex.snap");
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let (meta, body) = text
        .strip_prefix("---\n")
        .and_then(|rest| rest.split_once("\n---\n"))
        .ok_or("the surface snapshot has no insta header")?;
    Ok((format!("---\n{meta}\n---\n"), body.to_owned()))
}

/// A surface rendered as `assert_json_snapshot!` writes it (pretty JSON, a final newline).
fn render(surface: &Surface) -> Result<String, Failed> {
    Ok(serde_json::to_string_pretty(surface).map_err(|e| e.to_string())? + "\n")
}

/// The lines `git diff` shows as removed (`-`) and added (`+`) between two files, sorted.
fn git_diff_lines(old: &Path, new: &Path) -> Result<(Vec<String>, Vec<String>), Failed> {
    let out = Command::new("git")
        .args(["diff", "--no-index", "--no-color", "--unified=0"])
        .args([old, new])
        .output()
        .map_err(|e| format!("git diff: {e}"))?;
    if out.status.code() != Some(1) {
        return Err(format!("git diff --no-index: {}, want 1 (they differ)", out.status).into());
    }
    let (mut removed, mut added) = (Vec::new(), Vec::new());
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        match line.split_at_checked(1) {
            Some(("-", l)) if !line.starts_with("---") => removed.push(l.to_owned()),
            Some(("+", l)) if !line.starts_with("+++") => added.push(l.to_owned()),
            _ => {}
        }
    }
    removed.sort();
    added.sort();
    Ok((removed, added))
}

/// The lines of one client request as an element of the snapshot's list (`    {` … `    },`).
fn element_lines(entry: &RequestEntry) -> Result<Vec<String>, Failed> {
    let text = serde_json::to_string_pretty(entry).map_err(|e| e.to_string())?;
    let mut lines: Vec<String> = text.lines().map(|l| format!("    {l}")).collect();
    if let Some(last) = lines.last_mut() {
        last.push(',');
    }
    Ok(lines)
}

/// The committed surface against the same surface moved to a new version with `turn/steer`
/// removed and a required field added to `turn/start`, both rendered as snapshot files: the
/// snapshot serializer reproduces the committed file byte for byte, and `git diff` of the two
/// shows exactly the version line, the removed method's lines and the added field's line.
pub fn snapshot_diff_is_the_change() -> Result<(), Failed> {
    let (header, body) = committed_snapshot()?;
    let old: Surface = serde_json::from_str(&body).map_err(|e| format!("snapshot body: {e}"))?;
    if render(&old)? != body {
        return Err("rendering the committed surface does not reproduce its snapshot".into());
    }
    let mut new = old.clone();
    new.codex_version = "0.999.0".into();
    let at = (new.client_requests.iter())
        .position(|r| r.method == "turn/steer")
        .ok_or("no turn/steer in the committed surface")?;
    let steer = new.client_requests.remove(at);
    let start = (new.client_requests.iter_mut())
        .find(|r| r.method == "turn/start")
        .ok_or("no turn/start in the committed surface")?;
    // First in sorted order, so the line before it keeps its comma: one line added.
    if start
        .required_fields
        .first()
        .is_none_or(|f| f.as_str() <= "addedField")
    {
        return Err(format!("turn/start fields {:?}", start.required_fields).into());
    }
    start.required_fields.insert(0, "addedField".into());
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).map_err(|e| e.to_string())?;
    let (a, b) = (dir.path().join("old.snap"), dir.path().join("new.snap"));
    std::fs::write(&a, format!("{header}{}", render(&old)?)).map_err(|e| e.to_string())?;
    std::fs::write(&b, format!("{header}{}", render(&new)?)).map_err(|e| e.to_string())?;
    let (removed, added) = git_diff_lines(&a, &b)?;
    let mut want_removed = element_lines(&steer)?;
    want_removed.push(format!("  \"codexVersion\": \"{}\",", old.codex_version));
    want_removed.sort();
    let want_added = vec![
        "        \"addedField\",".to_owned(),
        "  \"codexVersion\": \"0.999.0\",".to_owned(),
    ];
    let got = json!({"removed": removed, "added": added});
    let want = json!({"removed": want_removed, "added": want_added});
    support::same("the diff is exactly the change", &got, &want, &got)
}

/// Every snapshot is named by scenario and target only (`NAME@TARGET.snap`), never by a codex
/// version: a new codex proposes edits of the same files, not new ones. The one exception is
/// the version matrix's archive of each release's surface, `schema_surface@codex-<version>.snap`
/// (written by scripts/version-matrix, never by a test).
pub fn no_versioned_snapshot_names() -> Result<(), Failed> {
    let dir = support::root().join("snapshots");
    let entries = std::fs::read_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut versioned = Vec::new();
    for entry in entries {
        let name = entry.map_err(|e| e.to_string())?.file_name();
        let name = name.to_string_lossy();
        if is_matrix_archive(&name) {
            continue;
        }
        let target = name.split_once('@').map_or("", |(_, t)| t);
        // A version is digits, a dot, digits: `codex-0.169.0`; targets are words (`fake-ws`).
        let has_version = target
            .as_bytes()
            .windows(3)
            .any(|w| w[0].is_ascii_digit() && w[1] == b'.' && w[2].is_ascii_digit());
        if has_version {
            versioned.push(name.into_owned());
        }
    }
    if versioned.is_empty() {
        return Ok(());
    }
    Err(format!("snapshot names carrying a version: {versioned:?}").into())
}

/// Whether `name` is `schema_surface@codex-<digits.digits.digits>.snap`.
pub fn is_matrix_archive(name: &str) -> bool {
    name.strip_prefix("schema_surface@codex-")
        .and_then(|rest| rest.strip_suffix(".snap"))
        .is_some_and(|v| {
            let parts: Vec<&str> = v.split('.').collect();
            parts.len() == 3
                && parts
                    .iter()
                    .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
        })
}
