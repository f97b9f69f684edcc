"""Stage ``prepare``: write a task's splits to ``<out>/{train,test}.jsonl``.

    python -m pipeline.prepare --params params.yaml --task tiny_sudoku --out results/data/tiny_sudoku
"""
from __future__ import annotations

from pathlib import Path

from pipeline import cli, runtime
from pipeline.data import write_jsonl
from pipeline.tasks import get_task
from pipeline.tracking import StageRun


def task_options(params: dict, name: str) -> dict:
    """Constructor options of a task: its params entry plus the shared data settings."""
    d = params["data"]
    return {"data_dir": d["data_dir"], "seed": d["seed"], "n_test": d["n_test"], **(d["tasks"].get(name) or {})}


def main(argv=None) -> None:
    ap = cli.parser(__doc__)
    ap.add_argument("--task", required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args(argv)
    params = cli.load_or_exit(args.params)
    runtime.setup(params["runtime"], params["data"]["seed"], args.log)
    task = get_task(args.task, **task_options(params, args.task))
    sizes = {"train": params["data"]["n_train"], "test": params["data"]["n_test"]}
    with StageRun(params, "prepare", {"task": args.task, **params["data"]}, {"task": args.task},
                  run_name=f"prepare/{args.task}") as run:
        for split in task.splits:
            rows = task.load(split, sizes.get(split), seed=0)
            write_jsonl(Path(args.out) / f"{split}.jsonl", rows)
            run.log_metrics({f"n_{split}": len(rows)})
            print(f"[prepare] {args.task}/{split}: {len(rows)} examples -> {args.out}/{split}.jsonl")


if __name__ == "__main__":
    main()
