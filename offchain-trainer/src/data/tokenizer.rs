//! Tokenizers: GPT-2 BPE (r50k_base, embedded in `tiktoken-rs`) for real text, and raw bytes for
//! unit tests, which then need no vocabulary files and no corpora.

use serde::{Deserialize, Serialize};

/// The GPT-2 end-of-text token, placed between documents.
pub const GPT2_EOT: u32 = 50256;

/// Which tokenizer a model and its token shards use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum TokenizerKind {
	/// One token per byte (vocabulary 256); documents joined by a blank line.
	Byte,
	/// GPT-2 BPE, `r50k_base` (vocabulary 50257, `<|endoftext|>` = 50256 between documents).
	Gpt2,
}

impl TokenizerKind {
	/// Number of distinct token ids.
	pub fn vocab_size(self) -> i64 {
		match self {
			Self::Byte => 256,
			Self::Gpt2 => 50257,
		}
	}

	/// The name used in file names and metadata.
	pub fn name(self) -> &'static str {
		match self {
			Self::Byte => "byte",
			Self::Gpt2 => "gpt2",
		}
	}
}

/// A ready tokenizer.
pub enum Tokenizer {
	/// See [`TokenizerKind::Byte`].
	Byte,
	/// See [`TokenizerKind::Gpt2`].
	Gpt2(&'static tiktoken_rs::CoreBPE),
}

impl std::fmt::Debug for Tokenizer {
	fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
		f.write_str(self.kind().name())
	}
}

impl Tokenizer {
	/// Loads the tokenizer (GPT-2's tables are compiled into the binary: no files, no network).
	pub fn new(kind: TokenizerKind) -> Self {
		match kind {
			TokenizerKind::Byte => Self::Byte,
			TokenizerKind::Gpt2 => Self::Gpt2(tiktoken_rs::r50k_base_singleton()),
		}
	}

	/// Which tokenizer this is.
	pub fn kind(&self) -> TokenizerKind {
		match self {
			Self::Byte => TokenizerKind::Byte,
			Self::Gpt2(_) => TokenizerKind::Gpt2,
		}
	}

	/// Token ids of `text` (special-token text such as `<|endoftext|>` is encoded as plain text).
	pub fn encode(&self, text: &str) -> Vec<u32> {
		match self {
			Self::Byte => text.bytes().map(u32::from).collect(),
			Self::Gpt2(bpe) => bpe.encode_ordinary(text),
		}
	}

	/// Token ids of many documents, each followed by the document separator.
	pub fn encode_documents<'a>(&self, docs: impl IntoIterator<Item = &'a str>) -> Vec<u32> {
		let mut out = Vec::new();
		for doc in docs {
			out.extend(self.encode(doc));
			match self {
				Self::Byte => out.extend(b"\n\n".iter().map(|&b| u32::from(b))),
				Self::Gpt2(_) => out.push(GPT2_EOT),
			}
		}
		out
	}

	/// Text of `tokens` (lossy where ids do not form valid UTF-8).
	pub fn decode(&self, tokens: &[u32]) -> String {
		match self {
			Self::Byte => {
				let bytes: Vec<u8> = tokens.iter().map(|&t| t.min(255) as u8).collect();
				String::from_utf8_lossy(&bytes).into_owned()
			}
			Self::Gpt2(bpe) => bpe.decode(tokens.to_vec()).unwrap_or_default(),
		}
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn byte_tokenizer_round_trips() {
		let t = Tokenizer::new(TokenizerKind::Byte);
		let ids = t.encode("Hi, é");
		assert_eq!(ids, vec![72, 105, 44, 32, 195, 169]);
		assert_eq!(t.decode(&ids), "Hi, é");
	}

	#[test]
	fn gpt2_tokenizer_matches_known_ids() {
		let t = Tokenizer::new(TokenizerKind::Gpt2);
		// GPT-2's ids for "Hello world" (as in OpenAI's tiktoken and HF's gpt2 tokenizer).
		assert_eq!(t.encode("Hello world"), vec![15496, 995]);
		assert_eq!(t.decode(&[15496, 995]), "Hello world");
		assert_eq!(t.encode_documents(["a", "b"]).last(), Some(&GPT2_EOT));
	}
}
