#!/usr/bin/env python3
"""The trainer's LLaMA (offchain-trainer/src/model) in PyTorch: the yardstick for `bench-train`.

Same configuration file (offchain-trainer/configs/models.json), same layers and casts as the tch
model: fp32 master weights cast to bf16 for every matrix product, embedding output cast to bf16,
RMSNorm statistics in fp32, rotate-half RoPE, grouped-query attention through
scaled_dot_product_attention (causal), SwiGLU, tied output head, loss in fp32. The step is the
trainer's: forward, backward, clip the global gradient norm to 1.0, AdamW (betas 0.9/0.95,
weight decay 0.1 on matrices, the trainer's warmup + cosine learning rate) - here PyTorch's fused
AdamW, under bf16 autocast (which the explicit casts make a no-op). `--mode eager` or `--mode compile` (torch.compile of the loss).

Tokens/s over the timed steps; MFU with the same FLOPs formula as the Rust side,
6*N + 12*L*d*T per token. One JSON object on stdout.
"""

import argparse
import json
import math
import os
import time

import torch
import torch.nn.functional as F
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
CONFIGS = os.path.join(HERE, "..", "..", "offchain-trainer", "configs", "models.json")
TOKENIZER_VOCAB = {"byte": 256, "gpt2": 50257}
INIT_STD = 0.02
KIND = torch.bfloat16


class Linear(nn.Module):
    def __init__(self, d_in, d_out, std):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(d_out, d_in) * std)

    def forward(self, x):
        return x.to(KIND) @ self.weight.to(KIND).t()


class RMSNorm(nn.Module):
    def __init__(self, dim, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))
        self.eps = eps

    def forward(self, x):
        kind = x.dtype
        x = x.float()
        rms = (x.square().mean(-1, keepdim=True) + self.eps).rsqrt()
        return (x * rms * self.weight).to(kind)


class Rotary(nn.Module):
    def __init__(self, head_dim, max_seq, theta):
        super().__init__()
        half = head_dim // 2
        inv_freq = 1.0 / torch.tensor(theta, dtype=torch.float32).pow(
            torch.arange(half, dtype=torch.float32) * (2.0 / head_dim))
        angles = torch.outer(torch.arange(max_seq, dtype=torch.float32), inv_freq)
        angles = torch.cat([angles, angles], dim=-1)
        self.register_buffer("cos", angles.cos(), persistent=False)
        self.register_buffer("sin", angles.sin(), persistent=False)

    def forward(self, x):
        seq, head_dim = x.shape[2], x.shape[3]
        cos = self.cos[:seq].to(x.dtype)
        sin = self.sin[:seq].to(x.dtype)
        half = head_dim // 2
        rotated = torch.cat([-x[..., half:], x[..., :half]], dim=-1)
        return x * cos + rotated * sin


def repeat_kv(x, n_rep):
    if n_rep == 1:
        return x
    b, h, t, d = x.shape
    return x.unsqueeze(2).expand(b, h, n_rep, t, d).reshape(b, h * n_rep, t, d)


class Attention(nn.Module):
    def __init__(self, c, std, out_std):
        super().__init__()
        self.n_heads, self.n_kv = c["n_heads"], c["n_kv_heads"]
        self.head_dim = c["dim"] // self.n_heads
        self.wq = Linear(c["dim"], self.n_heads * self.head_dim, std)
        self.wk = Linear(c["dim"], self.n_kv * self.head_dim, std)
        self.wv = Linear(c["dim"], self.n_kv * self.head_dim, std)
        self.wo = Linear(self.n_heads * self.head_dim, c["dim"], out_std)

    def forward(self, x, rope):
        b, t, _ = x.shape

        def heads(proj, n):
            return proj(x).view(b, t, n, self.head_dim).transpose(1, 2)

        q = rope(heads(self.wq, self.n_heads))
        k = rope(heads(self.wk, self.n_kv))
        v = heads(self.wv, self.n_kv)
        rep = self.n_heads // self.n_kv
        y = F.scaled_dot_product_attention(q, repeat_kv(k, rep), repeat_kv(v, rep), is_causal=True)
        return self.wo(y.transpose(1, 2).contiguous().view(b, t, self.n_heads * self.head_dim))


class SwiGLU(nn.Module):
    def __init__(self, dim, hidden, std, out_std):
        super().__init__()
        self.w1 = Linear(dim, hidden, std)
        self.w2 = Linear(hidden, dim, out_std)
        self.w3 = Linear(dim, hidden, std)

    def forward(self, x):
        return self.w2(F.silu(self.w1(x)) * self.w3(x))


class Block(nn.Module):
    def __init__(self, c):
        super().__init__()
        out_std = INIT_STD / math.sqrt(2.0 * c["n_layers"])
        self.attention_norm = RMSNorm(c["dim"], c["norm_eps"])
        self.attention = Attention(c, INIT_STD, out_std)
        self.ffn_norm = RMSNorm(c["dim"], c["norm_eps"])
        self.feed_forward = SwiGLU(c["dim"], c["ffn_hidden"], INIT_STD, out_std)

    def forward(self, x, rope):
        h = x + self.attention(self.attention_norm(x), rope)
        return h + self.feed_forward(self.ffn_norm(h))


