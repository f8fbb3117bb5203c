//! Who signs transactions: an sr25519 key from a secret URI (`//Alice`, a mnemonic, a `0x` seed)
//! or from a key file holding one. The secret never appears in errors, logs or `Debug` output.

use crate::{types::AccountId, ChainError, Result};
use std::{path::Path, str::FromStr};
use subxt_signer::{sr25519::Keypair, SecretUri};

/// An sr25519 signing key, with the nonce its next transaction takes. Clones share that nonce, so
/// transactions submitted concurrently from one account (a miner's commit while its checkpoint
/// announcement is still pending) take consecutive nonces instead of the same one.
#[derive(Clone)]
pub struct Signer {
	pub(crate) keypair: Keypair,
	/// The nonce after this account's last submitted transaction; `None`: read it from the chain.
	pub(crate) next_nonce: std::sync::Arc<tokio::sync::Mutex<Option<u64>>>,
}

impl std::fmt::Debug for Signer {
	fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
		// Only the public side: a signer may end up in a log line via `{:?}`.
		write!(f, "Signer({})", self.account_id())
	}
}

impl Signer {
	/// A signer from a secret URI such as `//Alice`, `<mnemonic>//hard/soft///password` or a
	/// `0x`-prefixed 32-byte seed.
	pub fn from_uri(uri: &str) -> Result<Self> {
		// The parser's messages may quote the input, so they are replaced by a fixed text.
		let uri = SecretUri::from_str(uri.trim())
			.map_err(|_| ChainError::Signer("not a valid secret URI".into()))?;
		let keypair = Keypair::from_uri(&uri).map_err(|_| {
			ChainError::Signer("the secret URI does not give an sr25519 key".into())
		})?;
		Ok(Self { keypair, next_nonce: Default::default() })
	}

	/// A signer from a file holding a secret URI. The file must not be readable by group or
	/// others (mode 0600 or stricter), like an ssh key.
	pub fn from_key_file(path: &Path) -> Result<Self> {
		let key_file_error =
			|reason: String| ChainError::KeyFile { path: path.to_path_buf(), reason };
		let meta = std::fs::metadata(path).map_err(|e| key_file_error(e.to_string()))?;
		#[cfg(unix)]
		{
			use std::os::unix::fs::PermissionsExt;
			let mode = meta.permissions().mode() & 0o777;
			if mode & 0o077 != 0 {
				return Err(key_file_error(format!(
					"mode {mode:o} lets other users read it; chmod 600 it"
				)));
			}
		}
		if !meta.is_file() {
			return Err(key_file_error("not a regular file".into()));
		}
		let secret = std::fs::read_to_string(path).map_err(|e| key_file_error(e.to_string()))?;
		Self::from_uri(&secret).map_err(|e| key_file_error(e.to_string()))
	}

	/// The account this signer signs for.
	pub fn account_id(&self) -> AccountId {
		self.keypair.public_key().to_account_id()
	}
}

/// The signer flags every chain-writing CLI shares: `--suri //Alice` or `--key-file path`.
#[derive(Clone, Debug, Default, clap::Args)]
pub struct SignerArgs {
	/// Secret URI of the signing key (`//Alice` on dev chains). It is visible in the process
	/// list: prefer `--key-file` outside development.
	#[arg(long, conflicts_with = "key_file")]
	pub suri: Option<String>,
	/// File holding the secret URI, mode 0600.
	#[arg(long)]
	pub key_file: Option<std::path::PathBuf>,
}

impl SignerArgs {
	/// The signer the flags name.
	pub fn signer(&self) -> Result<Signer> {
		match (&self.suri, &self.key_file) {
			(Some(uri), None) => Signer::from_uri(uri),
			(None, Some(path)) => Signer::from_key_file(path),
			(None, None) => Err(ChainError::Signer("give --suri or --key-file".into())),
			(Some(_), Some(_)) => {
				Err(ChainError::Signer("give either --suri or --key-file, not both".into()))
			}
		}
	}
}

#[cfg(test)]
mod tests {
	use super::*;
	use std::io::Write;

	const ALICE: &str = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY";

	#[test]
	fn dev_uri_gives_the_dev_account() {
		let signer = Signer::from_uri("//Alice").expect("dev URI");
		assert_eq!(signer.account_id().to_string(), ALICE);
		assert_eq!(format!("{signer:?}"), format!("Signer({ALICE})"));
	}

	#[test]
	fn bad_uri_is_a_typed_error_that_does_not_echo_the_secret() {
		let err = Signer::from_uri("not a phrase at all //x").expect_err("invalid");
		assert!(matches!(err, ChainError::Signer(_)));
		assert!(!err.to_string().contains("phrase at all"), "{err}");
	}

	#[test]
	fn signer_flags_need_exactly_one_source() {
		use clap::Parser;
		#[derive(Parser)]
		struct Cli {
			#[command(flatten)]
			signer: SignerArgs,
		}
		let cli = Cli::try_parse_from(["x", "--suri", "//Alice"]).expect("parse");
		assert_eq!(cli.signer.signer().expect("signer").account_id().to_string(), ALICE);
		let none = Cli::try_parse_from(["x"]).expect("parse");
		assert!(matches!(none.signer.signer(), Err(ChainError::Signer(_))));
		assert!(Cli::try_parse_from(["x", "--suri", "//A", "--key-file", "k"]).is_err());
	}

	#[cfg(unix)]
	#[test]
	fn key_file_must_be_private() {
		use std::os::unix::fs::PermissionsExt;
		let mut file = tempfile::NamedTempFile::new().expect("temp file");
		writeln!(file, "//Alice").expect("write");
		std::fs::set_permissions(file.path(), std::fs::Permissions::from_mode(0o644))
			.expect("chmod");
		let err = Signer::from_key_file(file.path()).expect_err("world-readable");
		assert!(matches!(err, ChainError::KeyFile { .. }), "{err}");
		assert!(err.to_string().contains("chmod 600"), "{err}");

		std::fs::set_permissions(file.path(), std::fs::Permissions::from_mode(0o600))
			.expect("chmod");
		let signer = Signer::from_key_file(file.path()).expect("private key file");
		assert_eq!(signer.account_id().to_string(), ALICE);
	}
}
