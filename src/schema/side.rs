//! Getting a surface to look at: from a codex binary, or from a saved surface file, and the
//! comparison of two of them that `cas schema diff` reports.

use serde::Serialize;
use std::path::{Path, PathBuf};

use super::classify::{self, Classified};
use super::diff::{self, SurfaceDiff};
use super::surface::{self, Surface};
use crate::errors::SchemaError;
use crate::launch;

/// The scratch folder surfaces are generated in (made when missing).
pub fn scratch_dir() -> Result<PathBuf, SchemaError> {
    let scratch = launch::paths::homes_dir().join("schema");
    std::fs::create_dir_all(&scratch).map_err(|source| SchemaError::Io {
        path: scratch.clone(),
        source,
    })?;
    Ok(scratch)
}

/// Generates the surface of a codex binary (in [`scratch_dir`], never cached here).
pub async fn surface_of_binary(bin: &Path) -> Result<Surface, SchemaError> {
    surface_in(bin, &scratch_dir()?).await
}

/// Asks a codex binary its version and generates its surface in the folder `scratch`.
pub async fn surface_in(bin: &Path, scratch: &Path) -> Result<Surface, SchemaError> {
    let version = launch::codex_version(bin, scratch).await?;
    surface::generate(bin, &version, scratch).await
}

/// A `schema diff` side: a saved surface file, or the surface of a codex binary.
pub async fn load_side(arg: &str) -> Result<Surface, SchemaError> {
    let path = Path::new(arg);
    let read = |source| SchemaError::Read {
        arg: arg.to_owned(),
        source,
    };
    if looks_like_json(path) {
        let text = std::fs::read_to_string(path).map_err(read)?;
        let s: Surface = serde_json::from_str(&text).map_err(|source| SchemaError::NotSurface {
            arg: arg.to_owned(),
            source,
        })?;
        if s.surface_version != surface::SURFACE_VERSION {
            return Err(SchemaError::SurfaceVersion {
                arg: arg.to_owned(),
                found: s.surface_version,
                expected: surface::SURFACE_VERSION,
            });
        }
        return Ok(s);
    }
    match std::fs::metadata(path) {
        Ok(m) if m.is_file() => {
            surface_of_binary(path)
                .await
                .map_err(|source| SchemaError::Binary {
                    arg: arg.to_owned(),
                    source: Box::new(source),
                })
        }
        Ok(_) => Err(SchemaError::NeitherFileNorBinary(arg.to_owned())),
        Err(e) => Err(read(e)),
    }
}

/// Whether a file starts with `{` (after white space): a saved surface, not a binary.
fn looks_like_json(path: &Path) -> bool {
    use std::io::Read;
    let mut head = [0u8; 64];
    let n = std::fs::File::open(path)
        .and_then(|mut f| f.read(&mut head))
        .unwrap_or(0);
    head[..n].iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{')
}

/// Two surfaces compared like with like, and what differs.
#[derive(Debug, Clone)]
pub struct Comparison {
    /// The old side (stable-only when either side is).
    pub old: Surface,
    /// The new side (stable-only when either side is).
    pub new: Surface,
    /// What differs from old to new.
    pub diff: SurfaceDiff,
    /// The differences split into breaking and additive.
    pub classified: Classified,
}

/// The `schema diff` document (`schemaVersion` 1, `check: "schema_diff"`); `breaking` and
/// `classified` come after the fields it had before.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DiffReport<'a> {
    /// Always 1.
    pub schema_version: u32,
    /// Always `schema_diff`.
    pub check: &'static str,
    /// Whether nothing differs.
    pub identical: bool,
    /// The old side's codex version.
    pub from: &'a str,
    /// The new side's codex version.
    pub to: &'a str,
    /// What differs.
    pub diff: &'a SurfaceDiff,
    /// Whether any difference can break a client of the old side.
    pub breaking: bool,
    /// Every difference in one line, split into breaking and additive.
    pub classified: Classified,
}

impl Comparison {
    /// Compares `old` with `new`; a stable-only side makes the other stable-only too.
    pub fn of(mut old: Surface, mut new: Surface) -> Comparison {
        if !old.experimental_included || !new.experimental_included {
            old = old.stable_only();
            new = new.stable_only();
        }
        let diff = diff::diff(&old, &new);
        let classified = classify::classify(&diff);
        Comparison {
            old,
            new,
            diff,
            classified,
        }
    }

    /// The JSON document of the comparison.
    pub fn report(&self) -> DiffReport<'_> {
        DiffReport {
            schema_version: 1,
            check: "schema_diff",
            identical: self.diff.is_empty(),
            from: &self.old.codex_version,
            to: &self.new.codex_version,
            diff: &self.diff,
            breaking: self.classified.is_breaking(),
            classified: self.classified.clone(),
        }
    }
}
