//! The trainer's tokenizers as Hugging Face `tokenizers` files (`tokenizer.json`,
//! `tokenizer_config.json`), built from the tables compiled into the binary: nothing is downloaded.
//!
//! Both are byte-level BPE in GPT-2's form: every byte is first mapped to a printable character
//! (GPT-2's `bytes_to_unicode`), then merged by rank.
//! - **GPT-2** (`r50k_base`): tiktoken stores only each token's bytes and rank (= id). A BPE
//!   merge list is recovered from them as OpenAI's and HF's tiktoken converters do: the token of
//!   rank `r ≥ 256` is the merge of the two parts that BPE on its own bytes reaches using only
//!   ranks below `r`, and merge priority is rank order. `<|endoftext|>` (50256) is a special token.
//! - **Byte**: one token per byte, id = byte value, no merges and no pre-tokenizer regex.
//!
//! Our encoder treats `<|endoftext|>` in text as plain text (`encode_ordinary`); the HF tokenizer
//! matches it as the special token, as GPT-2's own HF tokenizer does. Everything else encodes to
//! the same ids (the export round-trip test checks it on mixed text).

use std::collections::HashMap;

use serde_json::{json, Value};

use super::ExportError;
use crate::data::tokenizer::GPT2_EOT;
use crate::data::TokenizerKind;

/// GPT-2's `<|endoftext|>`.
const ENDOFTEXT: &str = "<|endoftext|>";

/// GPT-2's `bytes_to_unicode`: byte `b` as the printable character byte-level BPE writes for it.
/// Printable Latin-1 bytes stand for themselves; the others (controls, space, …) are mapped in
/// order to U+0100 onwards (space is `Ġ`, newline `Ċ`).
pub fn byte_to_unicode() -> [char; 256] {
	let printable = |b: u32| (0x21..=0x7e).contains(&b) || (0xa1..=0xac).contains(&b) || b >= 0xae;
	let mut table = ['\0'; 256];
	let mut next = 0x100;
	for b in 0..=255u32 {
		let code = if printable(b) {
			b
		} else {
			next += 1;
			next - 1
		};
		table[b as usize] = char::from_u32(code).expect("below U+0200, a valid scalar");
	}
	table
}

/// `bytes` in byte-level characters.
fn byte_level(bytes: &[u8], table: &[char; 256]) -> String {
	bytes.iter().map(|&b| table[b as usize]).collect()
}

/// The parts BPE splits `token` into when it may use only tokens of rank below `max_rank`:
/// repeatedly merge the adjacent pair whose concatenation has the lowest rank (the leftmost on a
/// tie), as tiktoken's encoder does.
fn bpe_parts<'a>(token: &'a [u8], ranks: &HashMap<&[u8], u32>, max_rank: u32) -> Vec<&'a [u8]> {
	// Part i is token[bounds[i]..bounds[i + 1]].
	let mut bounds: Vec<usize> = (0..=token.len()).collect();
	while bounds.len() > 2 {
		let best = (0..bounds.len() - 2)
			.filter_map(|i| ranks.get(&token[bounds[i]..bounds[i + 2]]).map(|&r| (r, i)))
			.min();
		match best {
			Some((rank, i)) if rank < max_rank => {
				bounds.remove(i + 1);
			}
			_ => break,
		}
	}
	bounds.windows(2).map(|w| &token[w[0]..w[1]]).collect()
}

/// GPT-2's byte-level BPE tables.
#[derive(Debug)]
pub struct Gpt2Tables {
	/// Token strings (byte-level characters), indexed by id; `<|endoftext|>` last.
	pub vocab: Vec<String>,
	/// Merges in priority order: merge `i` makes the token of id `256 + i`.
	pub merges: Vec<(String, String)>,
}

/// GPT-2's vocabulary and merges, recovered from tiktoken's `r50k_base` ranks (see the module doc).
pub fn gpt2_tables() -> Result<Gpt2Tables, ExportError> {
	let bpe = tiktoken_rs::r50k_base_singleton();
	let tokens: Vec<Vec<u8>> = bpe._decode_native_and_split((0..GPT2_EOT).collect()).collect();
	let ranks: HashMap<&[u8], u32> =
		tokens.iter().enumerate().map(|(r, t)| (t.as_slice(), r as u32)).collect();
	let bad = |m: String| ExportError::Tokenizer(m);
	if let Some(r) = (0..256).find(|&r| tokens[r].len() != 1) {
		return Err(bad(format!("rank {r} is not a single byte")));
	}
	let table = byte_to_unicode();
	let mut merges = Vec::with_capacity(tokens.len() - 256);
	for (rank, token) in tokens.iter().enumerate().skip(256) {
		match bpe_parts(token, &ranks, rank as u32)[..] {
			[a, b] => merges.push((byte_level(a, &table), byte_level(b, &table))),
			ref parts => {
				return Err(bad(format!("token {rank} splits into {} parts, not 2", parts.len())))
			}
		}
	}
	let mut vocab: Vec<String> = tokens.iter().map(|t| byte_level(t, &table)).collect();
	vocab.push(ENDOFTEXT.into());
	Ok(Gpt2Tables { vocab, merges })
}

/// A `tokenizers` BPE model over `vocab` (ids in order) and `merges`.
fn bpe_model(vocab: &[String], merges: &[(String, String)]) -> Value {
	let vocab: serde_json::Map<String, Value> =
		vocab.iter().enumerate().map(|(id, t)| (t.clone(), json!(id))).collect();
	// "a b" strings: byte-level tokens never contain a space (it is `Ġ`), and every `tokenizers`
	// version reads this form.
	let merges: Vec<String> = merges.iter().map(|(a, b)| format!("{a} {b}")).collect();
	json!({
		"type": "BPE",
		"dropout": null,
		"unk_token": null,
		"continuing_subword_prefix": "",
		"end_of_word_suffix": "",
		"fuse_unk": false,
		"byte_fallback": false,
		"ignore_merges": false,
		"vocab": vocab,
		"merges": merges,
	})
}

