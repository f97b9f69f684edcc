"""Step rate of a training stage alone and beside CPU-bound neighbours (issue: threads spin under contention).

    python benchmarks/contention.py [--neighbours 1] [--steps 6]

Runs a few diffu-GRPO steps of the tiny default model (params.yaml) in a fresh process, once alone
and once beside ``--neighbours`` busy-looping processes, for each thread setting:
  * ``2 threads``: runtime.threads = 2 with torch's default OpenMP settings (what used to run);
  * ``2 threads, passive``: OMP_WAIT_POLICY=PASSIVE (idle threads sleep instead of spinning);
  * ``managed``: what ``pipeline.core.runtime.setup`` now does (runtime.adapt_threads: threads capped
    by the cores other processes leave free, measured at the start and every few seconds).
Prints seconds per step and the slowdown beside the neighbours. Do not run other timings at the same time.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHILD = """
import os, sys, time, torch, yaml
sys.path.insert(0, {root!r})
from pipeline.core import runtime
from pipeline.model import io
from pipeline.rl import get_method, method_config
from pipeline.rl.loop import run_rl
from pipeline.tasks import build_tasks
from pipeline.training.batches import EncodedExamples
from pipeline.training.distributed import Processes
from pipeline.core.tracking import NullRun
params = yaml.safe_load(open({params!r}))
params["runtime"]["threads"] = 2
if {managed}:
    runtime.setup(params["runtime"], 0)
else:
    torch.set_num_threads(2)
torch.manual_seed(0)
model, tok = io.build_scratch(params["model"])
cfg = method_config(params["rl"], "diffu_grpo", "all") | {{"steps": {steps}}}
tasks = build_tasks(params, cfg["tasks"])
enc = EncodedExamples(tok, tasks, {{n: t.load("train", 200) for n, t in tasks.items()}}, None, mode="rl")
method = get_method("diffu_grpo", cfg, tok.mask_token_id, tok.eos_token_id)
t0 = time.time()
run_rl(model, tok, method, enc, cfg, NullRun(), Processes(params["runtime"]))
print((time.time() - t0) / {steps}, torch.get_num_threads())
"""

SETTINGS = {
    "2 threads": ({}, False),
    "2 threads, passive": ({"OMP_WAIT_POLICY": "PASSIVE"}, False),
    "managed": ({}, True),
}


def measure(env_extra: dict, managed: bool, steps: int) -> tuple[float, int]:
    code = CHILD.format(root=str(ROOT), params=str(ROOT / "params.yaml"), managed=managed, steps=steps)
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "OMP_NUM_THREADS")} | env_extra
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    per_step, threads = out.stdout.split()
    return float(per_step), int(threads)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--neighbours", type=int, default=1)
    ap.add_argument("--steps", type=int, default=6)
    args = ap.parse_args()
    print(
        f"{os.cpu_count()} cores; neighbours: {args.neighbours} busy-looping processes; {args.steps} diffu-GRPO steps"
    )
    print(f"{'setting':<22}{'alone s/step':>14}{'beside s/step':>15}{'slowdown':>10}{'threads':>9}")
    for name, (env, managed) in SETTINGS.items():
        alone, _ = measure(env, managed, args.steps)
        busy = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(args.neighbours)]
        try:
            time.sleep(1.0)  # the neighbours are running before the stage starts
            beside, threads = measure(env, managed, args.steps)
        finally:
            for p in busy:
                p.kill()
        print(f"{name:<22}{alone:>14.3f}{beside:>15.3f}{beside / alone:>9.2f}x{threads:>9}", flush=True)


if __name__ == "__main__":
    main()
