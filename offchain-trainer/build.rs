//! Keep libtorch on the binary's DT_NEEDED list, and build the cuDNN-attention shim.
//!
//! The linker drops `libtorch.so` / `libtorch_cuda.so` as unused (nothing references their
//! symbols directly; CUDA kernels register themselves from static initialisers), and the binary
//! then reports no CUDA on a GPU machine. `--no-as-needed` before `-ltorch` keeps them.
//!
//! `src/model/fused/cudnn_attention.cpp` calls an ATen operator tch does not bind; it compiles
//! against the headers of the libtorch torch-sys linked (`DEP_TCH_LIBTORCH_LIB`, its `lib/`).
use std::path::PathBuf;

fn main() {
	if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
		println!("cargo:rustc-link-arg=-Wl,--no-as-needed");
		println!("cargo:rustc-link-arg=-ltorch");
	}
	const SHIM: &str = "src/model/fused/cudnn_attention.cpp";
	println!("cargo:rerun-if-changed={SHIM}");
	println!("cargo:rerun-if-env-changed=DEP_TCH_LIBTORCH_LIB");
	let lib = std::env::var("DEP_TCH_LIBTORCH_LIB")
		.expect("torch-sys exports its libtorch lib/ directory (DEP_TCH_LIBTORCH_LIB)");
	let include = PathBuf::from(lib).join("..").join("include");
	cc::Build::new()
		.cpp(true)
		.pic(true)
		.std("c++17")
		.include(&include)
		.include(include.join("torch/csrc/api/include"))
		.flag_if_supported("-Wno-unused-parameter")
		.file(SHIM)
		.compile("gauntlet_cudnn_attention");
}
