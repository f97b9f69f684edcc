"""Stage ``prepare``: write a task's splits to ``<out>/{train,validation,test}.jsonl``.

python -m pipeline prepare --params params.yaml --task tiny_sudoku --out results/data/tiny_sudoku
"""

from __future__ import annotations

from pipeline.core import runtime
from pipeline.core.atomic import atomic_path
from pipeline.core.data import write_jsonl
from pipeline.core.tracking import StageRun
from pipeline.stages import load_or_exit, parser
from pipeline.tasks import build_tasks
from pipeline.tasks.splits import prepared_splits


def main(argv=None) -> None:
    ap = parser(__doc__)
    ap.add_argument("--task", required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args(argv)
    params = load_or_exit(args.params)
    runtime.setup_job(params["data"]["seed"], args.log)  # no model: no torch
    task = build_tasks(params, [args.task])[args.task]
    d = params["data"]
    with StageRun(
        params, "prepare", {"task": args.task, **params["data"]}, {"task": args.task}, run_name=f"prepare/{args.task}"
    ) as run:
        splits = prepared_splits(task, d["n_train"], d["n_test"], d["n_validation"], d["seed"])
        with atomic_path(args.out) as partial:  # the task's splits appear together, complete
            for split, rows in splits.items():
                write_jsonl(partial / f"{split}.jsonl", rows)
                run.log_metrics({f"n_{split}": len(rows)})
                print(f"[prepare] {args.task}/{split}: {len(rows)} examples -> {args.out}/{split}.jsonl")


if __name__ == "__main__":
    main()
