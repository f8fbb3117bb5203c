//! Token shards: a flat little-endian array of token ids (`u16` when the vocabulary fits, else
//! `u32`) in `<name>.bin`, described by `<name>.json`, read through a memory map.

use std::path::{Path, PathBuf};

use memmap2::Mmap;
use serde::{Deserialize, Serialize};

use super::{DataError, TokenizerKind};

/// Bumped when the layout of shard files changes.
pub const SHARD_FORMAT_VERSION: u32 = 1;

/// Width of one stored token id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenDtype {
	/// Two bytes, little-endian (vocabularies up to 65536).
	U16,
	/// Four bytes, little-endian.
	U32,
}

impl TokenDtype {
	/// The narrowest width that holds every id of `tokenizer`.
	pub fn for_tokenizer(tokenizer: TokenizerKind) -> Self {
		if tokenizer.vocab_size() <= 1 << 16 {
			Self::U16
		} else {
			Self::U32
		}
	}

	/// Bytes per token.
	pub fn width(self) -> usize {
		match self {
			Self::U16 => 2,
			Self::U32 => 4,
		}
	}
}

/// The sidecar `<name>.json` of a shard.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardMeta {
	/// [`SHARD_FORMAT_VERSION`] at writing time.
	pub format_version: u32,
	/// The tokenizer that produced the ids.
	pub tokenizer: TokenizerKind,
	/// How each id is stored.
	pub dtype: TokenDtype,
	/// Number of tokens in the `.bin` file.
	pub n_tokens: u64,
	/// The documents tokenized, in order (file names), for provenance.
	pub sources: Vec<String>,
}

enum Tokens {
	Mapped(Mmap),
	Owned(Vec<u32>),
}

/// A read-only token stream, memory-mapped from disk or held in memory (tests).
pub struct TokenShard {
	tokens: Tokens,
	dtype: TokenDtype,
	tokenizer: TokenizerKind,
	len: usize,
}

impl std::fmt::Debug for TokenShard {
	fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
		f.debug_struct("TokenShard")
			.field("tokenizer", &self.tokenizer)
			.field("dtype", &self.dtype)
			.field("len", &self.len)
			.finish()
	}
}

/// The `.json` path beside a shard's `.bin` path.
pub fn meta_path(bin: &Path) -> PathBuf {
	bin.with_extension("json")
}

impl TokenShard {
	/// Opens `<name>.bin` with its `<name>.json`, checking that the sizes agree.
	pub fn open(bin: &Path) -> Result<Self, DataError> {
		let meta_file = meta_path(bin);
		let meta_text =
			std::fs::read_to_string(&meta_file).map_err(|e| DataError::io(&meta_file, e))?;
		let meta: ShardMeta = serde_json::from_str(&meta_text)
			.map_err(|e| DataError::BadShard(format!("{}: {e}", meta_file.display())))?;
		if meta.format_version != SHARD_FORMAT_VERSION {
			return Err(DataError::BadShard(format!(
				"{}: format version {} (expected {SHARD_FORMAT_VERSION})",
				meta_file.display(),
				meta.format_version
			)));
		}
		let file = std::fs::File::open(bin).map_err(|e| DataError::io(bin, e))?;
		// SAFETY: the shard is written once (to a temporary name, then renamed) and never
		// modified in place, so the mapping does not change under us.
		let map = unsafe { Mmap::map(&file) }.map_err(|e| DataError::io(bin, e))?;
		let expected = meta.n_tokens as usize * meta.dtype.width();
		if map.len() != expected {
			return Err(DataError::BadShard(format!(
				"{}: {} bytes, metadata says {} tokens of {} bytes",
				bin.display(),
				map.len(),
				meta.n_tokens,
				meta.dtype.width()
			)));
		}
		Ok(Self {
			tokens: Tokens::Mapped(map),
			dtype: meta.dtype,
			tokenizer: meta.tokenizer,
			len: meta.n_tokens as usize,
		})
	}

	/// An in-memory shard (tests, generated data).
	pub fn from_tokens(tokenizer: TokenizerKind, tokens: Vec<u32>) -> Self {
		let len = tokens.len();
		Self { tokens: Tokens::Owned(tokens), dtype: TokenDtype::U32, tokenizer, len }
	}

