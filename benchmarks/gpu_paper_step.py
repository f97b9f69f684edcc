"""LLaDA-8B's shapes on a real GPU: peak memory of the pipeline's own training step against
``paper_memory.py``'s prediction for the same shape, step time and MFU, and decoding time with and
without the KV cache. Random weights (the shapes, not the values, set memory and time).

    python benchmarks/gpu_paper_step.py [--full-layers 8] [--steps 3] [--no-decode]

Training: the path ``pipeline sft`` takes under the paper profile -- ``Processes`` (accelerate,
bf16 autocast over float32 master weights), ``prepare_trainable`` (LoRA r 128 on q/k/v, d1's SFT),
``forward_process`` + ``masked_diffusion_loss``, ``adamw`` -- on d1's SFT micro-batch (1 x 4096).
LoRA runs at all 32 blocks; full fine-tuning (18 B per parameter) does not fit one 141 GB card at
32 blocks, so it runs at ``--full-layers`` blocks, compared with the prediction for that many. Peaks are
``torch.cuda.max_memory_allocated`` over the steps after the first (AdamW's states exist from then).
Columns: memory still allocated before the config (0 unless an earlier one leaked), the peaks of the
forward + backward and of the optimizer update, paper_memory's prediction, step time, FLOPs
(FlopCounterMode) and MFU against a measured 8192^3 bf16 matmul. AdamW: torch's default (foreach)
or the pipeline's ``training.distributed.adamw`` (fused on CUDA).

diffu-GRPO: one step of ``rl/loop.py``'s sequence (rollout, old and reference log-probs, two inner
updates) on d1's per-device micro-batch, LoRA on q/k/v/up, with and without checkpointing: time and
peak of each part against paper_memory's prediction. (Added after the H200 run README reports; it
has run only on CPU at shrunken shapes so far.)

Decoding: ``low_confidence`` at gen length 256, blocks of 32, one token per step, 8 prompts of 200
tokens, ``cache`` none / prefix / dual: wall time and positions computed per committed token.
Needs CUDA; nothing here runs in the test suite.
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import paper_memory as pm  # noqa: E402
from gflops import counted, matmul_peak  # noqa: E402

from pipeline.core.rng import RowGenerators, row_seed  # noqa: E402
from pipeline.model import LLaDAConfig, LLaDAModelLM  # noqa: E402
from pipeline.rl.diffu_grpo import DiffuGRPO  # noqa: E402
from pipeline.sampling import Decoding, get_sampler  # noqa: E402
from pipeline.training.adapters import prepare_trainable, reference_of  # noqa: E402
from pipeline.training.distributed import Processes, adamw  # noqa: E402
from pipeline.training.losses import forward_process, masked_diffusion_loss  # noqa: E402

GiB = 2**30
RUNTIME = {"threads": 8, "adapt_threads": False, "device": "auto", "dtype": "bfloat16", "launch": "python -m"}
SFT_LORA = {"r": pm.RANK, "alpha": 256, "dropout": 0.05, "targets": list(pm.SFT_TARGETS)}
RL_LORA = {"r": pm.RANK, "alpha": 64, "dropout": 0.05, "targets": list(pm.RL_TARGETS)}
MASK, EOS = 126336, 126081
B, T = 1, 4096  # d1's SFT micro-batch


def build(n_layers: int, dtype: torch.dtype) -> LLaDAModelLM:
    cfg = LLaDAConfig(**{**pm.LLADA_8B, "n_layers": n_layers}, max_sequence_length=T)
    with torch.device("cuda"):
        model = LLaDAModelLM(cfg)
    return model.to(dtype)


def predicted_gib(mode: str, n_layers: int, ckpt: bool, c: dict, stage: str = "sft") -> float:
    """paper_memory's 1-GPU prediction for ``n_layers`` blocks: static + max(training, rollout)."""
    s = pm.shapes({**pm.LLADA_8B, "n_layers": n_layers})
    total = pm.static_bytes(s, stage, mode, "ddp", 1)
    if stage == "sft":
        total += pm.activation_bytes(s, c, "sft", mode, B, T, ckpt) + pm.logits_bytes(s, "sft", B, T, T)
    else:  # d1's diffu-GRPO micro-batch: 6 completions x (200 + 256)
        train = pm.activation_bytes(s, c, stage, mode, 6, 456, ckpt) + pm.logits_bytes(s, stage, 6, 456, 256)
        total += max(train, pm.rollout_bytes(s, c, stage, 6, 456))
    return total / GiB


