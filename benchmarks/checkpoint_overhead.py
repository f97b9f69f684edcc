"""Cost of resumable checkpoints: seconds per training step without them and with one every N steps.

    python benchmarks/checkpoint_overhead.py [--steps 60] [--every 1 10 100]

Trains the tiny default model (params.yaml: model, pretrain) on generated tiny tasks for ``--steps``
steps, once without checkpoints and once per ``--every``, and prints seconds per step, the
overhead per step and the size of one checkpoint. Do not run other timings at the same time.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import torch
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pipeline.core.tracking import NullRun
from pipeline.model import io
from pipeline.tasks import build_tasks
from pipeline.training.batches import EncodedExamples
from pipeline.training.checkpoint import STATE, Resume
from pipeline.training.distributed import Processes
from pipeline.training.trainer import train_masked_diffusion

ROOT = Path(__file__).resolve().parents[1]


def seconds_per_step(params: dict, steps: int, every: int, directory: Path) -> float:
    torch.manual_seed(0)
    model, tok = io.build_scratch(params["model"])
    cfg = {**params["pretrain"], "steps": steps, "checkpoint_every": every}
    tasks = build_tasks(params, cfg["tasks"])
    enc = EncodedExamples(tok, tasks, {n: t.load("train", 500) for n, t in tasks.items()}, cfg["target_format"])
    resume = Resume(directory, key=f"bench-{every}", every=every)
    t0 = time.perf_counter()
    train_masked_diffusion(model, enc, cfg, NullRun(), f"every {every}", Processes(params["runtime"]), resume=resume)
    return (time.perf_counter() - t0) / steps


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=60)
    ap.add_argument("--every", type=int, nargs="+", default=[1, 10, 100])
    args = ap.parse_args()
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    torch.set_num_threads(params["runtime"]["threads"])
    with tempfile.TemporaryDirectory() as tmp:
        base = seconds_per_step(params, args.steps, 0, Path(tmp) / "none")
        print(f"tiny default model, {args.steps} pretrain steps, {torch.get_num_threads()} threads")
        print(f"{'checkpoint_every':>17}{'s/step':>9}{'overhead/step':>15}{'checkpoint MB':>15}")
        print(f"{'none':>17}{base:>9.4f}{'':>15}{'':>15}")
        for every in args.every:
            d = Path(tmp) / str(every)
            per_step = seconds_per_step(params, args.steps, every, d)
            size = (d / STATE).stat().st_size / 1e6 if (d / STATE).exists() else float("nan")
            print(f"{every:>17}{per_step:>9.4f}{100 * (per_step / base - 1):>14.1f}%{size:>15.2f}", flush=True)


if __name__ == "__main__":
    main()
