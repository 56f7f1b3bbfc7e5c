//! Private directories (0700) and files (0600) for everything meetvault keeps on local disk.

use std::path::Path;

use crate::StoreError;

/// Creates `dir` (and parents) if needed and restricts it to the owner.
pub fn private_dir(dir: &Path) -> Result<(), StoreError> {
    std::fs::create_dir_all(dir).map_err(StoreError::io(format!("creating {}", dir.display())))?;
    set_mode(dir, 0o700)
}

/// Restricts an existing file to the owner (read/write).
pub fn private_file(path: &Path) -> Result<(), StoreError> {
    set_mode(path, 0o600)
}

#[cfg(unix)]
fn set_mode(path: &Path, mode: u32) -> Result<(), StoreError> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).map_err(StoreError::io(
        format!("setting permissions of {}", path.display()),
    ))
}

#[cfg(not(unix))]
fn set_mode(_path: &Path, _mode: u32) -> Result<(), StoreError> {
    Ok(())
}
