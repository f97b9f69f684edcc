"""Per-GPU memory of the paper-scale training stages (LLaDA-8B-Instruct), on paper.

    python benchmarks/paper_memory.py        # CPU, well under a minute

Shapes: the project's ``LLaDAModelLM`` built on the meta device with LLaDA-8B-Instruct's config
(no memory allocated). Activations: MEASURED -- the bytes of the tensors autograd saves
(``saved_tensors_hooks``, each storage once, parameters excluded) in a bf16 forward + backward of
a small model of the same architecture on CPU (head_dim 128 as in 8B, mlp = 3 d_model), one block
= the difference between 2 and 1 blocks, per token from batch 2 minus batch 1. Scaling law: per
block bytes = c * B * T * d_model (+ a B-independent RoPE remainder * T), linear in blocks,
tokens and width (the MLP is 3 d_model wide in both). CPU SDPA (like flash / memory-efficient
SDPA on GPUs) saves no [B, H, T, T] scores; the math path would add ~4 B * H * T^2 per block
(scores and probabilities in bf16; printed below). Everything else is counted:

* full    : mixed precision: bf16 compute copy 2 B + fp32 master 4 + fp32 grads 4 + AdamW 8 = 18 B/param.
  AdamW is fused on CUDA (training.distributed.adamw): foreach's model-sized fp32 temporary in the
  update is not counted. Checked on an H200 (benchmarks/gpu_paper_step.py): LoRA within 2.5%; full
  FT 13-23% high, since every gradient is added to the activations though they appear during the backward.
* full-bf16: this pipeline as it is (runtime.dtype bfloat16, AdamW on bf16 params): 2 + 2 + 4 = 8 B/param;
  just_grpo's stacked gradient keeps its own gradient list besides .grad: +2 B/param there. Listed
  for memory only: bf16 weights round away AdamW steps below ~2^-9 of a weight (lr 3e-6 ... 1e-5).
* lora    : frozen bf16 base 2 B/param + adapter (fp32 param 4, grad 4, AdamW 8 = 16 B/adapter param).
  d1: r = 128 on q/k/v_proj for SFT (alpha 256); q/k/v_proj + up_proj for RL (alpha 64; the other
  listed targets match no LLaDA module). Alpha and the dropout p do not change memory; the adapter
  adds per adapted module and token: dropout output 2 * d_in + mask 1 * d_in + A output 2 * r bytes.
* qlora   : d1's RL as released (4-bit NF4 hard-coded): block linears 4.127 bits/param (double
  quant), embedding / head / norms bf16, plus the adapter as lora.
* Sharding over N GPUs: DDP none; ZeRO-2 grads + optimizer states (fp32 master included) / N, bf16
  params replicated; FSDP full-shard everything / N plus the unsharded bf16 units alive at once:
  the root (embedding + head, not resharded) and 2 blocks (current + prefetch). At N = 1 the
  strategies coincide (nothing to shard), so "1 GPU" = "DDP x8" per GPU. DDP buckets as views of
  .grad, ZeRO's bucket buffers and NCCL buffers are not counted.
* KL reference (diffu-GRPO, beta 0.04): lora / qlora disable the adapter (no copy); full modes
  keep a second bf16 copy (sharded under FSDP, replicated otherwise). JustGRPO and SFT: none.
* Logits (bytes per element at the backward peak, checked with torch.profiler(profile_memory=True)
  on CPU at small shapes): SFT's loss (training/losses.py) upcasts the whole [B, T, V]: 14 B
  (bf16 logits, fp32 log-softmax kept, fp32 and bf16 gradients). diffu-GRPO: 4 B on [B, T, V]
  (bf16 logits and their gradient) + 2 B on [B, 256, V] (the completion slice's flattening copy)
  + 2 chunked fp32 temporaries (numerics.CHUNK_ELEMENTS); before chunking it was 2 B on
  [B, T, V] + 12 B on [B, 256, V]. JustGRPO: logits at one position per row ([B, V]).
* Rollouts (no grad; weights and optimizer states stay resident): d1's low-confidence step holds
  bf16 logits [B, T, V] + 5 float64 copies inside gumbel_argmax (42 B/element); JustGRPO's AR
  order decodes [B, V] logits only. Both plus one block's activations as working set.
* JustGRPO's last block runs one query per row (logits_at): counted as a full block (<= 1/32 over).
  This pipeline rolls out and differentiates a whole step at once (JustGRPO: 64 x 16 rollouts,
  every row in each stacked pass): at 8B that needs micro-batching; its rows use the papers'.
* Peak = static + max(training activations + logits, rollout); activations get one extra block as
  the backward working set (checkpointing: the recomputed block's full activations).
  Fits: <= 90% of 80 GiB (CUDA context, allocator fragmentation). GiB throughout.

Micro-batches (../shared/recipes.md): SFT d1: 1 x 4096 (batch 1 / device, padded to 4096); SFT
profile: 8 x 512 (profiles/paper). diffu-GRPO d1: 6 completions x (200 prompt + 256) per device;
this pipeline runs a whole step (6 prompts x 6) in one forward: 36. JustGRPO: 8 rollouts x 1 position
per forward + backward (its reference), 16 = 8 x positions_per_pass 2 (profiles/paper), T = P + 256
with P = 256 assumed (GSM8K prompts are shorter; MATH's 1500-character cap ~ 450 tokens).
"""

