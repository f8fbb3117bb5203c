//! The built-in chain specifications.

use gauntlet_runtime::WASM_BINARY;
use sc_service::{ChainType, Properties};

/// The chain specification type of this node.
pub type ChainSpec = sc_service::GenericChainSpec;

fn wasm() -> Result<&'static [u8], String> {
	WASM_BINARY.ok_or_else(|| "the runtime's wasm blob was not built (SKIP_WASM_BUILD?)".into())
}

fn token_properties() -> Properties {
	let mut p = Properties::new();
	p.insert("tokenSymbol".into(), "GNT".into());
	p.insert("tokenDecimals".into(), 12.into());
	p.insert("ss58Format".into(), 42.into());
	p
}

/// `--dev`: one node, Alice, blocks sealed by the node itself.
pub fn development_chain_spec() -> Result<ChainSpec, String> {
	Ok(ChainSpec::builder(wasm()?, None)
		.with_name("Gauntlet Development")
		.with_id("gauntlet_dev")
		.with_chain_type(ChainType::Development)
		.with_properties(token_properties())
		.with_genesis_config_preset_name(sp_genesis_builder::DEV_RUNTIME_PRESET)
		.build())
}

/// `--chain local`: Alice and Bob, Aura + GRANDPA.
pub fn local_chain_spec() -> Result<ChainSpec, String> {
	Ok(ChainSpec::builder(wasm()?, None)
		.with_name("Gauntlet Local Testnet")
		.with_id("gauntlet_local")
		.with_chain_type(ChainType::Local)
		.with_properties(token_properties())
		.with_genesis_config_preset_name(sp_genesis_builder::LOCAL_TESTNET_RUNTIME_PRESET)
		.build())
}
