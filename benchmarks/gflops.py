"""Where the time goes: achieved GFLOP/s of a training step and of a decoding forward of the tiny
model, against this machine's measured matmul peak (on a GPU: MFU against its measured bf16 peak).

    python benchmarks/gflops.py [--device cpu|cuda] [--repeats 10]

FLOPs are counted by ``torch.utils.flop_counter.FlopCounterMode`` (matmuls and attention; the
elementwise work is not counted, so the fraction is a lower bound on how busy the hardware is).
The peak is a large square matmul in the dtype the stages compute in. Shapes follow params.yaml:
pretrain's batch at its longest training length, and one denoising forward of an evaluation batch
at the longest generation length. Do not run other timings at the same time.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch
import yaml
from torch.utils.flop_counter import FlopCounterMode

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pipeline.core.data import prompt_ids
from pipeline.model import io
from pipeline.tasks import build_tasks

ROOT = Path(__file__).resolve().parents[1]


def _sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def timed(fn, device, repeats: int) -> float:
    """Median seconds of ``fn`` after one warm-up call."""
    fn()
    _sync(device)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        _sync(device)
        times.append(time.perf_counter() - t0)
    return sorted(times)[len(times) // 2]


def counted(fn) -> int:
    with FlopCounterMode(display=False) as counter:
        fn()
    return counter.get_total_flops()


def matmul_peak(device, dtype, repeats: int) -> float:
    n = 2048 if device.type == "cpu" else 8192
    a, b = (torch.randn(n, n, device=device, dtype=dtype) for _ in range(2))
    return 2 * n**3 / timed(lambda: a @ b, device, repeats) / 1e9


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--repeats", type=int, default=10)
    args = ap.parse_args()
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    device = torch.device(args.device)
    torch.set_num_threads(params["runtime"]["threads"])
    dtype = torch.float32 if device.type == "cpu" else torch.bfloat16  # what the stages compute in
    torch.manual_seed(0)
    model, tok = io.build_scratch(params["model"])
    model.to(device)
    vocab = model.config.vocab_size
    pre, ev = params["pretrain"], params["eval"]
    tasks = build_tasks(params, pre["tasks"])
    prompt = max(len(prompt_ids(tok, t, ex, "eval")) for t in tasks.values() for ex in t.load("test", 32))
    train_x = torch.randint(0, vocab, (pre["batch_size"], prompt + max(pre["train_lengths"])), device=device)
    eval_x = torch.randint(0, vocab, (ev["batch_size"], prompt + max(ev["gen_lengths"])), device=device)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)

    def train_step():
        with torch.autocast(device.type, dtype=dtype, enabled=dtype != torch.float32):
            loss = model(train_x).logits.float().logsumexp(-1).mean()
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)

    @torch.no_grad()
    def decode_forward():
        with torch.autocast(device.type, dtype=dtype, enabled=dtype != torch.float32):
            model(eval_x)

    peak = matmul_peak(device, dtype, args.repeats)
    n_params = sum(p.numel() for p in model.parameters())
    label = (
        f"{device.type}, {torch.get_num_threads()} threads" if device.type == "cpu" else torch.cuda.get_device_name()
    )
    print(f"{label}; {dtype}; model {n_params / 1e6:.2f}M parameters; matmul peak {peak:.1f} GFLOP/s")
    print(f"{'work':<34}{'shape':>12}{'GFLOP':>9}{'ms':>9}{'GFLOP/s':>10}{'of peak':>9}")
    for name, fn, x in (
        ("training step (fwd+bwd+AdamW)", train_step, train_x),
        ("decoding forward", decode_forward, eval_x),
    ):
        flops = counted(fn)
        seconds = timed(fn, device, args.repeats)
        rate = flops / seconds / 1e9
        shape = f"{x.shape[0]}x{x.shape[1]}"
        print(f"{name:<34}{shape:>12}{flops / 1e9:>9.2f}{seconds * 1e3:>9.1f}{rate:>10.1f}{100 * rate / peak:>8.1f}%")


if __name__ == "__main__":
    main()
