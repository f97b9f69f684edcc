"""Stage ``prepare``: write a task's splits to ``<out>/{train,test}.jsonl``.

python -m pipeline prepare --params params.yaml --task tiny_sudoku --out results/data/tiny_sudoku
"""

from __future__ import annotations

from pathlib import Path

from pipeline.core import runtime
from pipeline.core.data import write_jsonl
from pipeline.core.tracking import StageRun
from pipeline.stages import load_or_exit, parser
from pipeline.tasks import build_tasks, split_examples


def main(argv=None) -> None:
    ap = parser(__doc__)
    ap.add_argument("--task", required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args(argv)
    params = load_or_exit(args.params)
    runtime.setup(params["runtime"], params["data"]["seed"], args.log)
    task = build_tasks(params, [args.task])[args.task]
    sizes = {"train": params["data"]["n_train"], "test": params["data"]["n_test"]}
    with StageRun(
        params, "prepare", {"task": args.task, **params["data"]}, {"task": args.task}, run_name=f"prepare/{args.task}"
    ) as run:
        for split in ("train", "test"):
            rows = split_examples(task, split, sizes[split])
            write_jsonl(Path(args.out) / f"{split}.jsonl", rows)
            run.log_metrics({f"n_{split}": len(rows)})
            print(f"[prepare] {args.task}/{split}: {len(rows)} examples -> {args.out}/{split}.jsonl")


if __name__ == "__main__":
    main()
