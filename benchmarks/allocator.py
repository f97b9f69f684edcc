"""What keeping freed memory in the process (pipeline.core.allocator) buys, and that it changes nothing.

    python benchmarks/allocator.py [--threads 1] [--repeats 3]

Runs the same work twice in fresh processes, once with glibc's default malloc thresholds
(``PIPELINE_MALLOC=default``) and once with the pipeline's: one evaluation batch of the tiny model
(params.yaml's eval batch size, its longest generation length, low-confidence decoding under the d1
protocol) and a pretraining step. Prints each one's median time and whether the decoded tokens and
the trained weights are bit-for-bit equal. Do not run other timings at the same time.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def work(threads: int, repeats: int) -> dict:
    """Times and output digests of one decoding batch and one training step, in this process."""
    sys.path.insert(0, str(ROOT))
    import torch
    import yaml
    from gflops import timed  # this script's folder is on sys.path

    from pipeline.model import io
    from pipeline.sampling import Decoding
    from pipeline.sampling.low_confidence import low_confidence

    torch.set_num_threads(threads)
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    ev, pre = params["eval"], params["pretrain"]
    torch.manual_seed(0)
    model, _ = io.build_scratch(params["model"])
    L = max(ev["gen_lengths"])
    spec = Decoding(io.mask_id(model), L, ev["block_length"], int(L * ev["protocols"]["d1"]))
    prompt = torch.randint(0, io.mask_id(model), (ev["batch_size"], params["model"]["prompt_width"]))
    train_x = torch.randint(0, io.mask_id(model), (pre["batch_size"], prompt.shape[1] + max(pre["train_lengths"])))
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)

    def decode():
        return low_confidence(model, prompt, spec).sequences

    def train_step():
        model(train_x).logits.logsumexp(-1).mean().backward()
        opt.step()
        opt.zero_grad(set_to_none=True)

    cpu = torch.device("cpu")
    out = {"decode_s": timed(decode, cpu, repeats)}  # median after a warm-up call (benchmarks/gflops.py)
    out["tokens"] = hashlib.sha256(decode().numpy().tobytes()).hexdigest()
    out["train_step_s"] = timed(train_step, cpu, repeats)
    weights = torch.cat([p.detach().flatten() for p in model.parameters()])
    out["weights"] = hashlib.sha256(weights.numpy().tobytes()).hexdigest()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(work(args.threads, args.repeats)))
        return
    results = {}
    for label, malloc in (("glibc default", "default"), ("pipeline (kept)", "keep")):
        env = {**os.environ, "PIPELINE_MALLOC": malloc}
        cmd = [sys.executable, __file__, "--child", "--threads", str(args.threads), "--repeats", str(args.repeats)]
        results[label] = json.loads(subprocess.run(cmd, env=env, check=True, capture_output=True, text=True).stdout)
    print(f"{'malloc':<18}{'decode batch s':>16}{'train step ms':>15}")
    for label, r in results.items():
        print(f"{label:<18}{r['decode_s']:>16.2f}{1e3 * r['train_step_s']:>15.1f}")
    a, b = results.values()
    print(
        f"decode {a['decode_s'] / b['decode_s']:.2f}x, train step {a['train_step_s'] / b['train_step_s']:.2f}x; "
        f"tokens identical: {a['tokens'] == b['tokens']}, weights identical: {a['weights'] == b['weights']}"
    )


if __name__ == "__main__":
    main()
