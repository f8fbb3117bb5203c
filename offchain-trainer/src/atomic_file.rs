//! Writing a file so that readers see either nothing or all of it: bytes go to a temporary file
//! in the same directory, which is renamed over the destination only once completely written.

use std::io::Write;
use std::path::Path;

/// Writes `bytes` to `path` atomically (see the module doc). On error nothing appears at `path`
/// and the temporary file is removed.
pub fn write(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
	write_with_mode(path, bytes, 0o644)
}

/// As [`write`], readable by the owner only (0600): for secrets such as a commitment's salt.
pub fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
	write_with_mode(path, bytes, 0o600)
}

fn write_with_mode(path: &Path, bytes: &[u8], mode: u32) -> std::io::Result<()> {
	let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
	std::fs::create_dir_all(dir)?;
	let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
	tmp.write_all(bytes)?;
	// Temporary files are created owner-only; the mode is set before the file appears at `path`.
	#[cfg(unix)]
	{
		use std::os::unix::fs::PermissionsExt;
		tmp.as_file().set_permissions(std::fs::Permissions::from_mode(mode))?;
	}
	#[cfg(not(unix))]
	let _ = mode;
	tmp.as_file().sync_all()?;
	tmp.persist(path).map_err(|e| e.error)?;
	Ok(())
}