	/// Number of tokens.
	pub fn len(&self) -> usize {
		self.len
	}

	/// Whether the shard holds no tokens.
	pub fn is_empty(&self) -> bool {
		self.len == 0
	}

	/// The tokenizer of the ids.
	pub fn tokenizer(&self) -> TokenizerKind {
		self.tokenizer
	}

	/// Appends tokens `start..start+len` to `out` as `i64` (what embeddings index with).
	/// Panics if the range is outside the shard; callers take ranges from [`super::PageSplit`].
	pub fn extend_range(&self, start: usize, len: usize, out: &mut Vec<i64>) {
		assert!(start + len <= self.len, "token range {start}+{len} beyond {}", self.len);
		match &self.tokens {
			Tokens::Owned(v) => out.extend(v[start..start + len].iter().map(|&t| i64::from(t))),
			Tokens::Mapped(map) => {
				let w = self.dtype.width();
				let bytes = &map[start * w..(start + len) * w];
				match self.dtype {
					TokenDtype::U16 => out.extend(
						bytes.chunks_exact(2).map(|b| i64::from(u16::from_le_bytes([b[0], b[1]]))),
					),
					TokenDtype::U32 => out.extend(
						bytes
							.chunks_exact(4)
							.map(|b| i64::from(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))),
					),
				}
			}
		}
	}
}

/// Writes `tokens` as a shard at `bin` (+ `.json`), each file through a temporary name and a
/// rename so that a reader never sees half a shard.
pub fn write_shard(
	bin: &Path,
	tokenizer: TokenizerKind,
	tokens: &[u32],
	sources: Vec<String>,
) -> Result<ShardMeta, DataError> {
	let dtype = TokenDtype::for_tokenizer(tokenizer);
	let mut bytes = Vec::with_capacity(tokens.len() * dtype.width());
	for &t in tokens {
		match dtype {
			TokenDtype::U16 => {
				let t = u16::try_from(t).map_err(|_| DataError::TokenOutOfRange(t))?;
				bytes.extend_from_slice(&t.to_le_bytes());
			}
			TokenDtype::U32 => bytes.extend_from_slice(&t.to_le_bytes()),
		}
	}
	let meta = ShardMeta {
		format_version: SHARD_FORMAT_VERSION,
		tokenizer,
		dtype,
		n_tokens: tokens.len() as u64,
		sources,
	};
	let meta_json = serde_json::to_vec_pretty(&meta).expect("shard metadata serialises");
	write_atomically(bin, &bytes)?;
	write_atomically(&meta_path(bin), &meta_json)?;
	Ok(meta)
}

fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), DataError> {
	crate::atomic_file::write(path, bytes).map_err(|e| DataError::io(path, e))
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn written_shard_reads_back_through_mmap() {
		let dir = tempfile::tempdir().unwrap();
		let bin = dir.path().join("t.bin");
		let tokens: Vec<u32> = (0..1000).map(|i| (i * 37) % 50257).collect();
		let meta = write_shard(&bin, TokenizerKind::Gpt2, &tokens, vec!["x".into()]).unwrap();
		assert_eq!(meta.dtype, TokenDtype::U16);
		assert_eq!(std::fs::metadata(&bin).unwrap().len(), 2000);
		let shard = TokenShard::open(&bin).unwrap();
		let mut out = Vec::new();
		shard.extend_range(990, 10, &mut out);
		let want: Vec<i64> = tokens[990..].iter().map(|&t| i64::from(t)).collect();
		assert_eq!(out, want);
	}

	#[test]
	fn truncated_shard_is_refused() {
		let dir = tempfile::tempdir().unwrap();
		let bin = dir.path().join("t.bin");
		write_shard(&bin, TokenizerKind::Byte, &[1, 2, 3], vec![]).unwrap();
		std::fs::write(&bin, [1u8, 0, 2]).unwrap();
		assert!(matches!(TokenShard::open(&bin), Err(DataError::BadShard(_))));
	}
}
