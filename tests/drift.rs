//! Protocol drift as a user meets it: `cas schema diff`, `cas capabilities`, and a codex that
//! lacks what a command relies on, refused before anything runs.
//!
//! Every case needs the real codex: ignored with the reason when it is missing, failing
//! instead when `CAS_REQUIRE_CODEX=1`.

mod support;

use libtest_mimic::{Arguments, Failed, Trial};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use cas::schema::surface::RequestEntry;
use cas::schema::Surface;
use support::{cas, codex_trial, done, expect, expect_fields, run_json, JsonRun, Outcome};

fn main() -> ExitCode {
    let args = Arguments::from_args();
    let trials = vec![
        Trial::test(
            "a_new_codex_shows_as_a_snapshot_diff_of_exactly_the_changed_lines",
            snapshot_diff_is_the_change,
        ),
        Trial::test(
            "no_snapshot_name_carries_a_version",
            no_versioned_snapshot_names,
        ),
        codex_trial(
            "schema_diff_exits_0_when_same_and_1_naming_what_differs",
            schema_diff,
        ),
        codex_trial(
            "capabilities_lists_verdicts_and_runnable_scenarios",
            capabilities,
        ),
        codex_trial(
            "schema_diff_descends_into_payloads_and_fail_on_breaking_sets_the_exit",
            payload_diff,
        ),
        Trial::test("matrix_archives_are_the_only_versioned_snapshots", || {
            let ok = is_matrix_archive("schema_surface@codex-0.118.0.snap")
                && !is_matrix_archive("handshake@codex-0.118.0.snap")
                && !is_matrix_archive("schema_surface@codex-x.snap");
            expect(ok, "only schema_surface@codex-<v>.snap", &json!(null))
        }),
        codex_trial(
            "a_codex_lacking_a_needed_method_is_refused_as_incompatible",
            incompatible_codex,
        ),
    ];
    libtest_mimic::run(&args, trials).exit_code()
}

fn schema_diff(bin: &Path) -> Outcome {
    let bin = bin.to_str().ok_or("path")?;
    let same = run_json(&["schema", "diff", bin, bin, "--json"], 0)?;
    expect_fields(
        "a codex is identical to itself",
        None,
        &same,
        json!({"identical": true}),
    )?;
    // A saved surface with one method taken out: diff must name it, both ways.
    let (_, mut surface) = support::cas_json(&[
        "schema",
        "surface",
        "--experimental",
        "--json",
        "--codex-bin",
        bin,
    ])?;
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).map_err(|e| e.to_string())?;
    let full = dir.path().join("full.json");
    std::fs::write(&full, surface.to_string()).map_err(|e| e.to_string())?;
    if let Some(list) = surface["clientRequests"].as_array_mut() {
        list.retain(|r| r["method"] != "turn/steer");
    }
    let less = dir.path().join("less.json");
    std::fs::write(&less, surface.to_string()).map_err(|e| e.to_string())?;
    let (full, less) = (full.to_str().ok_or("path")?, less.to_str().ok_or("path")?);
    let steer = json!([{"kind": "clientRequest", "method": "turn/steer"}]);
    let d = run_json(&["schema", "diff", full, less, "--json"], 1)?;
    expect_fields(
        "removal named, breaking",
        None,
        &d,
        json!({"diff/removed": steer, "breaking": true,
               "classified/breaking": ["removed clientRequest turn/steer"]}),
    )?;
    let d = run_json(&["schema", "diff", less, bin, "--json"], 1)?;
    expect_fields(
        "addition named, additive",
        None,
        &d,
        json!({"diff/added": steer, "breaking": false,
               "classified/additive": ["added clientRequest turn/steer"]}),
    )?;
    done()
}

fn capabilities(_codex: &Path) -> Outcome {
    let doc = run_json(&["capabilities", "--json"], 0)?;
    let review_given = !doc["commands"]["review_session"].is_null();
    let verdicts: Vec<&str> = doc["commands"]
        .as_object()
        .into_iter()
        .flatten()
        .filter_map(|(_, v)| v["compatibilityVerdict"].as_str())
        .collect();
    let handshake = doc["scenarios"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|s| s["name"] == "handshake");
    let got = json!({
        "casVersionGiven": !doc["cas"]["version"].is_null(),
        "reviewSessionGiven": review_given,
        "verdicts": verdicts,
        "handshakeRunnable": handshake.map(|h| h["runnable"] == true),
    });
    let want = json!({
        "casVersionGiven": true,
        "reviewSessionGiven": true,
        "verdicts": vec!["compatible"; 5],
        "handshakeRunnable": true,
    });
    support::same(
        "five compatible commands (review_session too), handshake runnable",
        &got,
        &want,
        &doc,
    )?;
    done()
}

