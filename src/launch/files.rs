//! Small file helpers of the launcher: random tokens, private (0600) files, preparation errors.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use crate::errors::LaunchError;

/// A `LaunchError::Prepare` for `path`.
pub(crate) fn prepare(path: &Path) -> impl FnOnce(std::io::Error) -> LaunchError + '_ {
    move |source| LaunchError::Prepare {
        what: path.display().to_string(),
        source,
    }
}

/// A fresh random token: 32 hex characters from the OS random source.
pub fn new_token() -> Result<String, LaunchError> {
    use std::io::Read;
    let mut bytes = [0u8; 16];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .map_err(|source| LaunchError::Prepare {
            what: "a random token".into(),
            source,
        })?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// Writes `text` to `path` with mode 0600 (created fresh; replaced if present).
pub fn write_private(path: &Path, text: &str) -> Result<(), LaunchError> {
    let prepare = |source| LaunchError::Prepare {
        what: path.display().to_string(),
        source,
    };
    let _ = std::fs::remove_file(path);
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(prepare)?;
    file.write_all(text.as_bytes()).map_err(prepare)?;
    file.sync_all().map_err(prepare)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn private_files_are_mode_0600() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        write_private(&path, "abc").unwrap();
        write_private(&path, "def").unwrap();
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "def");
        assert_eq!(new_token().unwrap().len(), 32);
    }
}
