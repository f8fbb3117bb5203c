"""Loads `gauntlet-trainer export` directories with Hugging Face `transformers` and compares them
with what the trainer computed (the export round-trip test, `offchain_trainer::export::tests`).

Usage: check_hf_export.py MANIFEST.json

The manifest lists cases: {"name", "dir", "dtype": "f32"|"bf16", "tokens": [[id, ...], ...],
"logits": path of a safetensors file with the trainer's fp32 logits of `tokens` ("logits"),
"texts": [...], "ids": [[...], ...] (the trainer's tokenizer's ids of each text)}.
Prints one JSON object on stdout: per case, the largest absolute logit difference, the logits'
scale, the same difference after a deliberately wrong rotary layout (the control that shows the
comparison would catch one), and the texts whose ids or decoded text differ. Nothing is
downloaded: `from_pretrained` reads the local directory only.
"""

import json
import sys

import torch
import transformers
from safetensors.torch import load_file
from transformers import AutoModelForCausalLM, AutoTokenizer


def interleave_rows(weight, n_heads):
    """Meta's LLaMA → HF `permute` (convert_llama_weights_to_hf.py): the row order a converter
    applies when the source rotates interleaved pairs. Our weights already rotate halves, so
    applying it is the mistake the control measures."""
    rows, cols = weight.shape
    return (
        weight.view(n_heads, rows // n_heads // 2, 2, cols).transpose(1, 2).reshape(rows, cols)
    )


def check(case):
    dtype = {"f32": torch.float32, "bf16": torch.bfloat16}[case["dtype"]]
    model = AutoModelForCausalLM.from_pretrained(case["dir"], dtype=dtype, local_files_only=True)
    model.eval()
    tokens = torch.tensor(case["tokens"], dtype=torch.long)
    expected = load_file(case["logits"])["logits"]
    with torch.no_grad():
        got = model(tokens).logits.float()
    report = {
        "name": case["name"],
        "class": type(model).__name__,
        "parameters": model.num_parameters(),
        "loaded_dtype": str(next(model.parameters()).dtype),
        "logits_shape": list(got.shape),
        "max_abs_diff": (got - expected).abs().max().item(),
        "logit_scale": expected.abs().max().item(),
        "argmax_agreement": (got.argmax(-1) == expected.argmax(-1)).float().mean().item(),
    }
    if case["dtype"] == "f32":
        heads = (model.config.num_attention_heads, model.config.num_key_value_heads)
        with torch.no_grad():
            for layer in model.model.layers:
                for proj, n_heads in zip((layer.self_attn.q_proj, layer.self_attn.k_proj), heads):
                    proj.weight.copy_(interleave_rows(proj.weight, n_heads))
            wrong = model(tokens).logits.float()
        report["interleaved_rope_max_abs_diff"] = (wrong - expected).abs().max().item()

    tokenizer = AutoTokenizer.from_pretrained(case["dir"], local_files_only=True)
    report["tokenizer_class"] = type(tokenizer).__name__
    report["tokenizer_len"] = len(tokenizer)
    mismatches = []
    for text, ids in zip(case["texts"], case["ids"]):
        hf_ids = tokenizer(text)["input_ids"]
        decoded = tokenizer.decode(ids)
        if hf_ids != ids or decoded != text:
            mismatches.append({"text": text, "ours": ids, "hf": hf_ids, "decoded": decoded})
    report["texts"] = len(case["texts"])
    report["tokenizer_mismatches"] = mismatches
    return report


def main():
    with open(sys.argv[1]) as f:
        manifest = json.load(f)
    cases = [check(case) for case in manifest["cases"]]
    versions = {"transformers": transformers.__version__, "torch": torch.__version__}
    print(json.dumps({**versions, "cases": cases}))


if __name__ == "__main__":
    main()
