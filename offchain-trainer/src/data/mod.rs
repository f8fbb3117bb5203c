//! Training data: corpora, tokenizers, token shards (mmap), deterministic page assignment and
//! the held-out split, and batches.

pub mod assignment;
pub mod batch;
pub mod corpus;
pub mod prepare;
pub mod shard;
pub mod synthetic;
pub mod tokenizer;

pub use assignment::PageSplit;
pub use batch::Batch;
pub use shard::TokenShard;
pub use tokenizer::{Tokenizer, TokenizerKind};

use std::path::Path;

use tch::Device;

/// What can go wrong finding, reading or cutting training data.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
	/// A file could not be read or written.
	#[error("{path}: {source}")]
	Io {
		/// The file or directory.
		path: String,
		/// What went wrong.
		source: std::io::Error,
	},
	/// A corpus directory is missing or empty: run `scripts/fetch_corpora.sh`.
	#[error("corpus not found at {0}: run scripts/fetch_corpora.sh first")]
	MissingCorpus(String),
	/// A shard's files disagree or are not ours.
	#[error("bad token shard: {0}")]
	BadShard(String),
	/// A token id does not fit the shard's width.
	#[error("token id {0} does not fit the shard's dtype")]
	TokenOutOfRange(u32),
	/// Page length or held-out share out of range.
	#[error("bad page split: {0}")]
	BadSplit(String),
	/// Generated text is byte-tokenized; the model expects another tokenizer.
	#[error("--data synthetic is byte-tokenized; the model uses {0:?}")]
	SyntheticNeedsByteTokenizer(TokenizerKind),
	/// A window asks for more distinct pages than the training split has.
	#[error("{wanted} pages wanted but the training split has only {available}")]
	NotEnoughPages {
		/// Pages asked for.
		wanted: u64,
		/// Training pages in the shard.
		available: u64,
	},
}

impl DataError {
	/// An I/O error about `path`.
	pub fn io(path: &Path, source: std::io::Error) -> Self {
		Self::Io { path: path.display().to_string(), source }
	}
}

/// Where training text comes from (the `--data` flag of every command that trains).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum DataSource {
	/// The corpora `scripts/fetch_corpora.sh` put under the data directory, in the model's
	/// tokenizer.
	Corpora,
	/// Generated English-like text, byte tokenizer (needs no download).
	Synthetic,
}

/// A token shard cut into pages of one training sequence each, with its held-out split.
#[derive(Debug)]
pub struct Dataset {
	/// The tokens.
	pub shard: TokenShard,
	/// Pages and the held-out rule.
	pub split: PageSplit,
}

impl Dataset {
	/// The dataset `source` names: the corpora under `data_dir` in `tokenizer`, or
	/// `synthetic_bytes` of text generated from `seed` (byte tokenizer only).
	pub fn open(
		source: DataSource,
		data_dir: &Path,
		tokenizer: TokenizerKind,
		seq_len: usize,
		heldout_permille: u32,
		seed: u64,
		synthetic_bytes: usize,
	) -> Result<Self, DataError> {
		match source {
			DataSource::Corpora => {
				Self::from_corpora(data_dir, tokenizer, seq_len, heldout_permille)
			}
			DataSource::Synthetic if tokenizer == TokenizerKind::Byte => {
				Self::synthetic(seed, synthetic_bytes, seq_len, heldout_permille)
			}
			DataSource::Synthetic => Err(DataError::SyntheticNeedsByteTokenizer(tokenizer)),
		}
	}

	/// Sequences of `seq_len` tokens (pages of `seq_len + 1`) over `shard`.
	pub fn new(
		shard: TokenShard,
		seq_len: usize,
		heldout_permille: u32,
	) -> Result<Self, DataError> {
		let split = PageSplit::new(shard.len(), seq_len + 1, heldout_permille)?;
		Ok(Self { shard, split })
	}

	/// The real corpora under `data_dir` (fetched by `scripts/fetch_corpora.sh`), tokenized once.
	pub fn from_corpora(
		data_dir: &Path,
		tokenizer: TokenizerKind,
		seq_len: usize,
		heldout_permille: u32,
	) -> Result<Self, DataError> {
		let bin = prepare::ensure_shard(data_dir, tokenizer)?;
		Self::new(TokenShard::open(&bin)?, seq_len, heldout_permille)
	}

	/// About `n_bytes` of generated text under the byte tokenizer (tests, offline demos).
	pub fn synthetic(
		seed: u64,
		n_bytes: usize,
		seq_len: usize,
		heldout_permille: u32,
	) -> Result<Self, DataError> {
		let text = synthetic::synthetic_text(seed, n_bytes);
		let tokens = Tokenizer::new(TokenizerKind::Byte).encode(&text);
		Self::new(TokenShard::from_tokens(TokenizerKind::Byte, tokens), seq_len, heldout_permille)
	}

	/// Sequence length of every batch.
	pub fn seq_len(&self) -> usize {
		self.split.page_len - 1
	}

	/// The batch made of `pages`, in order.
	pub fn batch(&self, pages: &[u64], device: Device) -> Batch {
		Batch::from_pages(&self.shard, &self.split, pages, device)
	}

	/// The evaluation batch: up to `sequences` held-out pages spread over the shard.
	pub fn heldout_batch(&self, sequences: usize, device: Device) -> Batch {
		self.batch(&self.split.heldout_pages(sequences), device)
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn synthetic_data_is_byte_text_and_refused_for_another_tokenizer() {
		let dir = Path::new("/nonexistent");
		let data =
			Dataset::open(DataSource::Synthetic, dir, TokenizerKind::Byte, 16, 50, 1, 20_000);
		assert!(data.is_ok_and(|d| d.split.train_page_count() > 0));
		let refused =
			Dataset::open(DataSource::Synthetic, dir, TokenizerKind::Gpt2, 16, 50, 1, 20_000);
		assert!(matches!(
			refused,
			Err(DataError::SyntheticNeedsByteTokenizer(TokenizerKind::Gpt2))
		));
	}
}
