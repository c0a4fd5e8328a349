//! Protocol drift as a user meets it: `cas schema diff`, `cas capabilities`, and a codex that
//! lacks what a command relies on, refused before anything runs.
//!
//! Every case needs the real codex: ignored with the reason when it is missing, failing
//! instead when `CAS_REQUIRE_CODEX=1`.

mod support;

use libtest_mimic::{Arguments, Failed};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use support::{cas, codex_trial, done, expect, expect_fields, run_json, JsonRun, Outcome};

fn main() -> ExitCode {
    let args = Arguments::from_args();
    let trials = vec![
        codex_trial(
            "schema_diff_exits_0_when_same_and_1_naming_what_differs",
            schema_diff,
        ),
        codex_trial(
            "capabilities_lists_verdicts_and_runnable_scenarios",
            capabilities,
        ),
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
        "verdicts": verdicts,
        "handshakeRunnable": handshake.map(|h| h["runnable"] == true),
    });
    let want = json!({
        "casVersionGiven": true,
        "verdicts": vec!["compatible"; 4],
        "handshakeRunnable": true,
    });
    support::same(
        "four compatible commands, handshake runnable",
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
    drop_methods(&out.join("ClientRequest.json"), |m| m == "turn/steer")?;
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
    done()
}
