//! What can go wrong talking to the chain, as one enum callers can match on.

use std::path::PathBuf;

/// An error of the typed chain client.
#[derive(Debug, thiserror::Error)]
pub enum ChainError {
	/// No RPC connection could be made to the node.
	#[error("cannot connect to {url}: {source}")]
	Connect {
		/// The endpoint that was tried.
		url: String,
		/// What the RPC layer reported.
		#[source]
		source: Box<subxt::Error>,
	},
	/// The node answered with a runtime whose calls, storage or runtime APIs differ from the
	/// metadata this client was generated from.
	#[error(
		"the node's runtime does not match the metadata this client was built from \
		 ({what}): run scripts/refresh-metadata.sh and rebuild"
	)]
	IncompatibleRuntime {
		/// Which call, storage item or API differs.
		what: &'static str,
	},
	/// The transaction was included but its dispatch failed (e.g. `Gauntlet::WrongWindow`).
	#[error("{call} failed on chain: {error}")]
	Dispatch {
		/// The call that was submitted, as `Pallet.call`.
		call: &'static str,
		/// The runtime's error, as `Pallet::Variant` where known.
		error: String,
	},
	/// A value passed to a call is out of the range the chain accepts (nothing was submitted).
	#[error("invalid {field}: {reason}")]
	InvalidInput {
		/// The argument.
		field: &'static str,
		/// Why it was rejected.
		reason: String,
	},
	/// The signer's secret URI or key file could not be used (the secret itself is never shown).
	#[error("signer: {0}")]
	Signer(String),
	/// A key file could not be read or is readable by other users.
	#[error("key file {path}: {reason}")]
	KeyFile {
		/// The file.
		path: PathBuf,
		/// Why it was rejected.
		reason: String,
	},
	/// The node sent something that does not decode as this runtime's types.
	#[error("cannot decode {what} from the node: {reason}")]
	Decode {
		/// What was being decoded.
		what: &'static str,
		/// The decoder's message.
		reason: String,
	},
	/// Any other RPC or subxt failure (connection dropped, node error, timeout...).
	#[error("{context}: {source}")]
	Rpc {
		/// What the client was doing.
		context: &'static str,
		/// The underlying error.
		#[source]
		source: Box<subxt::Error>,
	},
}

impl ChainError {
	/// Wrap a subxt error met while doing `context`, recognising a stale code generation.
	pub(crate) fn rpc(context: &'static str, error: impl Into<subxt::Error>) -> Self {
		let error: subxt::Error = error.into();
		if is_incompatible_codegen(&error) {
			return Self::IncompatibleRuntime { what: context };
		}
		Self::Rpc { context, source: Box::new(error) }
	}
}

fn is_incompatible_codegen(error: &subxt::Error) -> bool {
	use subxt::error::{Error as E, ExtrinsicError, RuntimeApiError, StorageError};
	matches!(
		error,
		E::RuntimeApiError(RuntimeApiError::IncompatibleCodegen)
			| E::ExtrinsicError(ExtrinsicError::IncompatibleCodegen)
			| E::StorageError(StorageError::IncompatibleCodegen)
	)
}

/// The client's result type.
pub type Result<T, E = ChainError> = std::result::Result<T, E>;