from __future__ import annotations

import torch
from torch.utils.checkpoint import checkpoint

from pipeline.core.numerics import CHUNK_ELEMENTS
from pipeline.model import LLaDAConfig, LLaDAModelLM

GiB, CAPACITY, USABLE = 2**30, 80, 0.9
LLADA_8B = dict(d_model=4096, n_layers=32, n_heads=32, mlp_hidden_size=12288, vocab_size=126464)
RANK, NF4_BYTES = 128, 4.127 / 8
SFT_TARGETS, RL_TARGETS = ("q_proj", "k_proj", "v_proj"), ("q_proj", "k_proj", "v_proj", "up_proj")


# ------------------------------------------------------------------------------------ shapes (meta)
def shapes(dims: dict = LLADA_8B) -> dict:
    """Parameter counts of a LLaDA of ``dims`` (LLaDA-8B's by default), with the dims themselves: every
    estimate below reads its sizes from here."""
    with torch.device("meta"):  # parameters have shapes but no storage
        model = LLaDAModelLM(LLaDAConfig(**dims, max_sequence_length=4096))
    block = model.model.transformer.blocks[0]
    linears = {n: m for n, m in block.named_children() if isinstance(m, torch.nn.Linear)}
    n_block = sum(p.numel() for p in block.parameters())
    total = sum(p.numel() for p in model.parameters())
    L = dims["n_layers"]
    return dict(
        **dims,
        total=total,
        block=n_block,
        root=total - L * n_block,
        block_linear=sum(m.weight.numel() for m in linears.values()),
        adapter={
            t: L * sum(RANK * (linears[n].in_features + linears[n].out_features) for n in t)
            for t in (SFT_TARGETS, RL_TARGETS)
        },
    )


# ------------------------------------------------------------------------------ activations (CPU)
def saved_bytes(n_layers: int, batch: int, tokens: int, ckpt: bool, trainable: tuple | None) -> int:
    """Bytes autograd saves for one bf16 forward of a small LLaDA (d 128, one head of 128)."""
    torch.manual_seed(0)
    cfg = LLaDAConfig(d_model=128, n_heads=1, n_layers=n_layers, mlp_hidden_size=384, vocab_size=128,
                      mask_token_id=127, eos_token_id=126, pad_token_id=126)  # fmt: skip
    model = LLaDAModelLM(cfg).to(torch.bfloat16)
    for name, p in model.named_parameters():  # LoRA stand-in: only the adapted modules need their inputs
        p.requires_grad_(trainable is None or name.endswith(tuple(f"{t}.weight" for t in trainable)))
    if ckpt:  # reentrant checkpointing saves each block's inputs only (seen by the hook below)
        for blk in model.model.transformer.blocks:
            blk.forward = lambda x, bias, q=None, f=blk.forward: checkpoint(f, x, bias, q, use_reentrant=True)
    params = {p.untyped_storage().data_ptr() for p in model.parameters()}
    seen: dict[int, int] = {}

    def pack(t):
        s = t.untyped_storage()
        if s.data_ptr() not in params:
            seen[s.data_ptr()] = s.nbytes()
        return t

    x = torch.randint(0, 120, (batch, tokens), generator=torch.Generator().manual_seed(0))
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        out = model(x).logits
    out.float().sum().backward()
    return sum(seen.values())


