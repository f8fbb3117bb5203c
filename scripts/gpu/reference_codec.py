#!/usr/bin/env python3
"""Templar-style SparseLoCo codec in eager PyTorch: the yardstick for the Rust GPU codec.

Per tensor, as Templar's miner does it (shared/reference/sparseloco.md): error-feedback update
e <- beta*e + delta, chunking into 64x64 tiles (rearrange "(y h) (x w) -> y x (h w)"), top-64 by
magnitude per chunk (torch.topk on |x|, gather), Templar's 2-bit quantizer (its host-side check of
the scale included), 12-bit index and 2-bit code packing, local decompression and e <- e - e_hat.
The receiving side decompresses 20 peers, clips each to the median norm and sums them with one
scatter_add (Templar's batch_decompress).

Synthetic models of 1024x1024 tensors: 124m = 119, 1b = 1024, 4b = 4096 tensors. Times are CUDA
events around a whole round (all tensors), median over the timed rounds. One JSON object per line.
"""

import argparse
import json
import math

import torch

SIDE = 1024
SIZES = {"124m": 119, "1b": 1024, "4b": 4096}
GROUP = 1024
BETA = 0.95
TOPK = 64
BINS = 4
RANGE = 6.0


def split(n, target=64):
    """Templar's split: the largest divisor of n that is at most target."""
    if n <= target:
        return n
    return next(d for d in range(target, 0, -1) if n % d == 0)


