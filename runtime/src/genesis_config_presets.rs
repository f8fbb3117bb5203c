//! Genesis presets: `development` (Alice alone, for `--dev`) and `local_testnet`
//! (Alice and Bob as Aura + GRANDPA authorities, for `--chain local`). Both use Gauntlet windows
//! of `BLOCKS_PER_WINDOW` (10) blocks.

use crate::{
	AccountId, BalancesConfig, GauntletConfig, RuntimeGenesisConfig, SudoConfig, BLOCKS_PER_WINDOW,
};
use alloc::{vec, vec::Vec};
use frame_support::build_struct_json_patch;
use pallet_gauntlet::RunConfig;
use serde_json::Value;
use sp_consensus_aura::sr25519::AuthorityId as AuraId;
use sp_consensus_grandpa::AuthorityId as GrandpaId;
use sp_genesis_builder::{self, PresetId};
use sp_keyring::{Ed25519Keyring, Sr25519Keyring};

/// Every dev account starts with 2^60 base units (about 1.15 million tokens).
const ENDOWMENT: u128 = 1u128 << 60;

fn testnet_genesis(
	initial_authorities: Vec<(AuraId, GrandpaId)>,
	endowed_accounts: Vec<AccountId>,
	root: AccountId,
) -> Value {
	build_struct_json_patch!(RuntimeGenesisConfig {
		balances: BalancesConfig {
			balances: endowed_accounts.iter().cloned().map(|k| (k, ENDOWMENT)).collect::<Vec<_>>(),
		},
		aura: pallet_aura::GenesisConfig {
			authorities: initial_authorities.iter().map(|x| x.0.clone()).collect::<Vec<_>>(),
		},
		grandpa: pallet_grandpa::GenesisConfig {
			authorities: initial_authorities.iter().map(|x| (x.1.clone(), 1)).collect::<Vec<_>>(),
		},
		sudo: SudoConfig { key: Some(root) },
		gauntlet: GauntletConfig { run_config: test_chain_run_config() },
	})
}

/// The run configuration of both test chains: Templar's hyperparameters with short windows, so
/// a window passes in seconds, and η = 1.0: these chains run 3 to 8 miners, and with the mean
/// rule a small set takes a larger step best (docs/simulation.md: at 4 peers η = 1.0 beat 0.4;
/// the default 0.4 is for Templar's 20-member sets). Validators are added later by sudo
/// (`Gauntlet.add_validator`).
fn test_chain_run_config() -> RunConfig {
	RunConfig {
		blocks_per_window: BLOCKS_PER_WINDOW,
		outer_learning_rate: sp_runtime::FixedI64::from_inner(pallet_gauntlet::ONE),
		..Default::default()
	}
}

/// Dev accounts endowed on both test chains: the well-known keyring, except the `One`/`Two` test keys.
fn dev_accounts() -> Vec<AccountId> {
	Sr25519Keyring::iter()
		.filter(|k| k != &Sr25519Keyring::One && k != &Sr25519Keyring::Two)
		.map(|k| k.to_account_id())
		.collect()
}

/// The `--dev` genesis: Alice authors, Alice is sudo.
pub fn development_config_genesis() -> Value {
	testnet_genesis(
		vec![(Sr25519Keyring::Alice.public().into(), Ed25519Keyring::Alice.public().into())],
		dev_accounts(),
		Sr25519Keyring::Alice.to_account_id(),
	)
}

/// The `--chain local` genesis: Alice and Bob author and finalise, Alice is sudo.
pub fn local_config_genesis() -> Value {
	testnet_genesis(
		vec![
			(Sr25519Keyring::Alice.public().into(), Ed25519Keyring::Alice.public().into()),
			(Sr25519Keyring::Bob.public().into(), Ed25519Keyring::Bob.public().into()),
		],
		dev_accounts(),
		Sr25519Keyring::Alice.to_account_id(),
	)
}

/// The JSON patch of a named preset.
pub fn get_preset(id: &PresetId) -> Option<Vec<u8>> {
	let patch = match id.as_ref() {
		sp_genesis_builder::DEV_RUNTIME_PRESET => development_config_genesis(),
		sp_genesis_builder::LOCAL_TESTNET_RUNTIME_PRESET => local_config_genesis(),
		_ => return None,
	};
	// Serialising a `serde_json::Value` cannot fail.
	serde_json::to_vec(&patch).ok()
}

/// The presets this runtime provides.
pub fn preset_names() -> Vec<PresetId> {
	vec![
		PresetId::from(sp_genesis_builder::DEV_RUNTIME_PRESET),
		PresetId::from(sp_genesis_builder::LOCAL_TESTNET_RUNTIME_PRESET),
	]
}

#[cfg(test)]
mod tests {
	use super::*;
	use crate::{BuildStorage, Runtime};
	use codec::Decode;

	/// `patch` applied over `base`, as the node merges a preset into the default config.
	fn merge(base: &mut Value, patch: Value) {
		match (base, patch) {
			(Value::Object(base), Value::Object(patch)) => {
				for (key, value) in patch {
					merge(base.entry(key).or_insert(Value::Null), value);
				}
			}
			(base, patch) => *base = patch,
		}
	}

	fn storage_of(preset: &str) -> sp_core::storage::Storage {
		let mut config = serde_json::to_value(RuntimeGenesisConfig::default()).unwrap();
		let patch = get_preset(&PresetId::from(preset)).unwrap();
		merge(&mut config, serde_json::from_slice(&patch).unwrap());
		let config: RuntimeGenesisConfig = serde_json::from_value(config).unwrap();
		config.build_storage().unwrap()
	}

	#[test]
	fn test_chain_presets_use_ten_blocks_per_window() {
		for preset in preset_names() {
			let storage = storage_of(preset.as_ref());
			let key = pallet_gauntlet::BlocksPerWindow::<Runtime>::hashed_key();
			let value = storage.top.get(key.as_slice()).expect("BlocksPerWindow is set");
			assert_eq!(u32::decode(&mut &value[..]).unwrap(), BLOCKS_PER_WINDOW);
			assert_eq!(BLOCKS_PER_WINDOW, 10);
			let key = pallet_gauntlet::CurrentRunConfig::<Runtime>::hashed_key();
			let value = storage.top.get(key.as_slice()).expect("run config is set");
			let config = RunConfig::decode(&mut &value[..]).unwrap();
			assert_eq!(config, test_chain_run_config());
		}
	}
}