def measured(fn):
    """(fn's result, its seconds, the peak GiB allocated while it ran)."""
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    t0 = time.perf_counter()
    out = fn()
    torch.cuda.synchronize()
    return out, time.perf_counter() - t0, torch.cuda.max_memory_allocated() / GiB


def release(procs: Processes) -> None:
    """Free what a config prepared: accelerate and procs hold it until told, and PEFT's wrappers and the
    step closures form reference cycles."""
    procs.accelerator.free_memory()
    procs.wrapped = None
    gc.collect()
    torch.cuda.empty_cache()


def train(mode: str, n_layers: int, ckpt: bool, steps: int, procs: Processes, fused: bool) -> dict:
    torch.manual_seed(0)
    model = build(n_layers, torch.bfloat16 if mode == "lora" else torch.float32)  # as load_trainable
    model = prepare_trainable(model, {"lora": SFT_LORA if mode == "lora" else None, "gradient_checkpointing": ckpt})
    model.train()
    trainable = [p for p in model.parameters() if p.requires_grad]
    opt = (adamw if fused else torch.optim.AdamW)(trainable, lr=1e-5, betas=(0.9, 0.98), weight_decay=0.1)
    model, opt = procs.prepare(model, opt, select=False)
    x = torch.randint(0, 126000, (B, T), device="cuda")
    maskable = torch.ones_like(x, dtype=torch.bool)
    maskable[:, :200] = False  # a 200-token prompt

    def forward_backward():
        noisy, masked, p_mask = forward_process(x, maskable, MASK, 1e-3)
        with procs.autocast():
            logits = model(noisy).logits  # [B, T, V]
        loss = masked_diffusion_loss(logits, x, masked, p_mask, maskable.sum(1))
        procs.accelerator.backward(loss)

    def update():
        opt.step()
        opt.zero_grad(set_to_none=True)

    forward_backward()
    block0 = [p.grad for n, p in model.named_parameters() if p.requires_grad and ".blocks.0." in n]
    assert any(g is not None and g.abs().sum() > 0 for g in block0), "block 0 got no gradient"  # lora_B starts at 0
    update()  # AdamW's states appear here
    peaks, times = {"fwd+bwd": 0.0, "update": 0.0}, []
    for _ in range(steps):
        t = 0.0
        for name, fn in (("fwd+bwd", forward_backward), ("update", update)):
            _, seconds, peak = measured(fn)
            t += seconds
            peaks[name] = max(peaks[name], peak)
        times.append(t)
    flops = counted(lambda: (forward_backward(), update()))
    seconds = sorted(times)[len(times) // 2]
    return {**peaks, "seconds": seconds, "flops": flops}


def diffu_grpo_step(ckpt: bool, procs: Processes) -> dict:
    """One diffu-GRPO step as ``rl/loop.py`` runs it, on d1's per-device micro-batch (6 rollouts of
    one 200-token prompt, gen length 256, blocks of 32, 128 steps), LoRA r 128 on q/k/v/up, mu 2,
    beta 0.04 (the reference is the adapter-disabled policy)."""
    torch.manual_seed(0)
    rl = {"gen_length": 256, "block_length": 32, "diffusion_steps": 128}
    rl["options"] = {"mu": 2, "beta": 0.04, "clip_eps": 0.5, "p_mask_prompt": 0.15, "temperature": 0.9}
    method = DiffuGRPO(rl, MASK, EOS)
    model = prepare_trainable(build(32, torch.bfloat16), {"lora": RL_LORA, "gradient_checkpointing": ckpt})
    ref = procs.prepare_frozen(reference_of(model))
    opt = adamw([p for p in model.parameters() if p.requires_grad], lr=3e-6, betas=(0.9, 0.99), weight_decay=0.1)
    model, opt = procs.prepare(model, opt, select=False, varying_backwards=True)
    prompt = torch.randint(0, 126000, (1, 200), device="cuda").expand(6, -1)
    attn = torch.ones_like(prompt)
    gen = RowGenerators([row_seed(0, 0, r) for r in range(6)])  # as the loop keys a rollout's rows
    times, peaks = {}, {}

    def part(name, fn):
        out, times[name], peaks[name] = measured(fn)
        return out

    def rollout():
        model.eval()
        with procs.autocast():
            return method.rollout(model, prompt, attn, gen)

    ro = part("rollout", rollout)
    adv = method.advantages(torch.randn(1, 6, device="cuda"))
    model.train()

    def prepare():
        with procs.autocast():
            return method.prepare(model, ref, prompt, attn, ro, adv, torch.Generator().manual_seed(0))

    batch = part("old + ref log-probs", prepare)

    def update(k):
        with procs.autocast():
            method.backward(model, batch, k, procs.accelerator.backward)
        opt.step()
        opt.zero_grad(set_to_none=True)

    for k in range(2):
        part(f"inner update {k + 1}", lambda k=k: update(k))
    return {"times": times, "peaks": peaks}


@torch.no_grad()
def decode() -> list[tuple[str, float, float]]:
    torch.manual_seed(0)
    model = build(32, torch.bfloat16).eval()
    prompt = torch.randint(0, 126000, (8, 200), device="cuda")
    spec = Decoding(MASK, 256, 32, steps=256)
    rows = []
    for cache in ("none", "prefix", "dual"):
        sampler = get_sampler("low_confidence", {"cache": cache})
        sampler(model, prompt[:, :50], Decoding(MASK, 32, 32, steps=4))  # warm-up (kernels, allocator)
        gen, seconds, _ = measured(lambda s=sampler: s(model, prompt, spec))
        rows.append((cache, seconds, gen.positions_per_token))
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--full-layers", type=int, default=8)
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--no-decode", action="store_true", help="training only")
    args = ap.parse_args()
    if not torch.cuda.is_available():
        raise SystemExit(
            "error: no CUDA device; this benchmark measures a GPU (python benchmarks/paper_memory.py predicts)"
        )
    torch.backends.cuda.matmul.allow_tf32 = True
    peak = matmul_peak(torch.device("cuda"), torch.bfloat16, 10) * 1e9  # FLOP/s
    print(f"{torch.cuda.get_device_name()}; bf16 matmul peak {peak / 1e12:.0f} TFLOP/s (8192^3, measured)", flush=True)
    procs = Processes(RUNTIME)
    torch.set_num_threads(1)  # paper_memory's tiny CPU measurements: threads only contend
    pairs = ((False, None), (True, None), (False, pm.SFT_TARGETS), (False, pm.RL_TARGETS))
    c = {(ck, t): pm.per_token_bytes(ck, t) for ck, t in pairs}
    head = f"{'sft 1x4096':<11}{'blocks':>7}{'ckpt':>5}{'AdamW':>8}{'before':>8}{'fwd+bwd':>9}{'update':>8}"
    print(head + f"{'predicted':>10}{'step s':>8}{'TFLOP':>7}{'MFU':>7}   (GiB)")
    configs = [("lora", 32, ck, True) for ck in (True, False)]
    configs += [("full", args.full_layers, ck, fused) for ck in (False, True) for fused in (False, True)]
    for mode, layers, ckpt, fused in configs:
        before = torch.cuda.memory_allocated() / GiB  # what an earlier config left behind (should be ~0)
        r = train(mode, layers, ckpt, args.steps, procs, fused)
        release(procs)
        mfu = r["flops"] / r["seconds"] / peak
        print(
            f"{mode:<11}{layers:>7}{'yes' if ckpt else 'no':>5}{'fused' if fused else 'foreach':>8}{before:>8.1f}"
            f"{r['fwd+bwd']:>9.1f}{r['update']:>8.1f}{predicted_gib(mode, layers, ckpt, c):>10.1f}"
            f"{r['seconds']:>8.2f}{r['flops'] / 1e12:>7.1f}{100 * mfu:>6.1f}%",
            flush=True,
        )
    print(f"\ndiffu-GRPO step, LoRA r {pm.RANK} q/k/v/up, 32 blocks, 6 x (200 + 256), mu 2, beta 0.04 (GiB, s)")
    for ckpt in (False, True):
        r = diffu_grpo_step(ckpt, procs)
        release(procs)
        parts = ", ".join(f"{k} {r['peaks'][k]:.1f} GiB {r['times'][k]:.2f} s" for k in r["times"])
        pred = predicted_gib("lora", 32, ckpt, c, "diffu_grpo")
        print(f"checkpointing {'yes' if ckpt else 'no'}: {parts}; paper_memory.py {pred:.1f} GiB", flush=True)
    if args.no_decode:
        return
    print("\nlow_confidence, 8 x (200 + 256), blocks of 32, 256 steps, LLaDA-8B shapes, bf16")
    print(f"{'cache':<8}{'seconds':>9}{'positions/token':>17}")
    for cache, seconds, ppt in decode():
        print(f"{cache:<8}{seconds:>9.2f}{ppt:>17.1f}", flush=True)


if __name__ == "__main__":
    main()