/// Generates the real codex's schema into `out`, then takes out `turn/steer` and every hook
/// notification.
fn doctored_schema(real: &Path, out: &Path, home: &Path, experimental: bool) -> Result<(), Failed> {
    let mut command = Command::new(real);
    command
        .args(["app-server", "generate-json-schema", "--out"])
        .arg(out)
        .env("CODEX_HOME", home);
    if experimental {
        command.arg("--experimental");
    }
    let status = command.status().map_err(|e| e.to_string())?;
    if !status.success() {
        return Err(format!("generate-json-schema: {status}").into());
    }
    drop_methods(&out.join("ClientRequest.json"), |m| {
        m == "turn/steer" || m == "review/start"
    })?;
    // Nor does it send hook notifications: a hook policy cannot be honoured.
    drop_methods(&out.join("ServerNotification.json"), |m| {
        m.starts_with("hook/")
    })
}

/// Rewrites a schema union (`oneOf`) without the members whose method `unwanted` matches.
fn drop_methods(file: &Path, unwanted: fn(&str) -> bool) -> Result<(), Failed> {
    let mut union: Value =
        serde_json::from_str(&std::fs::read_to_string(file).map_err(|e| e.to_string())?)
            .map_err(|e| e.to_string())?;
    if let Some(list) = union["oneOf"].as_array_mut() {
        list.retain(|e| {
            !e["properties"]["method"]["enum"][0]
                .as_str()
                .is_some_and(unwanted)
        });
    }
    std::fs::write(file, union.to_string()).map_err(|e| e.to_string())?;
    Ok(())
}

/// Writes the `codex` wrapper into `dir`: schema generation copies the doctored schema from
/// `dir`, anything else runs `real`.
fn wrapper_script(dir: &Path, real: &Path) -> Result<PathBuf, Failed> {
    let script = dir.join("codex");
    let text = format!(
        "#!/bin/sh\nfor a in \"$@\"; do case \"$a\" in generate-json-schema) gen=1;; --experimental) exp=1;; esac; done\n\
         if [ -n \"$gen\" ]; then\n  prev=\"\"; for a in \"$@\"; do [ \"$prev\" = \"--out\" ] && out=\"$a\"; prev=\"$a\"; done\n\
           mkdir -p \"$out\"; if [ -n \"$exp\" ]; then cp -r '{prep}/exp/.' \"$out\"/; else cp -r '{prep}/plain/.' \"$out\"/; fi; exit 0\nfi\n\
         exec '{real}' \"$@\"\n",
        prep = dir.display(),
        real = real.display()
    );
    std::fs::write(&script, text).map_err(|e| e.to_string())?;
    let mut perms = std::fs::metadata(&script)
        .map_err(|e| e.to_string())?
        .permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
    std::fs::set_permissions(&script, perms).map_err(|e| e.to_string())?;
    Ok(script)
}

/// A codex whose generated schema lacks `turn/steer`: a shell wrapper around the real one that
/// serves a doctored schema and passes everything else through.
fn incompatible_codex(real: &Path) -> Outcome {
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).map_err(|e| e.to_string())?;
    let home = dir.path().join("home");
    std::fs::create_dir_all(&home).map_err(|e| e.to_string())?;
    for (sub, experimental) in [("plain", false), ("exp", true)] {
        doctored_schema(real, &dir.path().join(sub), &home, experimental)?;
    }
    let script = wrapper_script(dir.path(), real)?;
    let cache = dir.path().join("cache");
    let refused = JsonRun::of(
        cas()
            .args(["smoke_check", "--hermetic", "--json", "--codex-bin"])
            .arg(&script)
            .env("XDG_CACHE_HOME", &cache),
    )?;
    expect_fields(
        "incompatible, exit 2, turn/steer named",
        Some(refused.code),
        &refused.doc,
        json!({
            "exit": 2,
            "compatibilityVerdict": "incompatible",
            "ok": false,
            "missing": [{"kind": "clientRequest", "method": "turn/steer"}],
        }),
    )?;
    let hooks = JsonRun::of(
        cas()
            .args([
                "request",
                "--hermetic",
                "--hooks",
                "require-observed",
                "--json",
                "--codex-bin",
            ])
            .arg(&script)
            .env("XDG_CACHE_HOME", &cache),
    )?;
    expect_fields(
        "hooks_unsupported, exit 2",
        Some(hooks.code),
        &hooks.doc,
        json!({"exit": 2, "failureCode": "hooks_unsupported"}),
    )?;
    expect(
        refused.stderr.contains("clientRequest turn/steer"),
        "a line on stderr names it",
        &refused.doc,
    )?;
    review_refused(&script, &cache, dir.path())
}

