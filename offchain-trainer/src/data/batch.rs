//! Turning pages into the `(inputs, targets)` tensors of one optimizer step.

use tch::{Device, Tensor};

use super::{PageSplit, TokenShard};

/// A batch of sequences: `targets` is `inputs` shifted left by one token.
#[derive(Debug)]
pub struct Batch {
	/// Token ids `(sequences, seq_len)`, `Int64`.
	pub inputs: Tensor,
	/// Next-token ids `(sequences, seq_len)`, `Int64`.
	pub targets: Tensor,
}

impl Batch {
	/// One sequence per page, in the order given, on `device`.
	pub fn from_pages(
		shard: &TokenShard,
		split: &PageSplit,
		pages: &[u64],
		device: Device,
	) -> Self {
		let page_len = split.page_len;
		let mut tokens = Vec::with_capacity(pages.len() * page_len);
		for &page in pages {
			shard.extend_range(split.page_start(page), page_len, &mut tokens);
		}
		let all = Tensor::from_slice(&tokens).view([pages.len() as i64, page_len as i64]);
		let seq = page_len as i64 - 1;
		Self {
			inputs: all.narrow(1, 0, seq).contiguous().to_device(device),
			targets: all.narrow(1, 1, seq).contiguous().to_device(device),
		}
	}

	/// Number of sequences.
	pub fn len(&self) -> i64 {
		self.inputs.size()[0]
	}

	/// Whether the batch holds no sequence.
	pub fn is_empty(&self) -> bool {
		self.len() == 0
	}

	/// Tokens predicted by one pass over the batch.
	pub fn tokens(&self) -> i64 {
		self.inputs.numel() as i64
	}

	/// Consecutive slices of at most `size` sequences (micro-batches for gradient accumulation).
	pub fn micro_batches(&self, size: i64) -> Vec<Batch> {
		let n = self.len();
		(0..n)
			.step_by(size.max(1) as usize)
			.map(|start| {
				let len = size.min(n - start);
				Batch {
					inputs: self.inputs.narrow(0, start, len),
					targets: self.targets.narrow(0, start, len),
				}
			})
			.collect()
	}
}

#[cfg(test)]
mod tests {
	use super::*;
	use crate::data::TokenizerKind;

	#[test]
	fn targets_are_inputs_shifted_by_one() {
		let shard = TokenShard::from_tokens(TokenizerKind::Byte, (0..100).collect());
		let split = PageSplit::new(100, 10, 0).unwrap();
		let batch = Batch::from_pages(&shard, &split, &[3, 0], Device::Cpu);
		assert_eq!(batch.inputs.size(), vec![2, 9]);
		let inputs: Vec<i64> = Vec::try_from(batch.inputs.get(0)).unwrap();
		let targets: Vec<i64> = Vec::try_from(batch.targets.get(0)).unwrap();
		assert_eq!(inputs, (30..39).collect::<Vec<_>>());
		assert_eq!(targets, (31..40).collect::<Vec<_>>());
		let micro = batch.micro_batches(1);
		assert_eq!(micro.len(), 2);
		assert_eq!(
			Vec::<i64>::try_from(micro[1].inputs.get(0)).unwrap(),
			(0..9).collect::<Vec<_>>()
		);
	}
}
