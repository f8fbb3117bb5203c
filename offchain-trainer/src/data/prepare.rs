//! Tokenizing the fetched corpora once into a token shard (`<data>/tokens/<tokenizer>.bin`).

use std::path::{Path, PathBuf};

use super::corpus::{load_documents, Document};
use super::shard::{meta_path, write_shard, ShardMeta, TokenShard};
use super::{DataError, Tokenizer, TokenizerKind};

/// Where the shard of `tokenizer` lives under the data directory.
pub fn shard_path(data_dir: &Path, tokenizer: TokenizerKind) -> PathBuf {
	data_dir.join("tokens").join(format!("{}.bin", tokenizer.name()))
}

/// Tokens of `docs`, each followed by the document separator, tokenized on all cores.
pub fn tokenize_documents(tokenizer: TokenizerKind, docs: &[Document]) -> Vec<u32> {
	let threads =
		std::thread::available_parallelism().map_or(1, |n| n.get()).min(docs.len().max(1));
	let per_thread = docs.len().div_ceil(threads.max(1)).max(1);
	let parts: Vec<Vec<u32>> = std::thread::scope(|s| {
		let handles: Vec<_> = docs
			.chunks(per_thread)
			.map(|chunk| {
				s.spawn(move || {
					let tok = Tokenizer::new(tokenizer);
					tok.encode_documents(chunk.iter().map(|d| d.text.as_str()))
				})
			})
			.collect();
		handles.into_iter().map(|h| h.join().expect("tokenizer thread panicked")).collect()
	});
	parts.concat()
}

/// Makes sure the shard of `tokenizer` exists for the corpora under `data_dir`, tokenizing them
/// if it is missing or was built from other documents; returns its path. Quick when present.
pub fn ensure_shard(data_dir: &Path, tokenizer: TokenizerKind) -> Result<PathBuf, DataError> {
	let bin = shard_path(data_dir, tokenizer);
	let docs = match load_documents(data_dir) {
		Ok(docs) => docs,
		// A shard carried to a machine without the raw corpora is used as it is.
		Err(DataError::MissingCorpus(dir)) if TokenShard::open(&bin).is_ok() => {
			tracing::info!(missing = dir, shard = %bin.display(), "raw corpora absent; using the shard");
			return Ok(bin);
		}
		Err(e) => return Err(e),
	};
	let sources: Vec<String> = docs.iter().map(|d| d.source.clone()).collect();
	if let Ok(text) = std::fs::read_to_string(meta_path(&bin)) {
		if let Ok(meta) = serde_json::from_str::<ShardMeta>(&text) {
			if meta.sources == sources
				&& meta.tokenizer == tokenizer
				&& TokenShard::open(&bin).is_ok()
			{
				return Ok(bin);
			}
		}
	}
	tracing::info!(documents = docs.len(), tokenizer = tokenizer.name(), "tokenizing corpora");
	let tokens = tokenize_documents(tokenizer, &docs);
	let meta = write_shard(&bin, tokenizer, &tokens, sources)?;
	tracing::info!(tokens = meta.n_tokens, path = %bin.display(), "token shard written");
	Ok(bin)
}
