"""The base model's learning curve under a design change: pretrain as params.yaml says (with overrides)
and print each task's greedy accuracy and format rate every N steps.

    python benchmarks/learning_curve.py                                   # the default pretrain
    python benchmarks/learning_curve.py --seed 1 --every 250 --lengths 32 64
    python benchmarks/learning_curve.py --set model.d_model=64 model.n_layers=2 model.mlp_hidden_size=176 \\
        pretrain.steps=2000 pretrain.train_lengths=[32] pretrain.tasks=[tiny_arithmetic] \\
        'data.tasks.tiny_arithmetic={max_operand: 9, ops: "+"}'

For designing the tiny testbed (docs/tiny-testbed.md): the whole chain takes half an hour, one
curve a few minutes. ``--set`` takes dotted keys with YAML values and is validated like params.yaml.
Training is the pipeline's (``train_masked_diffusion``, the splits ``prepare`` writes, seeds, schedule
and padding; before 2026-12-07 the curves also trained on the validation problems prepare holds out
of Countdown and arithmetic). Each point decodes ``--n-test`` test problems per task with the d1
protocol (steps = length / 2, blocks of ``eval.block_length``, greedy low-confidence). One line of
JSON per point:
``{"step", "s", "<task>@<L>": [accuracy %, format rate %]}``. One thread by default, so two curves
(e.g. two seeds) can run side by side on 2 cores; the timings then include the neighbour.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pipeline.core.config import ParamsError, load_params, validate_params  # noqa: E402
from pipeline.core.tracking import NullRun  # noqa: E402
from pipeline.decoding.problems import evaluate_length  # noqa: E402
from pipeline.model import io  # noqa: E402
from pipeline.sampling import Decoding, get_sampler  # noqa: E402
from pipeline.tasks import build_tasks  # noqa: E402
from pipeline.tasks.splits import splits_for  # noqa: E402
from pipeline.training.batches import EncodedExamples  # noqa: E402
from pipeline.training.distributed import Processes  # noqa: E402
from pipeline.training.trainer import train_masked_diffusion  # noqa: E402


def apply_sets(params: dict, sets: list[str]) -> dict:
    for item in sets:
        key, _, value = item.partition("=")
        *parents, last = key.split(".")
        node = params
        for part in parents:
            node = node[part]
        node[last] = yaml.safe_load(value)
    return validate_params(params, "--set")


class Curve:
    """The trainer's selection hook, used here only to evaluate every ``every`` steps."""

    finished = ()  # tasks whose training stopped early (select.stop_each): none here

    def __init__(self, tok, tasks, tests, lengths, block, every, batch):
        self.tok, self.tasks, self.tests, self.lengths = tok, tasks, tests, lengths
        self.block, self.every, self.batch, self.t0 = block, every, batch, time.time()

    def due(self, step: int) -> bool:
        return (step + 1) % self.every == 0

    def maybe(self, step: int, model, run) -> None:
        if not self.due(step):
            return
        model.eval()
        point = {"step": step + 1, "s": round(time.time() - self.t0)}
        for name, task in self.tasks.items():
            for L in self.lengths:
                spec = Decoding(self.tok.mask_token_id, L, self.block, steps=L // 2)
                m, _ = evaluate_length(
                    model, self.tok, task, self.tests[name], get_sampler("low_confidence"), spec, self.batch, desc=name
                )
                point[f"{name}@{L}"] = [round(m["accuracy"], 1), round(m["format_rate"], 1)]
        print(json.dumps(point), flush=True)
        model.train()

    def finish(self, model) -> None:
        pass


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--set", nargs="*", default=[], metavar="KEY=YAML", help="overrides, e.g. pretrain.steps=2000")
    ap.add_argument("--seed", type=int, default=None, help="pretrain.seed (default: params')")
    ap.add_argument("--every", type=int, default=500, help="steps between points")
    ap.add_argument("--lengths", type=int, nargs="+", default=None, help="gen lengths (default: eval.gen_lengths)")
    ap.add_argument("--n-test", type=int, default=256, help="test problems per task")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    try:
        p = apply_sets(load_params(ROOT / "params.yaml"), args.set)
    except (ParamsError, KeyError) as err:
        sys.exit(f"learning_curve: {err}")
    p["runtime"] = {**p["runtime"], "threads": args.threads, "adapt_threads": False}
    cfg = {**p["pretrain"], "seed": p["pretrain"]["seed"] if args.seed is None else args.seed}
    tasks = build_tasks(p, cfg["tasks"])
    splits = {n: splits_for(t, p["data"], args.n_test) for n, t in tasks.items()}  # what prepare writes
    train, tests = {n: s["train"] for n, s in splits.items()}, {n: s["test"] for n, s in splits.items()}
    torch.manual_seed(cfg["seed"])
    model, tok = io.build_scratch(p["model"])
    enc = EncodedExamples(tok, tasks, train, cfg["target_format"])
    lengths = args.lengths or p["eval"]["gen_lengths"]
    curve = Curve(tok, tasks, tests, lengths, p["eval"]["block_length"], args.every, batch=256)
    train_masked_diffusion(model, enc, cfg, NullRun(), "pretrain", Processes(p["runtime"]), selection=curve)


if __name__ == "__main__":
    main()