def chunk(x, tr, tc):
    r, c = x.shape
    return x.view(r // tr, tr, c // tc, tc).permute(0, 2, 1, 3).reshape(-1, tr * tc)


def unchunk(x, r, c, tr, tc):
    return x.view(r // tr, c // tc, tr, tc).permute(0, 2, 1, 3).reshape(r, c)


def pack12(idx):
    """Two 12-bit indices per three bytes (the wire layout of packing.rs); idx has even length."""
    idx = idx.to(torch.int32)
    a, b = idx[0::2], idx[1::2]
    out = torch.stack([a & 0xFF, ((a >> 8) & 0x0F) | ((b & 0x0F) << 4), b >> 4], dim=1)
    return out.to(torch.uint8).flatten()


def unpack12(packed, n):
    t = packed.view(-1, 3).to(torch.int64)
    a = t[:, 0] | ((t[:, 1] & 0x0F) << 8)
    b = (t[:, 1] >> 4) | (t[:, 2] << 4)
    return torch.stack([a, b], dim=1).flatten()[:n]


def pack2(codes):
    c = codes.view(-1, 4).to(torch.int32)
    return (c[:, 0] | (c[:, 1] << 2) | (c[:, 2] << 4) | (c[:, 3] << 6)).to(torch.uint8)


def unpack2(packed, n):
    p = packed.to(torch.int64)
    return torch.stack([(p >> s) & 3 for s in (0, 2, 4, 6)], dim=1).flatten()[:n]


def quantize(val):
    """Templar's _quantize_values: shift, centred std, scale (checked on the host), codes, LUT."""
    offset = BINS // 2
    shift = val.mean()
    centered = val - shift
    std = centered.norm() / math.sqrt(centered.numel() - 1)
    scale = RANGE * std / BINS
    if scale == 0 or torch.isnan(scale) or torch.isinf(scale):
        scale = torch.tensor(1.0, dtype=centered.dtype, device=centered.device)
    q = (centered / scale + offset).round().clamp(0, BINS - 1).to(torch.uint8)
    ql = q.long()
    sums = torch.zeros(BINS, device=val.device).scatter_add_(0, ql, centered)
    counts = torch.zeros(BINS, device=val.device).scatter_add_(0, ql, torch.ones_like(centered))
    lut = torch.where(counts > 0, sums / counts, torch.zeros_like(sums))
    return q, lut, shift


def compress_round(efs, deltas):
    """One error-feedback round over every tensor; returns the payload (per-tensor parts)."""
    payload = []
    for e, d in zip(efs, deltas):
        e.mul_(BETA).add_(d)
        r, c = e.shape
        tr, tc = split(r), split(c)
        x = chunk(e, tr, tc)
        idx = torch.topk(x.abs(), TOPK, dim=-1, largest=True, sorted=False).indices
        val = torch.gather(x, -1, idx)
        q, lut, shift = quantize(val.flatten())
        payload.append((pack12(idx.flatten()), pack2(q), lut, shift))
        rec = (lut[q.long()] + shift).view_as(val)
        dense = torch.zeros_like(x).scatter_(-1, idx, rec)
        e.sub_(unchunk(dense, r, c, tr, tc))
    return payload


def compress_batched(e, d):
    """compress_round for T tensors of one shape stacked as e, d of shape (T, R, C): the same math
    (per-tensor statistics as row-wise reductions, no host synchronisation), ~40 kernels a call."""
    t, r, c = e.shape
    tr, tc = split(r), split(c)
    e.mul_(BETA).add_(d)
    x = e.view(t, r // tr, tr, c // tc, tc).permute(0, 1, 3, 2, 4).reshape(-1, tr * tc)
    idx = torch.topk(x.abs(), TOPK, dim=-1, largest=True, sorted=False).indices
    val = torch.gather(x, -1, idx).view(t, -1)
    shift = val.mean(dim=1, keepdim=True)
    centered = val - shift
    std = centered.norm(dim=1, keepdim=True) / math.sqrt(val.shape[1] - 1)
    scale = RANGE * std / BINS
    scale = torch.where((scale == 0) | ~torch.isfinite(scale), torch.ones_like(scale), scale)
    q = (centered / scale + BINS // 2).round().clamp(0, BINS - 1).to(torch.uint8)
    slot = (q.long() + BINS * torch.arange(t, device=e.device)[:, None]).flatten()
    sums = torch.zeros(t * BINS, device=e.device).scatter_add_(0, slot, centered.flatten())
    counts = torch.zeros(t * BINS, device=e.device).scatter_add_(
        0, slot, torch.ones_like(centered).flatten())
    lut = torch.where(counts > 0, sums / counts, torch.zeros_like(sums)).view(t, BINS)
    payload = (pack12(idx.flatten()), pack2(q.flatten()), lut, shift)
    rec = (torch.gather(lut, 1, q.long()) + shift).view_as(idx)
    dense = torch.zeros_like(x).scatter_(-1, idx, rec)
    e.sub_(dense.view(t, r // tr, c // tc, tr, tc).permute(0, 1, 3, 2, 4).reshape(t, r, c))
    return payload


def aggregate_batched(peers, t, r, c):
    """aggregate for T tensors of one shape, every peer's payload from compress_batched."""
    tr, tc = split(r), split(c)
    n_chunks = t * (r // tr) * (c // tc)
    n = n_chunks * TOPK
    p = len(peers)
    idx = torch.stack([unpack12(x[0], n) for x in peers])
    codes = torch.stack([unpack2(x[1], n) for x in peers])
    lut = torch.stack([x[2] for x in peers])
    shift = torch.stack([x[3] for x in peers])
    vals = torch.gather(lut, 2, codes.view(p, t, -1)) + shift
    norms = vals.norm(dim=2)
    median = norms.median(dim=0).values
    factors = torch.clamp(median / (norms + 1e-8), max=1.0)
    vals = vals * factors[:, :, None]
    i_all = idx.view(p, n_chunks, TOPK).permute(1, 0, 2).reshape(n_chunks, p * TOPK)
    v_all = vals.view(p, n_chunks, TOPK).permute(1, 0, 2).reshape(n_chunks, p * TOPK)
    dense = torch.zeros(n_chunks, tr * tc, device=v_all.device).scatter_add_(1, i_all, v_all)
    return dense.view(t, r // tr, c // tc, tr, tc).permute(0, 1, 3, 2, 4).reshape(t, r, c)


def aggregate(peers, shapes):
    """Decompress every peer, clip each peer's tensor to the median norm, sum (one scatter_add)."""
    out = []
    for t, (r, c) in enumerate(shapes):
        tr, tc = split(r), split(c)
        n_chunks = (r // tr) * (c // tc)
        n = n_chunks * TOPK
        vals, idxs, norms = [], [], []
        for p in peers:
            packed_idx, packed_codes, lut, shift = p[t]
            idxs.append(unpack12(packed_idx, n).view(n_chunks, TOPK))
            v = (lut[unpack2(packed_codes, n)] + shift).view(n_chunks, TOPK)
            vals.append(v)
            norms.append(torch.norm(v))
        norms = torch.stack(norms)
        median = norms.median()
        factors = torch.clamp(median / (norms + 1e-8), max=1.0)
        v_all = torch.cat([v * f for v, f in zip(vals, factors)], dim=-1)
        i_all = torch.cat(idxs, dim=-1)
        dense = torch.zeros(n_chunks, tr * tc, device=v_all.device).scatter_add_(-1, i_all, v_all)
        out.append(unchunk(dense, r, c, tr, tc))
    return out


def synthetic(count, seed, device):
    torch.manual_seed(seed)
    return [torch.randn(SIDE, SIDE, device=device) * 1e-3 for _ in range(count)]


def timed(fn, warmup, rounds):
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    ms = []
    for i in range(warmup + rounds):
        start.record()
        fn()
        end.record()
        end.synchronize()
        if i >= warmup:
            ms.append(start.elapsed_time(end))
    ms.sort()
    return ms[len(ms) // 2], ms[0]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--params", default="124m,1b,4b")
    ap.add_argument("--rounds", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--aggregate-params", default="1b")
    ap.add_argument("--peers", type=int, default=20)
    ap.add_argument("--layout", choices=["batched", "per-tensor"], default="batched",
                    help="batched: tensors stacked, GROUP at a time; per-tensor: Templar's loop")
    args = ap.parse_args()
    dev = torch.device("cuda")
    batched = args.layout == "batched"
    impl = "torch-eager" if batched else "torch-eager-per-tensor"

    for name in [p for p in args.params.split(",") if p]:
        count = SIZES[name]
        if batched:
            # Groups of at most 1024 tensors keep the temporaries (chunked copy, |x|, dense
            # reconstruction: 4.3 GB each) within an 80 GB card at 4.29B parameters.
            torch.manual_seed(7)
            groups = [min(GROUP, count - g) for g in range(0, count, GROUP)]
            deltas = [torch.randn(n, SIDE, SIDE, device=dev) * 1e-3 for n in groups]
        else:
            deltas = synthetic(count, 7, dev)
        efs = [torch.zeros_like(d) for d in deltas]
        payload_bytes = [0]

        def one_round():
            p = [compress_batched(e, d) for e, d in zip(efs, deltas)] if batched else \
                compress_round(efs, deltas)
            payload_bytes[0] = sum(i.numel() + c.numel() + 4 * (l.numel() + s.numel())
                                   for i, c, l, s in p)

        med, best = timed(one_round, args.warmup, args.rounds)
        print(json.dumps({
            "bench": "codec_round", "impl": impl, "params": count * SIDE * SIDE,
            "tensors": count, "round_ms": med, "round_min_ms": best,
            "payload_bytes": payload_bytes[0], "rounds": args.rounds,
        }), flush=True)
        del deltas, efs
        torch.cuda.empty_cache()

    if args.aggregate_params:
        count = SIZES[args.aggregate_params]
        peers = []
        for p in range(args.peers):
            if batched:
                torch.manual_seed(1000 + p)
                d = torch.randn(count, SIDE, SIDE, device=dev) * 1e-3
                peers.append(compress_batched(torch.zeros_like(d), d))
                del d
            else:
                deltas = synthetic(count, 1000 + p, dev)
                peers.append(compress_round([torch.zeros_like(d) for d in deltas], deltas))
                del deltas
        torch.cuda.empty_cache()
        if batched:
            run = lambda: aggregate_batched(peers, count, SIDE, SIDE)  # noqa: E731
        else:
            run = lambda: aggregate(peers, [(SIDE, SIDE)] * count)  # noqa: E731
        med, best = timed(run, args.warmup, args.rounds)
        print(json.dumps({
            "bench": "aggregate", "impl": impl, "params": count * SIDE * SIDE,
            "peers": args.peers, "ms": med, "min_ms": best, "rounds": args.rounds,
        }), flush=True)


if __name__ == "__main__":
    main()
