//! The component a build writes (`revision.wasm`), and writing build output so that a failed
//! build never leaves a half-written file behind.

use std::path::Path;

use crate::error::BuildError;

/// The file a build writes: the component the host runs.
pub const MODULE_FILE: &str = "revision.wasm";

/// Writes through a temporary file and a rename, so a failed build never
/// leaves a half-written component behind.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), BuildError> {
    let io = |source| BuildError::Io { path: path.to_owned(), source };
    let folder = path.parent().unwrap_or(Path::new("."));
    let mut file = tempfile::NamedTempFile::new_in(folder).map_err(io)?;
    std::io::Write::write_all(&mut file, bytes).map_err(io)?;
    // A temporary file is private (0600); these files are committed and shared.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        file.as_file().set_permissions(std::fs::Permissions::from_mode(0o644)).map_err(io)?;
    }
    file.persist(path).map_err(|error| io(error.error))?;
    Ok(())
}
