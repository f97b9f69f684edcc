"""Stage ``prepare``: write a task's splits to ``<out>/{train,validation,test}.jsonl``.

``--task``, ``--out`` and ``--log`` repeat: one job can prepare several tasks (``data.group_tasks``),
one process start instead of one per task for a second or two of work each; each task still gets
its own output folder, log and MLflow run.

python -m pipeline prepare --params params.yaml --task tiny_sudoku --out results/data/tiny_sudoku
"""

from __future__ import annotations

from pipeline.core import runtime
from pipeline.core.atomic import atomic_path
from pipeline.core.data import write_jsonl
from pipeline.core.tracking import StageRun
from pipeline.stages import load_or_exit, parser, per_task
from pipeline.tasks import build_tasks
from pipeline.tasks.splits import splits_for


def main(argv=None) -> None:
    ap = parser(__doc__, per_task_logs=True)
    ap.add_argument("--task", action="append", required=True, help="a task; repeat for several")
    ap.add_argument("--out", action="append", required=True, help="output folder of each --task, in order")
    args = ap.parse_args(argv)
    logs = per_task(args)
    params = load_or_exit(args.params)
    runtime.setup_job(params["data"]["seed"], logs[0])  # no model: no torch
    tasks = build_tasks(params, args.task)
    for i, (name, out) in enumerate(zip(args.task, args.out)):
        if i:
            runtime.log_to(logs[i])
        prepare_task(params, tasks[name], out)


def prepare_task(params: dict, task, out: str) -> None:
    """One task's splits, written together, with their own MLflow run."""
    d = params["data"]
    with StageRun(
        params, "prepare", {"task": task.name, **d}, {"task": task.name}, run_name=f"prepare/{task.name}"
    ) as run:
        splits = splits_for(task, d)
        with atomic_path(out) as partial:  # the task's splits appear together, complete
            for split, rows in splits.items():
                write_jsonl(partial / f"{split}.jsonl", rows)
                run.log_metrics({f"n_{split}": len(rows)})
                print(f"[prepare] {task.name}/{split}: {len(rows)} examples -> {out}/{split}.jsonl")


if __name__ == "__main__":
    main()
