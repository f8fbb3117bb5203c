"""A generic Substrate client (py-substrate-interface) against a running gauntlet-node.

Reads the chain from metadata alone (no type registry written for this chain): System.Number, the
Gauntlet pallet's storage names, every closed window's ranking (`Gauntlet.Rankings`), the rating
snapshot (`Gauntlet.RatingHistory`) of every miner ranked in it, and the runtime API call
`GauntletApi_leaderboard`; then submits a signed remark from Alice. Fixed-point numbers are
converted to reals by what the metadata says their types are. Prints one JSON object; exits
non-zero with a message on any failure. Usage: generic_client.py ws://127.0.0.1:PORT
"""
import json
import sys

from scalecodec.base import RuntimeConfigurationObject, ScaleBytes
from scalecodec.type_registry import load_type_registry_preset
from substrateinterface import Keypair, SubstrateInterface

# The layout of metadata V15 (frame-metadata's `RuntimeMetadataV15`, the same for every chain) up
# to its runtime APIs. scalecodec 1.2 knows V14 only, and V14's type registry lacks the types
# that only runtime APIs use, so `runtime_call` knows just the APIs of its bundled registry.
METADATA_V15 = {
    "MetadataV15UpToApis": {
        "type": "struct",
        "type_mapping": [
            ["magic", "[u8; 4]"],
            ["version", "u8"],
            ["types", "PortableRegistry"],
            ["pallets", "Vec<PalletMetadataV15>"],
            ["extrinsic", "ExtrinsicMetadataV15"],
            ["ty", "SiLookupTypeId"],
            ["apis", "Vec<RuntimeApiMetadataV15>"],
        ],
    },
    "PalletMetadataV15": {
        "type": "struct",
        "type_mapping": [
            ["name", "String"],
            ["storage", "Option<StorageMetadataV14>"],
            ["calls", "Option<PalletCallMetadataV14>"],
            ["event", "Option<PalletEventMetadataV14>"],
            ["constants", "Vec<PalletConstantMetadataV14>"],
            ["error", "Option<PalletErrorMetadataV14>"],
            ["index", "u8"],
            ["docs", "Vec<String>"],
        ],
    },
    "ExtrinsicMetadataV15": {
        "type": "struct",
        "type_mapping": [
            ["version", "u8"],
            ["address_ty", "SiLookupTypeId"],
            ["call_ty", "SiLookupTypeId"],
            ["signature_ty", "SiLookupTypeId"],
            ["extra_ty", "SiLookupTypeId"],
            ["signed_extensions", "Vec<SignedExtensionMetadataV14>"],
        ],
    },
    "RuntimeApiMetadataV15": {
        "type": "struct",
        "type_mapping": [
            ["name", "String"],
            ["methods", "Vec<RuntimeApiMethodMetadataV15>"],
            ["docs", "Vec<String>"],
        ],
    },
    "RuntimeApiMethodMetadataV15": {
        "type": "struct",
        "type_mapping": [
            ["name", "String"],
            ["inputs", "Vec<RuntimeApiMethodParamMetadataV15>"],
            ["output", "SiLookupTypeId"],
            ["docs", "Vec<String>"],
        ],
    },
    "RuntimeApiMethodParamMetadataV15": {
        "type": "struct",
        "type_mapping": [["name", "String"], ["ty", "SiLookupTypeId"]],
    },
}

# Substrate's decimal fixed-point and per-thing types: (type path, how many units make 1.0).
DECIMAL_UNITS = {
    "sp_arithmetic::fixed_point::FixedI64": 10**9,
    "sp_arithmetic::fixed_point::FixedU64": 10**9,
    "sp_arithmetic::fixed_point::FixedI128": 10**18,
    "sp_arithmetic::fixed_point::FixedU128": 10**18,
    "sp_arithmetic::per_things::Percent": 100,
    "sp_arithmetic::per_things::Permill": 10**6,
    "sp_arithmetic::per_things::Perbill": 10**9,
    "sp_arithmetic::per_things::Perquintill": 10**18,
}


def registry_of(types) -> dict:
    """A portable type registry (decoded `PortableRegistry.types`) as {type id: type}."""
    return {t["id"]: t["type"] for t in types}


def type_number(registry: dict, type_id: int) -> int:
    """The value of a `typenum` type-level integer (UInt<U, B> = 2U + B, UTerm = B0 = 0, B1 = 1)."""
    ty = registry[type_id]
    name = ty["path"][-1] if ty["path"] else ""
    if name in ("UTerm", "B0"):
        return 0
    if name == "B1":
        return 1
    if name == "UInt":
        params = {p["name"]: p["type"] for p in ty["params"]}
        return 2 * type_number(registry, params["U"]) + type_number(registry, params["B"])
    raise ValueError(f"type {type_id} ({ty['path']}) is not a typenum integer")


def real(registry: dict, type_id: int, value):
    """`value`, as scalecodec decoded it from type `type_id`, with every fixed-point number in it
    replaced by a float. Python's int / int rounds the exact quotient once, as a float64 client
    dividing an exactly converted integer by a power of two or by 10⁹ does."""
    ty = registry[type_id]
    path = "::".join(ty["path"])
    if path in DECIMAL_UNITS:
        return value / DECIMAL_UNITS[path]
    if ty["path"][:1] == ["substrate_fixed"]:
        # FixedI128<Frac> and friends: `bits / 2^Frac`, Frac a typenum in the type's parameters.
        frac = next(p["type"] for p in ty["params"] if p["name"] == "Frac")
        return value["bits"] / 2 ** type_number(registry, frac)
    definition = ty["def"]
    if "composite" in definition:
        fields = definition["composite"].get("fields", [])
        if fields and all(f.get("name") for f in fields):
            return {f["name"]: real(registry, f["type"], value[f["name"]]) for f in fields}
        if len(fields) == 1:
            # A newtype (BoundedVec, …): scalecodec gives the inner value itself.
            return real(registry, fields[0]["type"], value)
        return [real(registry, f["type"], v) for f, v in zip(fields, value)]
    if "sequence" in definition and isinstance(value, (list, tuple)):
        return [real(registry, definition["sequence"]["type"], v) for v in value]
    if "array" in definition and isinstance(value, (list, tuple)):
        return [real(registry, definition["array"]["type"], v) for v in value]
    if "tuple" in definition:
        return [real(registry, t, v) for t, v in zip(definition["tuple"], value)]
    if "variant" in definition and path == "Option":
        return None if value is None else real(registry, ty["params"][0]["type"], value)
    return value