class Llama(nn.Module):
    def __init__(self, c):
        super().__init__()
        assert c["tie_embeddings"], "the benchmarked configs tie the output head"
        self.tok_embeddings = nn.Parameter(torch.randn(c["vocab_size"], c["dim"]) * INIT_STD)
        self.layers = nn.ModuleList([Block(c) for _ in range(c["n_layers"])])
        self.norm = RMSNorm(c["dim"], c["norm_eps"])
        self.rope = Rotary(c["dim"] // c["n_heads"], c["max_seq_len"], c["rope_theta"])

    def loss(self, tokens, targets):
        h = F.embedding(tokens, self.tok_embeddings).to(KIND)
        for layer in self.layers:
            h = layer(h, self.rope)
        logits = self.norm(h) @ self.tok_embeddings.to(KIND).t()
        logits = logits.float()
        return F.cross_entropy(logits.view(-1, logits.shape[-1]), targets.view(-1))


def param_count(c):
    head_dim = c["dim"] // c["n_heads"]
    kv = c["n_kv_heads"] * head_dim
    attention = 2 * c["dim"] * c["dim"] + 2 * c["dim"] * kv
    mlp = 3 * c["dim"] * c["ffn_hidden"]
    per_layer = attention + mlp + 2 * c["dim"]
    return c["n_layers"] * per_layer + c["dim"] + c["vocab_size"] * c["dim"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default="124m")
    ap.add_argument("--mode", choices=["eager", "compile"], default="eager")
    ap.add_argument("--seq", type=int, default=2048)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--peak-tflops", type=float, default=989.0)
    args = ap.parse_args()

    with open(CONFIGS) as f:
        c = json.load(f)[args.config]
    dev = torch.device("cuda")
    torch.manual_seed(0)
    with torch.device(dev):
        model = Llama(c)
    n = sum(p.numel() for p in model.parameters())
    assert n == param_count(c), (n, param_count(c))
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW(
        [{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}],
        lr=3e-4, betas=(0.9, 0.95), eps=1e-8, fused=True)
    loss_fn = model.loss if args.mode == "eager" else torch.compile(model.loss)

    torch.manual_seed(1)
    tokens = torch.randint(TOKENIZER_VOCAB[c["tokenizer"]], (args.batch, args.seq + 1), device=dev)
    x, y = tokens[:, :-1].contiguous(), tokens[:, 1:].contiguous()

    # The trainer's schedule (TrainConfig's defaults): linear warmup over 10 steps to 3e-4, then
    # a cosine to 10% at step 1000. The rate only changes the values, not the work of a step.
    step_no = [0]

    def lr_at(s, peak=3e-4, warmup=10, total=1000, floor=0.1):
        if s < warmup:
            return peak * (s + 1) / warmup
        progress = min((s - warmup) / max(total - warmup, 1), 1.0)
        return peak * (floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * progress)))

    def step():
        for g in opt.param_groups:
            g["lr"] = lr_at(step_no[0])
        step_no[0] += 1
        with torch.autocast("cuda", dtype=torch.bfloat16):
            loss = loss_fn(x, y)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        return loss

    compile_start = time.perf_counter()
    first_loss = step().item()
    for _ in range(args.warmup - 1):
        loss = step()
    torch.cuda.synchronize()
    warmup_s = time.perf_counter() - compile_start
    t0 = time.perf_counter()
    for _ in range(args.steps):
        loss = step()
    torch.cuda.synchronize()
    seconds = time.perf_counter() - t0
    tokens_per_s = args.batch * args.seq * args.steps / seconds
    # Forward only, as a validator evaluates: the loss under no_grad (one untimed pass first,
    # which for torch.compile is a recompilation without the backward graph).
    with torch.no_grad(), torch.autocast("cuda", dtype=torch.bfloat16):
        loss_fn(x, y).item()
        t_eval = time.perf_counter()
        for _ in range(5):
            loss_fn(x, y).item()
        eval_ms = (time.perf_counter() - t_eval) * 1e3 / 5
    # Causality probe: change the middle token; no logit before it may move.
    with torch.no_grad(), torch.autocast("cuda", dtype=torch.bfloat16):
        mid = args.seq // 2
        changed = x.clone()
        changed[:, mid] = (changed[:, mid] + 1) % TOKENIZER_VOCAB[c["tokenizer"]]

        def logits(tokens):
            h = F.embedding(tokens, model.tok_embeddings).to(KIND)
            for layer in model.layers:
                h = layer(h, model.rope)
            return (model.norm(h) @ model.tok_embeddings.to(KIND).t())[:, :mid].float()

        leak = (logits(x) - logits(changed)).abs().max().item()
    flops = 6.0 * n + 12.0 * c["n_layers"] * c["dim"] * args.seq
    print(json.dumps({
        "bench": "train", "impl": f"torch-{args.mode}", "model": args.config, "params": n,
        "seq": args.seq, "batch": args.batch, "steps": args.steps,
        "step_ms": seconds * 1e3 / args.steps, "tokens_per_s": tokens_per_s,
        "mfu": flops * tokens_per_s / (args.peak_tflops * 1e12), "loss": loss.item(),
        "first_loss": first_loss, "future_token_leak": leak, "eval_ms": eval_ms,
        "warmup_s": warmup_s, "peak_mem_gib": torch.cuda.max_memory_allocated() / 2**30,
    }), flush=True)


if __name__ == "__main__":
    main()
