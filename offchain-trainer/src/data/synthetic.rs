//! Generated English-like text for tests and CPU demos that must not need the fetched corpora:
//! sentences from a small grammar, drawn by a seeded generator, so a byte-level model has real
//! structure (spelling, word order, punctuation) to learn.

/// A small, fast, seedable generator (SplitMix64); good enough for picking words.
struct SplitMix64(u64);

impl SplitMix64 {
	fn next(&mut self) -> u64 {
		self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
		let mut z = self.0;
		z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
		z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
		z ^ (z >> 31)
	}

	fn pick<'a>(&mut self, words: &[&'a str]) -> &'a str {
		words[(self.next() % words.len() as u64) as usize]
	}
}

const DETERMINERS: &[&str] = &["the", "a", "every", "that", "one", "no"];
const ADJECTIVES: &[&str] =
	&["quick", "lazy", "old", "young", "bright", "quiet", "small", "great", "red", "gentle"];
const NOUNS: &[&str] = &[
	"fox", "dog", "king", "queen", "river", "castle", "sailor", "garden", "letter", "horse",
	"merchant", "bird", "storm", "village", "lamp",
];
const VERBS: &[&str] = &[
	"sees",
	"finds",
	"loves",
	"follows",
	"keeps",
	"sells",
	"watches",
	"remembers",
	"carries",
	"answers",
];
const ADVERBS: &[&str] = &["slowly", "again", "today", "at night", "without a word", "gladly"];

/// About `n_bytes` of generated text, the same for the same `seed`.
pub fn synthetic_text(seed: u64, n_bytes: usize) -> String {
	let mut rng = SplitMix64(seed);
	let mut out = String::with_capacity(n_bytes + 128);
	while out.len() < n_bytes {
		let mut sentence = String::new();
		for part in 0..2 {
			if part == 1 {
				sentence.push(' ');
			}
			sentence.push_str(rng.pick(DETERMINERS));
			sentence.push(' ');
			if rng.next().is_multiple_of(2) {
				sentence.push_str(rng.pick(ADJECTIVES));
				sentence.push(' ');
			}
			sentence.push_str(rng.pick(NOUNS));
			if part == 0 {
				sentence.push(' ');
				sentence.push_str(rng.pick(VERBS));
			}
		}
		if rng.next().is_multiple_of(3) {
			sentence.push(' ');
			sentence.push_str(rng.pick(ADVERBS));
		}
		let mut chars = sentence.chars();
		if let Some(first) = chars.next() {
			out.extend(first.to_uppercase());
			out.push_str(chars.as_str());
		}
		out.push_str(if rng.next().is_multiple_of(8) { ".\n" } else { ". " });
	}
	out
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn same_seed_same_text() {
		let a = synthetic_text(3, 2000);
		assert_eq!(a, synthetic_text(3, 2000));
		assert_ne!(a, synthetic_text(4, 2000));
		assert!(a.len() >= 2000 && a.is_ascii());
		assert!(a.contains(". "));
	}
}
