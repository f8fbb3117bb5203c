//! Builds the runtime's wasm blob (embedded in the native crate as `WASM_BINARY`).

#[cfg(feature = "std")]
fn main() {
	substrate_wasm_builder::WasmBuilder::build_using_defaults();
}

/// The wasm build of this crate needs no build script.
#[cfg(not(feature = "std"))]
fn main() {}