def per_token_bytes(ckpt: bool, trainable: tuple | None, tokens: int = 64) -> tuple[float, float, float]:
    """(bytes per token per block per d_model unit, B-independent bytes per position per block,
    bytes per token per d_model unit outside the blocks)."""
    b = {(n, B): saved_bytes(n, B, tokens, ckpt, trainable) for n in (1, 2) for B in (1, 2)}
    block = {B: b[2, B] - b[1, B] for B in (1, 2)}
    slope = (block[2] - block[1]) / tokens  # per token
    outside = (b[1, 2] - b[1, 1]) / tokens - slope
    return slope / 128, (block[1] - slope * tokens) / tokens, outside / 128


# ------------------------------------------------------------------------------------- the tables
STAGES = [  # name, micro-batch label, rows B, tokens T, completion tokens, rollout rows, modes
    ("sft", "d1 1x4096", 1, 4096, 4096, 0, ("full", "full-bf16", "lora")),
    ("sft", "profile 8x512", 8, 512, 512, 0, ("full", "full-bf16", "lora")),
    ("diffu_grpo", "d1 6x456", 6, 456, 256, 6, ("full", "full-bf16", "lora", "qlora")),
    ("diffu_grpo", "pipeline 36x456", 36, 456, 256, 36, ("full", "full-bf16", "lora", "qlora")),
    ("just_grpo", "ref 8x512", 8, 512, 1, 8, ("full", "full-bf16", "lora")),
    ("just_grpo", "profile 16x512", 16, 512, 1, 8, ("full", "full-bf16", "lora")),
]


def static_bytes(s: dict, stage: str, mode: str, strategy: str, n: int) -> float:
    """Weights, gradients, optimizer states and reference model per GPU."""
    P, L, lora = s["total"], s["n_layers"], mode in ("lora", "qlora")
    Pa = s["adapter"][SFT_TARGETS if stage == "sft" else RL_TARGETS] if lora else 0
    nf4 = NF4_BYTES * L * s["block_linear"] + 2 * (P - L * s["block_linear"])  # bytes of the NF4 base
    per_param = {  # bytes per base parameter: bf16 compute copy, stored param, grad, optimizer states
        "full": (2, 0, 4, 12),  # fp32 master counted with the states: ZeRO partitions it, FSDP shards it
        "full-bf16": (0, 2, 2, 4),
        "lora": (0, 2, 0, 0),
        "qlora": (0, nf4 / P, 0, 0),
    }[mode]
    parts = dict(zip(("compute", "param", "grad", "opt"), (b * P for b in per_param), strict=True))
    for kind, b in (("param", 4), ("grad", 4), ("opt", 8)):  # the fp32 adapter (PEFT's default dtype)
        parts[kind] += b * Pa
    parts["ref"] = 2 * P if stage == "diffu_grpo" and not lora else 0  # bf16 KL reference
    shard = {"ddp": (), "zero2": ("grad", "opt"), "fsdp": ("param", "grad", "opt", "ref")}[strategy]
    out = sum(v / n if k in shard else v for k, v in parts.items() if not (strategy == "fsdp" and k == "compute"))
    if strategy == "fsdp":
        out += 2 * (s["root"] + 2 * s["block"])  # unsharded bf16 units
    return out


def activation_bytes(s: dict, c: dict, stage: str, mode: str, B: int, T: int, ckpt: bool) -> float:
    d, L = s["d_model"], s["n_layers"]
    targets = (SFT_TARGETS if stage == "sft" else RL_TARGETS) if mode in ("lora", "qlora") else None
    full = c[False, targets]
    outside = c[False, None][2]  # frozen-LoRA stand-ins make this term ill-defined; use the full one
    per_block = lambda k: k[0] * B * T * d + k[1] * T
    lora_extra = len(targets) * B * T * (3 * d + 2 * RANK) if targets else 0
    one = per_block(full) + lora_extra  # one block, everything saved
    kept = per_block(c[True, None]) if ckpt else one
    return L * kept + one + outside * B * T * d  # + working set + outside the blocks


def logits_bytes(s: dict, stage: str, B: int, T: int, comp: int) -> float:
    V = s["vocab_size"]
    if stage == "sft":
        return 14 * B * T * V
    if stage == "diffu_grpo":
        return 4 * B * T * V + 2 * B * comp * V + 2 * 4 * CHUNK_ELEMENTS
    return 4 * B * V


def rollout_bytes(s: dict, c: dict, stage: str, rows: int, T: int) -> float:
    V, d = s["vocab_size"], s["d_model"]
    if rows == 0:
        return 0.0
    work = c[False, None][0] * rows * T * d  # one block's activations
    return work + (42 * rows * T * V if stage == "diffu_grpo" else 2 * rows * V)


