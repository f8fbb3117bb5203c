//! The pallets whose benchmarks this runtime exposes through `frame_benchmarking::Benchmark`
//! (only with `--features runtime-benchmarks`). `frame-omni-bencher` runs them against the wasm
//! runtime to produce `pallets/gauntlet/src/weights.rs`; see `scripts/benchmark-weights.sh`.

frame_benchmarking::define_benchmarks!([pallet_gauntlet, Gauntlet]);
