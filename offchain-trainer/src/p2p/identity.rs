//! The host's persistent libp2p identity: an ed25519 secret key in a file that only its owner can
//! read, created on first run. The peer id derived from it is what the miner registers on chain,
//! so losing or changing the file changes the miner's endpoint.
//!
//! The file holds the 32 raw bytes of the ed25519 secret (the layout Substrate nodes use for
//! `secret_ed25519`). Key bytes never appear in logs or errors.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use libp2p::identity::{ed25519, Keypair};

/// Length of the key file: one ed25519 secret.
const SECRET_LEN: usize = 32;

/// Why the identity could not be loaded or created.
#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
	/// Reading, creating or writing the key file failed.
	#[error("identity key {path}: {source}")]
	Io {
		/// The key file.
		path: PathBuf,
		/// The underlying error.
		source: std::io::Error,
	},
	/// Group or others may access the key file; it must be mode 0600 (or stricter).
	#[error(
		"identity key {path} has mode {mode:o}; it must be readable by its owner only (chmod 600)"
	)]
	LoosePermissions {
		/// The key file.
		path: PathBuf,
		/// Its permission bits.
		mode: u32,
	},
	/// The key file is not a regular file of exactly 32 bytes holding a valid ed25519 secret.
	#[error("identity key {path} is malformed: {reason}")]
	Malformed {
		/// The key file.
		path: PathBuf,
		/// What is wrong (never the key itself).
		reason: String,
	},
}

/// Loads the keypair stored at `path`, or creates a new one there (mode 0600) if no file exists.
///
/// A file that group or others may read, or that is not a valid key, is an error: the host never
/// silently replaces an identity.
pub fn load_or_create(path: &Path) -> Result<Keypair, IdentityError> {
	match std::fs::symlink_metadata(path) {
		Ok(_) => load(path),
		Err(e) if e.kind() == std::io::ErrorKind::NotFound => create(path),
		Err(source) => Err(IdentityError::Io { path: path.to_owned(), source }),
	}
}

/// Loads an existing key file (see [`load_or_create`] for what is refused).
pub fn load(path: &Path) -> Result<Keypair, IdentityError> {
	let io = |source| IdentityError::Io { path: path.to_owned(), source };
	let malformed =
		|reason: &str| IdentityError::Malformed { path: path.to_owned(), reason: reason.into() };
	let meta = std::fs::symlink_metadata(path).map_err(io)?;
	if !meta.file_type().is_file() {
		return Err(malformed("not a regular file"));
	}
	check_owner_only(path, &meta)?;
	if meta.len() != SECRET_LEN as u64 {
		return Err(malformed(&format!("{} bytes, expected {SECRET_LEN}", meta.len())));
	}
	let mut secret = [0u8; SECRET_LEN];
	std::fs::File::open(path).and_then(|mut f| f.read_exact(&mut secret)).map_err(io)?;
	// `ed25519_from_bytes` zeroes `secret` whatever the outcome.
	Keypair::ed25519_from_bytes(&mut secret).map_err(|_| malformed("not an ed25519 secret key"))
}

/// Creates a new key file at `path`: written to a 0600 temporary file in the same directory, then
/// renamed, so a crash never leaves a partial key behind.
fn create(path: &Path) -> Result<Keypair, IdentityError> {
	let io = |source| IdentityError::Io { path: path.to_owned(), source };
	let keypair = ed25519::Keypair::generate();
	let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
	std::fs::create_dir_all(dir).map_err(io)?;
	// tempfile creates its files with mode 0600.
	let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(io)?;
	tmp.write_all(keypair.secret().as_ref()).map_err(io)?;
	tmp.as_file().sync_all().map_err(io)?;
	// `persist_noclobber`: two processes racing on first run must not swap identities under each
	// other; the loser loads the winner's key.
	match tmp.persist_noclobber(path) {
		Ok(_) => {
			tracing::info!(path = %path.display(), peer_id = %Keypair::from(keypair.clone()).public().to_peer_id(), "created p2p identity");
			Ok(keypair.into())
		}
		Err(e) if e.error.kind() == std::io::ErrorKind::AlreadyExists => load(path),
		Err(e) => Err(io(e.error)),
	}
}

#[cfg(unix)]
fn check_owner_only(path: &Path, meta: &std::fs::Metadata) -> Result<(), IdentityError> {
	use std::os::unix::fs::PermissionsExt;
	let mode = meta.permissions().mode() & 0o777;
	if mode & 0o077 != 0 {
		return Err(IdentityError::LoosePermissions { path: path.to_owned(), mode });
	}
	Ok(())
}

#[cfg(not(unix))]
fn check_owner_only(_: &Path, _: &std::fs::Metadata) -> Result<(), IdentityError> {
	Ok(())
}

#[cfg(test)]
mod tests {
	use std::os::unix::fs::PermissionsExt;

	use super::*;

	#[test]
	fn first_run_creates_a_0600_key_and_later_runs_load_the_same_identity() {
		let dir = tempfile::tempdir().unwrap();
		let path = dir.path().join("sub/p2p.key");
		let first = load_or_create(&path).unwrap();
		let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
		assert_eq!(mode, 0o600);
		assert_eq!(std::fs::metadata(&path).unwrap().len(), 32);
		let second = load_or_create(&path).unwrap();
		assert_eq!(first.public().to_peer_id(), second.public().to_peer_id());
	}

	#[test]
	fn a_key_readable_by_others_is_refused_and_left_alone() {
		let dir = tempfile::tempdir().unwrap();
		let path = dir.path().join("p2p.key");
		load_or_create(&path).unwrap();
		let before = std::fs::read(&path).unwrap();
		std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
		let err = load_or_create(&path).unwrap_err();
		assert!(matches!(err, IdentityError::LoosePermissions { mode: 0o644, .. }), "{err}");
		assert_eq!(std::fs::read(&path).unwrap(), before);
	}

	#[test]
	fn a_malformed_key_is_a_typed_error_that_does_not_show_the_bytes() {
		let dir = tempfile::tempdir().unwrap();
		let path = dir.path().join("p2p.key");
		std::fs::write(&path, b"0123456789abcdef").unwrap();
		std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
		let err = load_or_create(&path).unwrap_err();
		assert!(matches!(err, IdentityError::Malformed { .. }), "{err}");
		assert!(!err.to_string().contains("0123456789abcdef"));

		std::fs::create_dir(dir.path().join("dir.key")).unwrap();
		let err = load_or_create(&dir.path().join("dir.key")).unwrap_err();
		assert!(matches!(err, IdentityError::Malformed { .. }), "{err}");
	}
}
