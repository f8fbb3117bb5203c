//! Harness for the codec benchmark. Ignored by default (it allocates ~1 GB and takes a while):
//!
//! ```text
//! cargo test --release --test sparseloco_bench -- --ignored --nocapture
//! SPARSELOCO_BENCH_PARAMS=1000000,10000000 cargo test --release --test sparseloco_bench -- --ignored --nocapture
//! ```

use offchain_trainer::sparseloco::bench_table;

#[test]
#[ignore = "benchmark: run in release with --ignored --nocapture"]
fn print_bench_table() {
	let params: Vec<usize> = std::env::var("SPARSELOCO_BENCH_PARAMS")
		.ok()
		.map(|s| s.split(',').filter_map(|p| p.trim().parse().ok()).collect())
		.unwrap_or_else(|| vec![10_000_000, 100_000_000]);
	let table = bench_table(&params);
	println!("{table}");
	assert!(!table.contains("FAILED"));
}