/// A ByteLevel component (pre-tokenizer, post-processor or decoder); `use_regex` splits text
/// with GPT-2's pattern first.
fn byte_level_step(add_prefix_space: bool, trim_offsets: bool, use_regex: bool) -> Value {
	json!({
		"type": "ByteLevel",
		"add_prefix_space": add_prefix_space,
		"trim_offsets": trim_offsets,
		"use_regex": use_regex,
	})
}

/// `tokenizer.json` of `kind` (the file `PreTrainedTokenizerFast` loads).
pub fn tokenizer_json(kind: TokenizerKind) -> Result<Value, ExportError> {
	let (model, added, use_regex) = match kind {
		TokenizerKind::Gpt2 => {
			let tables = gpt2_tables()?;
			let added = json!([{
				"id": GPT2_EOT,
				"content": ENDOFTEXT,
				"single_word": false,
				"lstrip": false,
				"rstrip": false,
				"normalized": true,
				"special": true,
			}]);
			(bpe_model(&tables.vocab, &tables.merges), added, true)
		}
		TokenizerKind::Byte => {
			let table = byte_to_unicode();
			let vocab: Vec<String> = table.iter().map(char::to_string).collect();
			(bpe_model(&vocab, &[]), json!([]), false)
		}
	};
	Ok(json!({
		"version": "1.0",
		"truncation": null,
		"padding": null,
		"added_tokens": added,
		"normalizer": null,
		"pre_tokenizer": byte_level_step(false, true, use_regex),
		"post_processor": byte_level_step(true, false, use_regex),
		"decoder": byte_level_step(true, true, use_regex),
		"model": model,
	}))
}

/// `tokenizer_config.json` of `kind`: the generic fast tokenizer (so `AutoTokenizer` does not
/// pick LLaMA's SentencePiece class from `config.json`), no cleanup of spaces on decoding (it
/// would change the text), and GPT-2's `<|endoftext|>` as BOS and EOS.
pub fn tokenizer_config_json(kind: TokenizerKind, model_max_length: i64) -> Value {
	let mut config = json!({
		"tokenizer_class": "PreTrainedTokenizerFast",
		"model_max_length": model_max_length,
		"clean_up_tokenization_spaces": false,
	});
	if kind == TokenizerKind::Gpt2 {
		config["bos_token"] = json!(ENDOFTEXT);
		config["eos_token"] = json!(ENDOFTEXT);
	}
	config
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn byte_table_is_gpt2s() {
		let table = byte_to_unicode();
		assert_eq!(table[b'!' as usize], '!');
		assert_eq!(table[b' ' as usize], 'Ġ');
		assert_eq!(table[b'\n' as usize], 'Ċ');
		assert_eq!(table[0], 'Ā');
		let mut distinct = table.to_vec();
		distinct.sort_unstable();
		distinct.dedup();
		assert_eq!(distinct.len(), 256, "a bijection");
	}

	/// The recovered tables are GPT-2's published ones: 50000 merges starting `Ġ t`, `Ġ a`,
	/// `h e`, `i n` (the first lines of GPT-2's `vocab.bpe`), ids 15496 = `Hello` and 995 =
	/// `Ġworld`, and `<|endoftext|>` = 50256.
	#[test]
	fn gpt2_tables_are_gpt2s() {
		let tables = gpt2_tables().unwrap();
		assert_eq!(tables.vocab.len(), 50257);
		assert_eq!(tables.merges.len(), 50000);
		let first: Vec<(&str, &str)> =
			tables.merges[..4].iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
		assert_eq!(first, vec![("Ġ", "t"), ("Ġ", "a"), ("h", "e"), ("i", "n")]);
		assert_eq!(tables.vocab[256], "Ġt");
		assert_eq!(tables.vocab[15496], "Hello");
		assert_eq!(tables.vocab[995], "Ġworld");
		assert_eq!(tables.vocab[50256], ENDOFTEXT);
		// Each merge makes its token.
		for (i, (a, b)) in tables.merges.iter().enumerate() {
			assert_eq!(format!("{a}{b}"), tables.vocab[256 + i], "merge {i}");
		}
	}

	#[test]
	fn bpe_parts_stop_below_the_rank() {
		let ranks: HashMap<&[u8], u32> =
			[(&b"a"[..], 0), (b"b", 1), (b"ab", 2), (b"abb", 3)].into_iter().collect();
		assert_eq!(bpe_parts(b"abb", &ranks, 3), vec![&b"ab"[..], b"b"]);
		assert_eq!(bpe_parts(b"abb", &ranks, 2), vec![&b"a"[..], b"b", b"b"]);
		assert_eq!(bpe_parts(b"abb", &ranks, 4), vec![&b"abb"[..]]);
	}

	#[test]
	fn byte_tokenizer_maps_each_byte_to_its_value() {
		let json = tokenizer_json(TokenizerKind::Byte).unwrap();
		let vocab = json["model"]["vocab"].as_object().unwrap();
		assert_eq!(vocab.len(), 256);
		assert_eq!(vocab["Ġ"], 32);
		assert_eq!(vocab["A"], 65);
		assert_eq!(json["model"]["merges"].as_array().unwrap().len(), 0);
		assert_eq!(json["pre_tokenizer"]["use_regex"], false);
	}
}
