"""KV cache (none / prefix / dual) in evaluation and in RL rollouts: positions computed per committed
token, wall time, and accuracy with its 95% interval and the paired difference from ``none``.

    python benchmarks/kv_cache.py eval --results results [--model base] [--n 512] [--sampler low_confidence]
    python benchmarks/kv_cache.py rl --results results [--method diffu_grpo] [--init base] [--steps 60]

``eval`` decodes each tiny task's test split (``<results>/data``) with the model at every
``eval.gen_lengths`` under the d1 protocol, once per cache setting. ``rl`` trains
``python -m pipeline rl`` from ``<results>/models/<init>`` with ``rl.methods.<method>.rollout_cache``
set to each setting (a temporary params file; everything else as params.yaml) and reports the mean
step and rollout times, the PPO ratio's mean (off-policy drift of cached rollouts), the sampled
reward and accuracy over the last 20 steps, and the greedy accuracy of the result at the first gen
length. Needs a finished main job in ``--results`` (``snakemake --cores all
results/table1.csv``). One thread; do not run other timings at the same time.
"""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pipeline.core.config import load_params  # noqa: E402
from pipeline.decoding.problems import evaluate_length  # noqa: E402
from pipeline.model import io  # noqa: E402
from pipeline.reports.stats import mean_ci, paired_diff_ci  # noqa: E402
from pipeline.sampling import Decoding, get_sampler  # noqa: E402
from pipeline.tasks import build_tasks, read_prepared  # noqa: E402

CACHES = ("none", "prefix", "dual")


def eval_table(params: dict, results: Path, model_name: str, n: int, sampler_name: str) -> list[dict]:
    cfg = params["eval"]
    ratio = cfg["protocols"]["d1"]
    model, tok = io.load(results / "models" / model_name)
    model.eval()
    tasks = build_tasks(params, params["tables"]["table1"]["tasks"])
    test = read_prepared(results / "data", tasks, "test")
    rows = []
    for name, task in tasks.items():
        examples = test[name][:n]
        for L in cfg["gen_lengths"]:
            spec = Decoding(io.mask_id(model), L, cfg["block_length"], steps=round(ratio * L))
            scores = {}
            for cache in CACHES:
                options = {**params["sampling"][sampler_name], "cache": cache}
                sampler = get_sampler(sampler_name, options)
                t0 = time.perf_counter()
                m, recs = evaluate_length(
                    model, tok, task, examples, sampler, spec, cfg["batch_size"], desc=f"{name}/L{L}/{cache}"
                )
                seconds = time.perf_counter() - t0
                scores[cache] = [r["score"] for r in recs]
                acc, lo, hi = mean_ci(scores[cache])
                d, dlo, dhi = paired_diff_ci([(scores["none"], scores[cache])])
                rows.append(
                    {
                        "task": name,
                        "L": L,
                        "cache": cache,
                        "positions_per_token": m["positions_per_token"],
                        "seconds": seconds,
                        "accuracy": acc,
                        "ci": [lo, hi],
                        "diff_vs_none": [d, dlo, dhi],
                        "format_rate": m["format_rate"],
                    }
                )
                print(json.dumps(rows[-1]), flush=True)
    return rows


def rl_table(params: dict, results: Path, method: str, init: str, steps: int) -> list[dict]:
    rows = []
    tasks = build_tasks(params, params["rl"]["tasks"])
    first = params["eval"]["gen_lengths"][0]
    test = read_prepared(results / "data", tasks, "test")
    for cache in CACHES:
        p = json.loads(json.dumps(params))
        p["rl"]["steps"] = steps
        p["rl"]["methods"][method]["rollout_cache"] = cache
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            (tmp / "params.yaml").write_text(yaml.safe_dump(p))
            out = tmp / "model"
            cmd = [sys.executable, "-m", "pipeline", "rl", "--params", str(tmp / "params.yaml")]
            cmd += ["--method", method, "--init", str(results / "models" / init), "--run", "all"]
            cmd += ["--data", str(results / "data"), "--out", str(out), "--metrics", str(tmp / "m.json")]
            cmd += ["--log", str(tmp / "rl.log")]
            t0 = time.perf_counter()
            subprocess.run(cmd, cwd=ROOT, check=True)
            wall = time.perf_counter() - t0
            with (tmp / "m.csv").open() as f:
                curve = [row for row in csv.DictReader(f) if row.get("reward")]
            last = curve[-min(20, len(curve)) :]  # one step's reward is noisy: the last 20 steps' mean
            mean = lambda key, rows: sum(float(r[key]) for r in rows if r.get(key)) / max(len(rows), 1)
            model, tok = io.load(out)
            model.eval()
            accs = {}
            for name, task in tasks.items():
                examples = test[name]
                cfg = params["eval"]
                spec = Decoding(io.mask_id(model), first, cfg["block_length"], steps=first // 2)
                m, _ = evaluate_length(
                    model, tok, task, examples, get_sampler("low_confidence"), spec, cfg["batch_size"], desc=name
                )
                accs[name] = m["accuracy"]
        rows.append(
            {
                "method": method,
                "cache": cache,
                "wall_s": wall,
                "step_s": mean("step_s", curve),
                "rollout_s": mean("rollout_s", curve),
                "reward_last20": mean("reward", last),
                "sampled_accuracy_last20": mean("sampled_accuracy", last),
                "ratio_mean": mean("ratio_mean", curve),
                f"greedy_accuracy_L{first}": accs,
            }
        )
        print(json.dumps(rows[-1]), flush=True)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("what", choices=["eval", "rl"])
    ap.add_argument("--results", type=Path, default=ROOT / "results")
    ap.add_argument("--params", type=Path, default=ROOT / "params.yaml")
    ap.add_argument("--model", default="base")
    ap.add_argument("--n", type=int, default=512, help="test problems per task")
    ap.add_argument("--sampler", default="low_confidence")
    ap.add_argument("--method", default="diffu_grpo")
    ap.add_argument("--init", default="base")
    ap.add_argument("--steps", type=int, default=60)
    ap.add_argument("--out", type=Path, help="write the rows as JSON here")
    args = ap.parse_args()
    torch.set_num_threads(1)
    params = load_params(args.params)
    if args.what == "eval":
        rows = eval_table(params, args.results, args.model, args.n, args.sampler)
        print("| task | L | cache | positions/token | s | accuracy [95% CI] | diff vs none [95% CI] |")
        print("|---|---|---|---|---|---|---|")
        for r in rows:
            d = r["diff_vs_none"]
            print(
                f"| {r['task']} | {r['L']} | {r['cache']} | {r['positions_per_token']:.1f} | {r['seconds']:.1f} | "
                f"{r['accuracy']:.1f} [{r['ci'][0]:.1f}, {r['ci'][1]:.1f}] | {d[0]:+.1f} [{d[1]:+.1f}, {d[2]:+.1f}] |"
            )
    else:
        rows = rl_table(params, args.results, args.method, args.init, args.steps)
    if args.out:
        args.out.write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
