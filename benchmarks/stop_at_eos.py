"""``eval.stop_at_eos``: the same texts in less time? Decodes each tiny task's test split with each model
at every ``eval.gen_lengths`` under the d1 protocol, once with every block decoded (false, the papers'
code) and once with finished answers dropped at block boundaries (true), and reports per (model,
task, length) whether every generated text is identical, the wall times and the positions computed
per completion token.

    python benchmarks/stop_at_eos.py --results results [--models base sft] [--n 768] [--protocol d1]

Needs a finished main job in ``--results`` (``snakemake --cores all results/table1.csv``). One thread;
do not run other timings at the same time. Exits 1 if any text differs.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pipeline.core.config import load_params  # noqa: E402
from pipeline.decoding.problems import evaluate_length  # noqa: E402
from pipeline.model import io  # noqa: E402
from pipeline.sampling import Decoding, get_sampler  # noqa: E402
from pipeline.tasks import build_tasks, read_prepared  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--results", type=Path, default=ROOT / "results")
    ap.add_argument("--params", default=str(ROOT / "params.yaml"))
    ap.add_argument("--models", nargs="+", default=None, help="default: table1's rows")
    ap.add_argument("--protocol", default="d1")
    ap.add_argument("--n", type=int, default=None, help="test problems per task (default: all)")
    args = ap.parse_args()
    torch.set_num_threads(1)
    params = load_params(args.params)
    cfg = params["eval"]
    table = next(t for t in params["tables"].values() if t["protocol"] == args.protocol)
    tasks = build_tasks(params, table["tasks"])
    test = read_prepared(args.results / "data", tasks, "test")
    sampler = get_sampler(cfg["sampler"], params["sampling"][cfg["sampler"]])
    print("| model | task | L | texts identical | seconds (false -> true) | speed-up | positions per token |")
    print("|---|---|---|---|---|---|---|")
    total, differ = {False: 0.0, True: 0.0}, 0
    for model_name in args.models or table["models"]:
        model, tok = io.load(args.results / "models" / model_name)
        model.eval()
        for name, task in tasks.items():
            examples = test[name][: args.n]
            for L in cfg["gen_lengths"]:
                texts, seconds, positions = {}, {}, {}
                for stop in (False, True):
                    spec = Decoding(
                        io.mask_id(model),
                        L,
                        cfg["block_length"],
                        round(cfg["protocols"][args.protocol] * L),
                        stop_id=tok.eos_token_id if stop else None,
                    )
                    t0 = time.perf_counter()
                    m, recs = evaluate_length(
                        model, tok, task, examples, sampler, spec, cfg["batch_size"], desc=f"{name}/L{L}/{stop}"
                    )
                    seconds[stop] = time.perf_counter() - t0
                    total[stop] += seconds[stop]
                    texts[stop], positions[stop] = [r["generation"] for r in recs], m["positions_per_token"]
                same = texts[False] == texts[True]
                differ += not same
                print(
                    f"| {model_name} | {name} | {L} | {'yes' if same else 'NO'} | {seconds[False]:.1f} -> "
                    f"{seconds[True]:.1f} | {seconds[False] / seconds[True]:.2f}x | "
                    f"{positions[False]:.1f} -> {positions[True]:.1f} |",
                    flush=True,
                )
    print(f"\nall: {total[False]:.0f} s -> {total[True]:.0f} s ({total[False] / total[True]:.2f}x); {differ} differ")
    sys.exit(1 if differ else 0)


if __name__ == "__main__":
    main()
