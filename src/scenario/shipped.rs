//! The scenarios shipped inside the cas binary, unpacked once per content into a cache folder.
//!
//! An installed `cas` runs its scenarios outside the source tree: the `scenarios/` folder and
//! the fixtures they name (`fixtures/hooks`, `fixtures/st`) are compiled in and written to
//! `<cache>/shipped/<digest>/` with the same layout, so relative references keep working. The
//! folder is written under a temporary name and renamed into place, so a reader never sees half
//! of it; an existing folder for the same digest is reused.

use include_dir::{include_dir, Dir, DirEntry};
use std::path::{Path, PathBuf};

static SCENARIOS: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/scenarios");
static HOOK_FIXTURES: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/fixtures/hooks");
static ST_FIXTURES: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/fixtures/st");

/// The shipped trees and where they go, relative to the unpacked root.
fn trees() -> [(&'static Dir<'static>, &'static str); 3] {
    [
        (&SCENARIOS, "scenarios"),
        (&HOOK_FIXTURES, "fixtures/hooks"),
        (&ST_FIXTURES, "fixtures/st"),
    ]
}

/// cas's cache folder: `$XDG_CACHE_HOME/cas`, else `~/.cache/cas`.
pub fn default_cache() -> PathBuf {
    crate::launch::paths::cache_dir().unwrap_or_else(|| std::env::temp_dir().join("cas-cache"))
}

/// Unpacks the shipped scenarios under `cache` (if not already there) and returns their folder.
pub fn unpack(cache: &Path) -> std::io::Result<PathBuf> {
    let root = cache.join("shipped").join(digest());
    let scenarios = root.join("scenarios");
    if scenarios.is_dir() {
        return Ok(scenarios);
    }
    std::fs::create_dir_all(cache.join("shipped"))?;
    let staging = tempfile::Builder::new()
        .prefix(".unpacking-")
        .tempdir_in(cache.join("shipped"))?;
    for (dir, at) in trees() {
        write_tree(dir, &staging.path().join(at))?;
    }
    match std::fs::rename(staging.path(), &root) {
        Ok(()) => {
            let _ = staging.keep();
        }
        // Another process unpacked the same content first: use theirs.
        Err(_) if scenarios.is_dir() => {}
        Err(e) => return Err(e),
    }
    Ok(scenarios)
}

fn write_tree(dir: &Dir<'_>, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in dir.entries() {
        let name = entry.path().file_name().unwrap_or_default();
        match entry {
            DirEntry::Dir(sub) => write_tree(sub, &to.join(name))?,
            DirEntry::File(file) => {
                let path = to.join(name);
                std::fs::write(&path, file.contents())?;
                if path.extension().is_some_and(|e| e == "sh") {
                    use std::os::unix::fs::PermissionsExt;
                    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))?;
                }
            }
        }
    }
    Ok(())
}

/// A digest of every shipped file's path and content (FNV-1a, 64 bits), with cas's version.
fn digest() -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut feed = |bytes: &[u8]| {
        for b in bytes {
            hash ^= u64::from(*b);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    };
    for (dir, at) in trees() {
        feed(at.as_bytes());
        for file in files(dir) {
            feed(file.path().to_string_lossy().as_bytes());
            feed(file.contents());
        }
    }
    format!("{}-{hash:016x}", env!("CARGO_PKG_VERSION"))
}

fn files<'a>(dir: &'a Dir<'a>) -> Vec<&'a include_dir::File<'a>> {
    let mut out = Vec::new();
    for entry in dir.entries() {
        match entry {
            DirEntry::Dir(sub) => out.extend(files(sub)),
            DirEntry::File(f) => out.push(f),
        }
    }
    out.sort_by_key(|f| f.path());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unpacks_every_shipped_scenario_once_with_executable_hook_scripts() {
        let cache = tempfile::tempdir().unwrap();
        let dir = unpack(cache.path()).unwrap();
        let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
        let names = |d: &Path| {
            crate::scenario::discover(d)
                .unwrap()
                .iter()
                .map(|p| crate::scenario::name_of(d, p))
                .collect::<Vec<_>>()
        };
        assert_eq!(names(&dir), names(&source));
        let script = dir.join("../fixtures/hooks/complete.sh");
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&script).unwrap().permissions().mode();
        assert_eq!(mode & 0o111, 0o111, "{} not executable", script.display());
        assert_eq!(unpack(cache.path()).unwrap(), dir);
    }
}