/// A review on the doctored codex (no `review/start`) is refused before launch with
/// `incompatible_codex_review_runtime` and the reason.
fn review_refused(script: &Path, cache: &Path, dir: &Path) -> Outcome {
    let repo = dir.join("repo");
    std::fs::create_dir_all(&repo).map_err(|e| e.to_string())?;
    let git = |args: &[&str]| {
        Command::new("git")
            .args(["-c", "user.email=t@cas", "-c", "user.name=t"])
            .args(args)
            .current_dir(&repo)
            .output()
            .map_err(|e| e.to_string())
    };
    git(&["init", "-q"])?;
    std::fs::write(repo.join("a.txt"), "a\n").map_err(|e| e.to_string())?;
    git(&["add", "a.txt"])?;
    git(&["commit", "-qm", "a"])?;
    std::fs::write(repo.join("a.txt"), "b\n").map_err(|e| e.to_string())?;
    let review = JsonRun::of(
        cas()
            .args([
                "review_session",
                "start",
                "--uncommitted",
                "--hermetic",
                "--json",
            ])
            .arg("--cwd")
            .arg(&repo)
            .arg("--codex-bin")
            .arg(script)
            .env("XDG_CACHE_HOME", cache),
    )?;
    expect_fields(
        "incompatible_codex_review_runtime, exit 2, the reason given",
        Some(review.code),
        &review.doc,
        json!({
            "exit": 2,
            "compatibilityVerdict": "incompatible",
            "failureCode": "incompatible_codex_review_runtime",
        }),
    )?;
    let reasons = review.doc["compatibilityReasons"].to_string();
    expect(
        reasons.contains("lacks clientRequest review/start"),
        "compatibilityReasons names review/start",
        &review.doc,
    )?;
    done()
}

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
fn snapshot_diff_is_the_change() -> Result<(), Failed> {
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
fn no_versioned_snapshot_names() -> Result<(), Failed> {
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
fn is_matrix_archive(name: &str) -> bool {
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

/// A saved surface doctored inside one payload (a field of `thread/start`'s params made
/// required, a field of its response removed, a variant added to an enum it reaches): the diff
/// names each at its path, classes them, and `--fail-on breaking` exits 1 only when one breaks.
fn payload_diff(bin: &Path) -> Outcome {
    let bin = bin.to_str().ok_or("path")?;
    let (_, surface) = support::cas_json(&[
        "schema",
        "surface",
        "--experimental",
        "--json",
        "--codex-bin",
        bin,
    ])?;
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).map_err(|e| e.to_string())?;
    let write = |name: &str, doc: &Value| -> Result<String, Failed> {
        let path = dir.path().join(name);
        std::fs::write(&path, doc.to_string()).map_err(|e| e.to_string())?;
        Ok(path.to_str().ok_or("path")?.to_owned())
    };
    let old = write("old.json", &surface)?;
    let mut additive = surface.clone();
    let variants = additive["types"]["SandboxMode"]["variants"]
        .as_object_mut()
        .ok_or("no SandboxMode variants in the surface")?;
    variants.insert("brandNewMode".into(), json!({}));
    let additive = write("additive.json", &additive)?;
    let d = run_json(
        &[
            "schema",
            "diff",
            &old,
            &additive,
            "--json",
            "--fail-on",
            "breaking",
        ],
        0,
    )?;
    let start = d["diff"]["payload"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|m| m["method"] == "thread/start")
        .ok_or("thread/start not among the payload changes")?;
    expect(
        start["changes"].as_array().is_some_and(|c| {
            c.iter().any(|c| {
                c["what"] == "variantAdded" && c["to"] == "brandNewMode" && c["breaking"] == false
            })
        }),
        "a variant added to SandboxMode shows under thread/start, additive",
        &d,
    )?;
    let mut breaking = surface.clone();
    let fields = breaking["types"]["ThreadStartParams"]["fields"]
        .as_object_mut()
        .ok_or("no ThreadStartParams fields")?;
    let cwd = fields.get_mut("cwd").ok_or("no cwd field")?;
    *cwd = json!(cwd.as_str().unwrap_or("").replace(" (optional)", ""));
    breaking["types"]["ThreadStartResponse"]["fields"]
        .as_object_mut()
        .ok_or("no ThreadStartResponse fields")?
        .remove("model");
    let breaking = write("breaking.json", &breaking)?;
    let d = run_json(
        &[
            "schema",
            "diff",
            &old,
            &breaking,
            "--json",
            "--fail-on",
            "breaking",
        ],
        1,
    )?;
    let lines: Vec<&str> = d["classified"]["breaking"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .filter(|l| l.starts_with("clientRequest thread/start "))
        .collect();
    let want = [
        "clientRequest thread/start params.cwd: fieldRequired optional -> required",
        "clientRequest thread/start response.model: fieldRemoved string -> none",
    ];
    support::same("both named, breaking", &json!(lines), &json!(want), &d)?;
    let text = cas()
        .args(["schema", "diff", &old, &breaking])
        .output()
        .map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&text.stdout);
    expect(
        text.contains("payload changes, by method:\n")
            && text.contains("  clientRequest thread/start\n    [breaking] params.cwd (ThreadStartParams): fieldRequired optional -> required"),
        "the human output groups the changes by method",
        &json!({"stdout": text}),
    )?;
    done()
}
