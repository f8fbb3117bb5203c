"""A generic Substrate client (py-substrate-interface) against a running gauntlet-node.

Reads the chain from metadata alone (no custom type registry): System.Number, the Gauntlet pallet's
storage and constants, and submits a signed remark from Alice. Prints one JSON object; exits
non-zero with a message on any failure. Usage: generic_client.py ws://127.0.0.1:PORT
"""
import json
import sys

from substrateinterface import Keypair, SubstrateInterface


def main(url: str) -> None:
    chain = SubstrateInterface(url=url)
    number = chain.query("System", "Number").value
    pallets = [p.name for p in chain.get_metadata().pallets]
    gauntlet = chain.get_metadata_module("Gauntlet")
    storage = [s.name for s in gauntlet.storage] if gauntlet and gauntlet.storage else []
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
                "remark_included": receipt.is_success,
                "remark_block": receipt.block_hash,
            }
        )
    )


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: generic_client.py ws://127.0.0.1:PORT")
    main(sys.argv[1])