def storage_value_type(chain: SubstrateInterface, pallet: str, item: str) -> int:
    """The V14 registry id of a storage map's value type."""
    entry = chain.get_metadata_storage_function(pallet, item)
    return entry.value["type"]["Map"]["value"]


class MetadataV15:
    """The node's metadata V15 (`Metadata_metadata_at_version(15)`): its type registry, loaded
    into a scalecodec configuration of its own, and its runtime APIs."""

    def __init__(self, chain: SubstrateInterface, block_hash: str):
        answer = chain.rpc_request(
            "state_call", ["Metadata_metadata_at_version", "0x0f000000", block_hash]
        )["result"]
        self.config = RuntimeConfigurationObject(ss58_format=chain.ss58_format)
        self.config.update_type_registry(load_type_registry_preset("core"))
        self.config.update_type_registry_types(METADATA_V15)
        opaque = self.config.create_scale_object("Option<Bytes>", ScaleBytes(answer))
        opaque.decode()
        if opaque.value is None:
            raise RuntimeError("the node serves no metadata V15")
        metadata = self.config.create_scale_object("MetadataV15UpToApis", ScaleBytes(opaque.value))
        # Decoded up to the APIs only: the outer enums and custom values that follow are not read.
        metadata.decode(check_remaining=False)
        if metadata.value["magic"] != "0x6d657461" or metadata.value["version"] != 15:
            raise RuntimeError(f"not metadata V15: {metadata.value['magic']} v{metadata.value['version']}")
        types = metadata.value_object["types"].value_object["types"].value_object
        self.config.update_from_scale_info_types(types, prefix="v15")
        self.registry = registry_of(metadata.value["types"]["types"])
        self.apis = {api["name"]: api for api in metadata.value["apis"]}

    def call(self, chain: SubstrateInterface, api: str, method: str, block_hash: str):
        """Call a runtime API method without arguments through `state_call` and decode its
        answer with the output type the metadata declares: (decoded value, output type id)."""
        methods = {m["name"]: m for m in self.apis[api]["methods"]}
        declared = methods[method]
        if declared["inputs"]:
            raise ValueError(f"{api}.{method} takes arguments: {declared['inputs']}")
        answer = chain.rpc_request("state_call", [f"{api}_{method}", "0x", block_hash])["result"]
        output = self.config.create_scale_object(f"v15::{declared['output']}", ScaleBytes(answer))
        output.decode()
        return output.value, declared["output"]


def main(url: str) -> None:
    chain = SubstrateInterface(url=url)
    number = chain.query("System", "Number").value
    pallets = [p.name for p in chain.get_metadata().pallets]
    gauntlet = chain.get_metadata_module("Gauntlet")
    storage = [s.name for s in gauntlet.storage] if gauntlet and gauntlet.storage else []

    # Every value below from one block, so that they agree with each other.
    at = chain.get_chain_finalised_head()
    chain.init_runtime(block_hash=at)
    v14 = registry_of(chain.metadata.portable_registry.value["types"])
    ranking_type = storage_value_type(chain, "Gauntlet", "Rankings")
    snapshot_type = storage_value_type(chain, "Gauntlet", "RatingHistory")
    rankings = []
    rating_history = []
    for window, ranking in chain.query_map("Gauntlet", "Rankings", block_hash=at):
        window = window.value
        rankings.append({"window": window, "ranking": real(v14, ranking_type, ranking.value)})
        # The README's way: one snapshot per (window, miner).
        for entry in ranking.value:
            snapshot = chain.query("Gauntlet", "RatingHistory", [window, entry["miner"]], block_hash=at)
            if snapshot.value is not None:
                rating_history.append(
                    {"miner": entry["miner"], **real(v14, snapshot_type, snapshot.value)}
                )
    # query_map walks keys in hash order.
    rankings.sort(key=lambda r: r["window"])
    rating_history.sort(key=lambda s: (s["window"], s["miner"]))

    v15 = MetadataV15(chain, at)
    board, board_type = v15.call(chain, "GauntletApi", "leaderboard", at)
    leaderboard = real(v15.registry, board_type, board)

    alice = Keypair.create_from_uri("//Alice")
    call = chain.compose_call("System", "remark_with_event", {"remark": "0x6761756e746c6574"})
    receipt = chain.submit_extrinsic(
        chain.create_signed_extrinsic(call=call, keypair=alice), wait_for_inclusion=True
    )
    print(
        json.dumps(
            {
                "system_number": number,
                "pallets": pallets,
                "gauntlet_storage": storage,
                "at": at,
                "rankings": rankings,
                "rating_history": rating_history,
                "leaderboard": leaderboard,
                "remark_included": receipt.is_success,
                "remark_block": receipt.block_hash,
            }
        )
    )


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: generic_client.py ws://127.0.0.1:PORT")
    main(sys.argv[1])
