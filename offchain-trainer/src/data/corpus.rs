//! Reading the raw corpora that `scripts/fetch_corpora.sh` unpacks into `<data>/raw/` (the Brown
//! corpus and Shakespeare's plays and poems) into plain-text documents.

use std::path::{Path, PathBuf};

use super::DataError;

/// Where the fetch script puts each corpus, under the data directory.
pub const BROWN_DIR: &str = "raw/brown";
/// See [`BROWN_DIR`].
pub const SHAKESPEARE_DIR: &str = "raw/shakespeare";

/// One text with the file it came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Document {
	/// File name relative to the corpus directory.
	pub source: String,
	/// Plain text.
	pub text: String,
}

/// Every document of both corpora in a fixed order (Brown by file name, then Shakespeare by
/// file name), so that the token stream built from them is the same on every machine.
pub fn load_documents(data_dir: &Path) -> Result<Vec<Document>, DataError> {
	let mut docs = brown_documents(&data_dir.join(BROWN_DIR))?;
	docs.extend(shakespeare_documents(&data_dir.join(SHAKESPEARE_DIR))?);
	Ok(docs)
}

fn sorted_files(dir: &Path, keep: impl Fn(&str) -> bool) -> Result<Vec<PathBuf>, DataError> {
	let entries = match std::fs::read_dir(dir) {
		Ok(entries) => entries,
		Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
			return Err(DataError::MissingCorpus(dir.display().to_string()))
		}
		Err(e) => return Err(DataError::io(dir, e)),
	};
	let mut files = Vec::new();
	for entry in entries {
		let path = entry.map_err(|e| DataError::io(dir, e))?.path();
		if path.file_name().and_then(|n| n.to_str()).is_some_and(&keep) {
			files.push(path);
		}
	}
	files.sort();
	if files.is_empty() {
		return Err(DataError::MissingCorpus(dir.display().to_string()));
	}
	Ok(files)
}

fn read(path: &Path) -> Result<(String, String), DataError> {
	let bytes = std::fs::read(path).map_err(|e| DataError::io(path, e))?;
	let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
	Ok((name, String::from_utf8_lossy(&bytes).replace("\r\n", "\n")))
}

/// The Brown corpus: files `ca01`…`cr09`, tags stripped.
pub fn brown_documents(dir: &Path) -> Result<Vec<Document>, DataError> {
	let is_text = |n: &str| {
		let b = n.as_bytes();
		b.len() == 4
			&& b[0] == b'c'
			&& b[1].is_ascii_lowercase()
			&& b[2..].iter().all(u8::is_ascii_digit)
	};
	sorted_files(dir, is_text)?
		.iter()
		.map(|p| read(p).map(|(source, raw)| Document { source, text: untag_brown(&raw) }))
		.collect()
}

/// Shakespeare's texts (`*_gut.txt`), as they are.
pub fn shakespeare_documents(dir: &Path) -> Result<Vec<Document>, DataError> {
	sorted_files(dir, |n| n.ends_with("_gut.txt"))?
		.iter()
		.map(|p| read(p).map(|(source, text)| Document { source, text: text.trim().to_string() }))
		.collect()
}

/// Turns the Brown corpus's `word/tag` tokens back into running text: tags dropped, one
/// sentence per input line joined into paragraphs, punctuation re-attached, and the corpus's
/// `` `` `` / `''` quote marks written as `"`.
pub fn untag_brown(raw: &str) -> String {
	let mut paragraphs: Vec<String> = Vec::new();
	let mut current = String::new();
	for line in raw.lines() {
		let line = line.trim();
		if line.is_empty() {
			if !current.is_empty() {
				paragraphs.push(std::mem::take(&mut current));
			}
			continue;
		}
		let mut glue_next = true;
		for token in line.split_whitespace() {
			let word = token.rsplit_once('/').map_or(token, |(w, _)| w);
			let (word, glue_before, glue_after) = match word {
				"``" => ("\"", false, true),
				"''" => ("\"", true, false),
				"." | "," | ";" | ":" | "?" | "!" | ")" | "]" => (word, true, false),
				"(" | "[" => (word, false, true),
				w if w.starts_with('\'') => (w, true, false),
				w => (w, false, false),
			};
			if !(current.is_empty() || glue_before || glue_next) {
				current.push(' ');
			}
			current.push_str(word);
			glue_next = glue_after;
		}
		if !current.is_empty() && !current.ends_with(' ') {
			current.push(' ');
		}
	}
	if !current.is_empty() {
		paragraphs.push(current);
	}
	paragraphs.iter().map(|p| p.trim_end()).collect::<Vec<_>>().join("\n\n")
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn brown_tags_are_stripped_and_punctuation_reattached() {
		let raw = "\n\n\tThe/at jury/nn said/vbd ``/`` no/at evidence/nn ''/'' ,/, and/cc \
			Atlanta's/np$ (/( primary/nn )/) ended/vbd ./.\nIt/pps did/dod ./.\n\n\tNext/ap one/cd ./.\n";
		assert_eq!(
			untag_brown(raw),
			"The jury said \"no evidence\", and Atlanta's (primary) ended. It did.\n\nNext one."
		);
	}
}
