#!/usr/bin/env python3
"""Turns the JSON lines of scripts/gpu/bench.sh into docs/gpu-bench.md (markdown on stdout)."""

import argparse
import datetime
import json
import subprocess

import torch


def sh(*cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""


def fmt(x, digits=2):
    return "—" if x is None else f"{x:.{digits}f}"


def ratio(a, b):
    return None if not a or not b else a / b


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("results")
    ap.add_argument("--command", required=True)
    args = ap.parse_args()
    rows = []
    with open(args.results) as f:
        for line in f:
            line = line.strip()
            if line.startswith("{"):
                rows.append(json.loads(line))

    def pick(bench, **kw):
        return [r for r in rows if r.get("bench") == bench and all(r.get(k) == v for k, v in kw.items())]

    gpu = sh("nvidia-smi", "--query-gpu=name,memory.total,driver_version", "--format=csv,noheader")
    out = ["# GPU benchmark: SparseLoCo codec and training, Rust vs PyTorch", ""]
    out += [
        f"- GPU: {gpu or (torch.cuda.get_device_name() if torch.cuda.is_available() else 'unknown')}",
        f"- Date: {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC",
        f"- PyTorch {torch.__version__} (CUDA {torch.version.cuda}); the Rust binary (tch 0.24) "
        "runs against the same libtorch",
        f"- Command: `{args.command}` (one run; every row below comes from it)",
        "",
    ]
    for r in pick("failure"):
        out.append(f"**FAILED: step `{r['step']}` exited with {r['rc']}.**")
        out.append("")

    out += ["## GPU codec vs CPU codec (same input)", "",
            "`gauntlet-trainer check-codec`: error-feedback rounds on the model's tensors plus "
            "unusual shapes (irregular tiles, prime lengths, k not a multiple of 4, tied and flat "
            "data); each GPU payload is decoded and compared with the CPU codec's.", "",
            "| check | tensors | entries | bytes equal | index mismatches | tie chunks | value "
            "mismatches | max value rel. err | EF buffers max abs diff | agrees |",
            "|---|---:|---:|---|---:|---:|---:|---:|---:|---|"]
    for r in pick("check_round"):
        out.append(
            f"| EF round {r['round']} | {r['tensors']} | {r['entries']} | {r['bytes_equal']} | "
            f"{r['index_mismatches']} | {r['tie_chunks']} | {r['value_mismatches']} | "
            f"{r['max_value_rel_err']:.2e} | {r['ef_max_abs_diff']:.2e} | {r['agrees']} |")
    for r in pick("check_aggregate"):
        out.append(
            f"| aggregate of {r['peers']} peers | {r['tensors']} | — | bitwise {r['bitwise_equal']} "
            f"| — | — | — | {r['max_rel_diff']:.2e} | {r['max_abs_diff']:.2e} | {r['agrees']} |")
    out.append("")
    for r in pick("check_outer_step"):
        out += [
            f"Outer step with the aggregate of {r['peers']} peers ({r['params'] / 1e6:.1f} M "
            f"parameters, {r['tensors']} tensors), θ on the GPU (`outer::apply_payloads`) against "
            f"the codec on the host (θ copied to the host and back): bitwise equal "
            f"**{r['bitwise_equal']}**; median of 5: GPU {r['device_s'] * 1e3:.1f} ms, host "
            f"{r['host_s'] * 1e3:.1f} ms. With the sum built by the GPU codec's aggregator "
            f"from the payloads' bytes (`outer::apply_payloads_on_gpu`, what peers on a GPU use): "
            f"bitwise equal **{r.get('aggregator_bitwise_equal')}**, "
            f"{r.get('aggregator_s', float('nan')) * 1e3:.1f} ms.", ""]

    for r in pick("check_miner_round"):
        out += [
            f"The miner's round on the GPU (`outer::GpuErrorBuffers`: θ − local, error feedback "
            f"and codec on the device) against the host's (`pseudo_gradient` + `ErrorBuffers`): "
            f"payload bytes equal in **{r['bytes_equal_rounds']} of {r['rounds']}** rounds. "
            f"θ's host copy ({r['params'] / 1e6:.1f} M parameters) on the copy stream "
            f"(`host_copy::HostCopies`) equal to `to_array`'s: **{r['host_copy_equal']}**; "
            f"the caller is held {r['copy_start_s'] * 1e3:.1f} ms to start it (it lands "
            f"{r['copy_wait_s'] * 1e3:.1f} ms later), against {r['to_array_s'] * 1e3:.1f} ms "
            f"for `to_array` in line.", ""]

    fused_ops = pick("check_fused_op")
    if fused_ops:
        out += ["## Fused training pass vs autograd", "",
                "`gauntlet-trainer check-fused`: each kernel of the hand-written pass "
                "(`model::fused`) against its reference in libtorch operations on the same bf16 "
                "input (largest difference over the largest reference value), then each checked model's "
                "loss and gradients three ways: autograd in f32 (the yardstick), autograd in bf16 "
                "(the path before) and the fused pass in bf16. Gradient error: ‖g − g_f32‖ / "
                "‖g_f32‖ per tensor.", "",
                "| kernel | max rel. difference | agrees |", "|---|---:|---|"]
        # One row per kernel: the largest difference over the models checked.
        worst = {}
        for r in fused_ops:
            w = worst.setdefault(r["op"], {"max_rel_err": 0.0, "agrees": True})
            w["max_rel_err"] = max(w["max_rel_err"], r["max_rel_err"])
            w["agrees"] = w["agrees"] and r["agrees"]
        for op, w in worst.items():
            out.append(f"| {op} | {w['max_rel_err']:.1e} | {w['agrees']} |")
        out.append("")
        for r in pick("check_fused_model"):
            out += [
                f"Model `{r['model']}` ({r['tensors']} tensors, {r['batch']} × {r['seq']} tokens): "
                f"loss f32 {r['loss_f32']:.5f}, autograd bf16 {r['loss_autograd_bf16']:.5f}, "
                f"fused bf16 {r['loss_fused_bf16']:.5f}; gradient error, worst tensor / mean: "
                f"autograd bf16 {r['grad_rel_l2_autograd_bf16_max']:.4f} / "
                f"{r['grad_rel_l2_autograd_bf16_mean']:.4f}, fused bf16 "
                f"{r['grad_rel_l2_fused_bf16_max']:.4f} / {r['grad_rel_l2_fused_bf16_mean']:.4f} "
                f"(worst: `{r['worst_tensor_fused']}`); evaluation loss (forward only) f32 "
                f"{fmt(r.get('eval_loss_f32'), 5)}, autograd bf16 "
                f"{fmt(r.get('eval_loss_autograd_bf16'), 5)}, fused bf16 "
                f"{fmt(r.get('eval_loss_fused_bf16'), 5)}; agrees **{r['agrees']}**.", ""]

    bw = pick("copy_bandwidth")
    bw = bw[0]["bytes_per_s"] if bw else None
    out += ["## Codec: one full error-feedback round", "",
            "EF update, chunking, top-64 of every 4096, 2-bit quantization, packing, local "
            "decompression and EF subtraction over every tensor of a synthetic model of "
            "1024×1024 tensors; median of the timed rounds, CUDA events. The PyTorch yardstick "
            "(scripts/gpu/reference_codec.py) runs Templar's math either tensor by tensor as "
            "Templar does, or batched over stacked tensors (one topk over all chunks, no host "
            "synchronisation), the faster of the two and the one the speedup is taken against. "
            "The memory floor is the "
            "least traffic a round needs (read Δ and e, write e, touch e at the kept positions, "
            "write the payload) at the measured device-to-device copy bandwidth"
            + (f" ({bw / 1e12:.2f} TB/s, read + write)." if bw else "."), "",
            "| params | PyTorch eager, Templar's per-tensor loop (ms) | PyTorch eager, batched "
            "(ms) | Rust GPU (ms) | speedup vs batched | Rust + payload in pinned host memory (ms) "
            "| memory floor (ms) | Rust / floor | payload (MB) |",
            "|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in pick("codec_round", impl="rust-gpu"):
        ref = pick("codec_round", impl="torch-eager", params=r["params"])
        ref_ms = ref[0]["round_ms"] if ref else None
        loop = pick("codec_round", impl="torch-eager-per-tensor", params=r["params"])
        loop_ms = loop[0]["round_ms"] if loop else None
        out.append(
            f"| {r['params'] / 1e9:.3f} B | {fmt(loop_ms)} | {fmt(ref_ms)} | {fmt(r['round_ms'])} | "
            f"{fmt(ratio(ref_ms, r['round_ms']), 1)}x | {fmt(r['round_with_host_copy_ms'])} | "
            f"{fmt(r['floor_ms'])} | {fmt(ratio(r['round_ms'], r['floor_ms']), 2)}x | "
            f"{r['payload_bytes'] / 1e6:.1f} |")
    cpu = pick("codec_round", impl="rust-cpu")
    if cpu:
        r = cpu[0]
        out += ["", f"Before the GPU codec the trainer copied Δ to the host and ran the CPU codec "
                f"(one thread): {r['round_ms']:.0f} ms for the {r['params'] / 1e6:.1f}M-parameter "
                f"round (first round {r['first_round_ms']:.0f} ms)."]
    out.append("")

    out += ["## Aggregation: decompress and clipped sum of the peers", "",
            "Payloads already on the GPU; per tensor each peer's reconstruction is clipped to the "
            "median peer norm and summed into a dense fp32 tensor. The floor reads every payload "
            "once and writes the sum once.", "",
            "| params | peers | PyTorch eager (ms) | Rust GPU (ms) | speedup | memory floor (ms) |",
            "|---:|---:|---:|---:|---:|---:|"]
    for r in pick("aggregate", impl="rust-gpu"):
        ref = pick("aggregate", impl="torch-eager", params=r["params"])
        ref_ms = ref[0]["ms"] if ref else None
        out.append(f"| {r['params'] / 1e9:.3f} B | {r['peers']} | {fmt(ref_ms)} | {fmt(r['ms'])} | "
                   f"{fmt(ratio(ref_ms, r['ms']), 1)}x | {fmt(r['floor_ms'])} |")
    out.append("")

    out += ["## Training throughput", "",
            "Full inner steps (forward, backward, clip to norm 1.0, AdamW) on random tokens, "
            "sequence 2048, bf16 matrix products over fp32 master weights. MFU = "
            "(6·N + 12·L·d·T) FLOPs per token × tokens/s ÷ 989 TFLOP/s (dense bf16 peak of an "
            "H100/H200 SXM). Both sides start from the same weights (libtorch's generator, same "
            "seeds) and use the trainer's learning-rate schedule (warmup to 3e-4 over 10 steps, "
            "cosine); every step trains on the same batch of random tokens, so the loss falls "
            "only by memorisation, and matching losses say both run the same training. The leak "
            "column is the largest change of a logit before the middle position when the middle "
            "token changes (0 when causal). Evaluation forward: the batch's loss without gradients "
            "(what a validator runs), mean of 5 passes. `rust-tch-fused` is the trainer's path on CUDA "
            "(`model::fused`: the forward and backward pass written out with fused kernels for "
            "the norms, rotary embedding, SwiGLU and the loss, libtorch's cuDNN attention and "
            "cuBLAS for the rest); `rust-tch` is the same model through libtorch's autograd.",
            "",
            "| model | batch | implementation | tokens/s | MFU | step (ms) | vs PyTorch eager "
            "| loss, first step → last | future-token leak | evaluation forward (ms) |",
            "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|"]
    for model in dict.fromkeys(r["model"] for r in pick("train")):
        eager = pick("train", model=model, impl="torch-eager")
        eager = eager[0]["tokens_per_s"] if eager else None
        for impl in ("rust-tch-fused", "rust-tch", "torch-eager", "torch-compile"):
            for r in pick("train", model=model, impl=impl):
                out.append(
                    f"| {model} | {r['batch']} | {impl} | {r['tokens_per_s']:,.0f} | "
                    f"{100 * r['mfu']:.1f}% | {r['step_ms']:.1f} | "
                    f"{fmt(ratio(r['tokens_per_s'], eager), 2)}x | "
                    f"{fmt(r.get('first_loss'))} → {fmt(r.get('loss'))} | "
                    f"{fmt(r.get('future_token_leak'), 3)} | {fmt(r.get('eval_ms'), 1)} |")
    out.append("")
    print("\n".join(out))


if __name__ == "__main__":
    main()
