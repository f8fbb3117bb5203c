//! Bit packing of the two per-entry streams: 12-bit chunk-local indices and 2-bit codes.
//!
//! Indices, two per three bytes: for a pair `(a, b)`, byte 0 holds the low 8 bits of `a`, the low
//! nibble of byte 1 the high 4 bits of `a`, the high nibble of byte 1 the low 4 bits of `b` and
//! byte 2 the high 8 bits of `b`. An odd count ends with two bytes for the last index whose unused
//! high nibble must be zero. So `n` indices take `⌈3n/2⌉` bytes.
//!
//! Codes, four per byte, least significant bits first: code `i` sits at bits
//! `2·(i mod 4) .. 2·(i mod 4)+1` of byte `⌊i/4⌋`; unused bits of the last byte must be zero.
//! So `n` codes take `⌈n/4⌉` bytes.
//!
//! Unpacking insists on zero padding so that every payload content has exactly one encoding
//! (its hash is what a peer commits on chain).

use super::error::WireError;

/// Bytes taken by `n` packed 12-bit indices (`⌈3n/2⌉`), `None` on overflow.
pub fn packed_indices_len(n: usize) -> Option<usize> {
	n.checked_mul(3)?.checked_add(1).map(|x| x / 2)
}

/// Bytes taken by `n` packed 2-bit codes (`⌈n/4⌉`).
pub fn packed_codes_len(n: usize) -> usize {
	n.div_ceil(4)
}

/// Appends the 12-bit packing of `indices` (each `< 4096`) to `out`.
pub fn pack_indices(indices: &[u16], out: &mut Vec<u8>) {
	out.reserve(packed_indices_len(indices.len()).unwrap_or(0));
	let mut pairs = indices.chunks_exact(2);
	for pair in &mut pairs {
		let (a, b) = (pair[0], pair[1]);
		debug_assert!(a < 4096 && b < 4096);
		out.push(a as u8);
		out.push(((a >> 8) & 0x0F) as u8 | ((b & 0x0F) << 4) as u8);
		out.push((b >> 4) as u8);
	}
	if let [a] = pairs.remainder() {
		debug_assert!(*a < 4096);
		out.push(*a as u8);
		out.push(((a >> 8) & 0x0F) as u8);
	}
}

/// Appends `n` indices unpacked from `bytes` to `out`; `bytes.len()` must be exactly
/// `packed_indices_len(n)` (callers slice it so), and the padding nibble of an odd count zero.
pub fn unpack_indices(bytes: &[u8], n: usize, out: &mut Vec<u16>) -> Result<(), WireError> {
	if packed_indices_len(n) != Some(bytes.len()) {
		return Err(WireError::PartLength {
			what: "packed indices",
			expected: packed_indices_len(n).unwrap_or(usize::MAX),
			actual: bytes.len(),
		});
	}
	out.reserve(n);
	let mut triples = bytes.chunks_exact(3);
	for t in &mut triples {
		let (b0, b1, b2) = (u16::from(t[0]), u16::from(t[1]), u16::from(t[2]));
		out.push(b0 | ((b1 & 0x0F) << 8));
		out.push((b1 >> 4) | (b2 << 4));
	}
	if let [b0, b1] = triples.remainder() {
		if b1 & 0xF0 != 0 {
			return Err(WireError::NonZeroPadding("index"));
		}
		out.push(u16::from(*b0) | (u16::from(*b1) << 8));
	}
	Ok(())
}

/// Appends the 2-bit packing of `codes` (each `< 4`) to `out`.
pub fn pack_codes(codes: &[u8], out: &mut Vec<u8>) {
	out.reserve(packed_codes_len(codes.len()));
	for quad in codes.chunks(4) {
		let mut byte = 0u8;
		for (i, &c) in quad.iter().enumerate() {
			debug_assert!(c < 4);
			byte |= (c & 0b11) << (2 * i);
		}
		out.push(byte);
	}
}

/// Appends `n` codes unpacked from `bytes` to `out`; `bytes.len()` must be exactly
/// `packed_codes_len(n)`, and unused bits of the last byte zero.
pub fn unpack_codes(bytes: &[u8], n: usize, out: &mut Vec<u8>) -> Result<(), WireError> {
	if bytes.len() != packed_codes_len(n) {
		return Err(WireError::PartLength {
			what: "packed codes",
			expected: packed_codes_len(n),
			actual: bytes.len(),
		});
	}
	out.reserve(n);
	let full = n / 4;
	for &byte in &bytes[..full] {
		out.extend([byte & 0b11, (byte >> 2) & 0b11, (byte >> 4) & 0b11, byte >> 6]);
	}
	let rest = n % 4;
	if let Some(&byte) = bytes.get(full) {
		if rest == 0 || byte >> (2 * rest) != 0 {
			return Err(WireError::NonZeroPadding("code"));
		}
		out.extend((0..rest).map(|i| (byte >> (2 * i)) & 0b11));
	}
	Ok(())
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn index_bit_layout_matches_spec() {
		let mut out = vec![];
		pack_indices(&[0xABC, 0x123], &mut out);
		// a = 0xABC: byte0 = 0xBC, low nibble of byte1 = 0xA; b = 0x123: high nibble of byte1 = 0x3,
		// byte2 = 0x12.
		assert_eq!(out, vec![0xBC, 0x3A, 0x12]);
		let mut back = vec![];
		unpack_indices(&out, 2, &mut back).unwrap();
		assert_eq!(back, vec![0xABC, 0x123]);
	}

	#[test]
	fn odd_index_count_is_padded() {
		let mut out = vec![];
		pack_indices(&[4095, 0, 0xFED], &mut out);
		assert_eq!(out, vec![0xFF, 0x0F, 0x00, 0xED, 0x0F]);
		assert_eq!(packed_indices_len(3), Some(5));
		let mut back = vec![];
		unpack_indices(&out, 3, &mut back).unwrap();
		assert_eq!(back, vec![4095, 0, 0xFED]);
		let mut bad = out.clone();
		bad[4] |= 0x10;
		assert_eq!(unpack_indices(&bad, 3, &mut vec![]), Err(WireError::NonZeroPadding("index")));
		assert!(unpack_indices(&out[..4], 3, &mut vec![]).is_err());
	}

	#[test]
	fn all_index_values_round_trip() {
		let idx: Vec<u16> = (0..4096).collect();
		let mut out = vec![];
		pack_indices(&idx, &mut out);
		assert_eq!(out.len(), 6144);
		let mut back = vec![];
		unpack_indices(&out, idx.len(), &mut back).unwrap();
		assert_eq!(back, idx);
	}

	#[test]
	fn code_bit_layout_and_padding() {
		let mut out = vec![];
		pack_codes(&[1, 2, 3, 0, 3, 1], &mut out);
		assert_eq!(out, vec![0b00_11_10_01, 0b01_11]);
		let mut back = vec![];
		unpack_codes(&out, 6, &mut back).unwrap();
		assert_eq!(back, vec![1, 2, 3, 0, 3, 1]);
		assert_eq!(
			unpack_codes(&[0b00_11_10_01, 0b01_01_11], 6, &mut vec![]),
			Err(WireError::NonZeroPadding("code"))
		);
		assert!(unpack_codes(&out, 5, &mut vec![]).is_err());
		assert_eq!(packed_codes_len(0), 0);
		assert_eq!(packed_codes_len(4), 1);
		assert_eq!(packed_codes_len(5), 2);
	}
}