def main() -> None:
    s = shapes()
    print(f"LLaDA-8B on meta: {s['total'] / 1e9:.3f}B params (block {s['block'] / 1e6:.1f}M x {s['n_layers']}, "
          f"embedding + head {s['root'] / 1e9:.3f}B); LoRA r {RANK}: q/k/v {s['adapter'][SFT_TARGETS] / 1e6:.1f}M, "
          f"q/k/v/up {s['adapter'][RL_TARGETS] / 1e6:.1f}M params")  # fmt: skip
    torch.set_num_threads(1)  # tiny matmuls: threads only contend
    c = {
        (ck, t): per_token_bytes(ck, t)
        for ck, t in ((False, None), (True, None), (False, SFT_TARGETS), (False, RL_TARGETS))
    }
    for (ck, t), (a, r, o) in c.items():
        what = "checkpointed" if ck else "all trainable" if t is None else "LoRA stand-in " + "/".join(t)
        out = f", {o:.3f} B per token per d_model outside the blocks" if (ck, t) == (False, None) else ""
        print(f"measured ({what}): {a:.3f} B per token per block per d_model unit + {r:.0f} B per position{out}")
    check = per_token_bytes(False, None, tokens=32)[0]
    print(f"  same at 32 tokens: {check:.3f} (no T^2 term: SDPA saved no scores)")
    gib = lambda x: x / GiB
    H = s["n_heads"]
    math = ", ".join(
        f"{st} {lb.split()[0]} {gib(s['n_layers'] * 4 * H * B * T**2):.0f}" for st, lb, B, T, *_ in STAGES[::2]
    )
    print(f"SDPA's math path would add [B, H, T, T] scores + probabilities (bf16, 32 blocks), GiB: {math}")
    head = f"{'stage':<11}{'micro-batch':<17}{'mode':<10}{'act':>12}{'logits':>8}{'rollout':>8}"
    head += f"{'1 GPU / DDP x8':>16}{'ZeRO-2 x8':>16}{'FSDP x8':>16}"
    print("\nGiB per GPU; act and totals as 'no checkpointing / checkpointing'\n" + head + "\n" + "-" * len(head))
    fits: dict[int, list[str]] = {1: [], 8: []}
    for stage, label, B, T, comp, rows, modes in STAGES:
        ok1, ok8 = [], []
        for mode in modes:
            act = [activation_bytes(s, c, stage, mode, B, T, ck) for ck in (False, True)]
            lg, ro = logits_bytes(s, stage, B, T, comp), rollout_bytes(s, c, stage, rows, T)
            row = (
                f"{stage:<11}{label:<17}{mode:<10}{gib(act[0]):>6.1f}/{gib(act[1]):<5.1f}{gib(lg):>8.1f}{gib(ro):>8.1f}"
            )
            where = {}  # strategy -> "" (fits without checkpointing) or " +ckpt" (only with it)
            for strategy in ("ddp", "zero2", "fsdp"):
                tot = [gib(static_bytes(s, stage, mode, strategy, 8) + max(a + lg, ro)) for a in act]
                row += f"{tot[0]:>10.1f}/{tot[1]:<5.1f}"
                if min(tot) <= USABLE * CAPACITY:
                    where[strategy] = "" if tot[0] <= USABLE * CAPACITY else " +ckpt"
            print(row)
            if "ddp" in where:
                ok1.append(mode + where["ddp"])
            elif where:
                ok8.append(f"{mode} ({', '.join(k + v for k, v in where.items())})")
        fits[1].append(f"{stage} {label}: {', '.join(ok1) or '-'}")
        fits[8].append(f"{stage} {label}: {', '.join(ok8) or '-'}")
    print(f"\nfits on 1 x {CAPACITY} GB: " + "; ".join(fits[1]))
    print(f"fits on 8 x {CAPACITY} GB (besides those, which fit under DDP x8 too): " + "; ".join(fits[8]))
    V = s["vocab_size"]
    for _, label, B, T, comp, *_ in STAGES[2:4]:
        now, before = gib(logits_bytes(s, "diffu_grpo", B, T, comp)), gib(2 * B * T * V + 12 * B * comp * V)
        print(f"diffu_grpo {label} logits: {now:.1f} GiB chunked, {before:.1f} GiB unchunked")


if __name__ == "__main__":
    main()
