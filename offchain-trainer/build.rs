//! Keep libtorch on the binary's DT_NEEDED list.
//!
//! The linker drops `libtorch.so` / `libtorch_cuda.so` as unused (nothing references their
//! symbols directly; CUDA kernels register themselves from static initialisers), and the binary
//! then reports no CUDA on a GPU machine. `--no-as-needed` before `-ltorch` keeps them.
fn main() {
	if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
		println!("cargo:rustc-link-arg=-Wl,--no-as-needed");
		println!("cargo:rustc-link-arg=-ltorch");
	}
}
