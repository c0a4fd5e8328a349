//! Protocol drift as a user meets it: `cas schema diff`, `cas capabilities`, and a codex that
//! lacks what a command relies on, refused before anything runs.
//!
//! Every case needs the real codex: ignored with the reason when it is missing, failing
//! instead when `CAS_REQUIRE_CODEX=1`.

#[path = "drift/snapshots.rs"]
mod snapshots;
mod support;

use libtest_mimic::{Arguments, Failed, Trial};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::sync::OnceLock;

use snapshots::{is_matrix_archive, no_versioned_snapshot_names, snapshot_diff_is_the_change};
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
    let mut surface = experimental_surface(bin)?;
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
    support::git(&repo, &["init", "-q"])?;
    std::fs::write(repo.join("a.txt"), "a\n").map_err(|e| e.to_string())?;
    support::git(&repo, &["add", "a.txt"])?;
    support::git(&repo, &["commit", "-qm", "a"])?;
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

/// `cas schema surface --experimental --json` of `bin`, generated once per test binary (the
/// trials run on one codex).
fn experimental_surface(bin: &str) -> Result<Value, Failed> {
    static SURFACE: OnceLock<Result<Value, String>> = OnceLock::new();
    let surface = SURFACE.get_or_init(|| {
        let args = [
            "schema",
            "surface",
            "--experimental",
            "--json",
            "--codex-bin",
            bin,
        ];
        support::cas_json(&args).map(|(_, doc)| doc).map_err(|e| {
            e.message()
                .unwrap_or("cas schema surface failed")
                .to_owned()
        })
    });
    surface.clone().map_err(Failed::from)
}

/// A saved surface doctored inside one payload (a field of `thread/start`'s params made
/// required, a field of its response removed, a variant added to an enum it reaches): the diff
/// names each at its path, classes them, and `--fail-on breaking` exits 1 only when one breaks.
fn payload_diff(bin: &Path) -> Outcome {
    let bin = bin.to_str().ok_or("path")?;
    let surface = experimental_surface(bin)?;
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
