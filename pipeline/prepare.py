"""Stage ``prepare``: write a task's splits to ``<out>/{train,test}.jsonl``.

    python -m pipeline.prepare --params params.yaml --task tiny_sudoku --out results/data/tiny_sudoku
"""
from __future__ import annotations

from pathlib import Path

from pipeline import cli, runtime
from pipeline.data import write_jsonl
from pipeline.tasks import get_task
from pipeline.tasks.paper_task import DataUnavailable
from pipeline.tracking import StageRun


def task_options(params: dict, name: str) -> dict:
    """Constructor options of a task: its params entry plus the shared data settings."""
    d = params["data"]
    return {"data_dir": d["data_dir"], "seed": d["seed"], "n_test": d["n_test"], **(d["tasks"].get(name) or {})}


def load_or_empty(task, split: str, n: int | None) -> list[dict]:
    """The split's examples. A benchmark without a train split here (HumanEval/MBPP have none; MATH,
    d1's Countdown and Sudoku train files are not in ../shared/data) gets an empty train file, so
    evaluation still runs; training stages then refuse the task with a message saying so."""
    if split == "train" and split not in task.splits:
        print(f"[prepare] {task.name} has no train split: writing an empty train.jsonl")
        return []
    try:
        return task.load(split, n, seed=0)
    except (FileNotFoundError, DataUnavailable) as err:
        if split == "test":
            raise
        print(f"[prepare] {task.name}: no train data ({err}); writing an empty train.jsonl")
        return []


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
        for split in ("train", "test"):
            rows = load_or_empty(task, split, sizes[split])
            write_jsonl(Path(args.out) / f"{split}.jsonl", rows)
            run.log_metrics({f"n_{split}": len(rows)})
            print(f"[prepare] {args.task}/{split}: {len(rows)} examples -> {args.out}/{split}.jsonl")


if __name__ == "__main__":
    main()
