"""Time outside the work of each stage job of a finished run, from the MLflow store.

    python benchmarks/stage_overhead.py [--uri sqlite:///mlflow.db] [--experiment dllm-rl] [--last N]

Every stage run logs ``time/<part>_s`` (pipeline.core.stage_time): startup (interpreter, imports,
params validation), open (the MLflow run), load_model, write (outputs, artifacts, logged models),
close (flush, log, end), work (the rest) and their total. Prints one row per stage job of the latest
invocation (or of the last ``--last`` runs), with the share of the job outside the work, and flags
jobs where that share exceeds 10%. A job that opens several runs (evaluate over a model's tasks,
``eval.group_tasks``) is one row: its runs share a ``process`` tag and are summed. ``peak MB`` is the
stage process's own peak RSS (``memory/peak_rss_mb``). Under ``runtime.warm_start`` the imports are
paid once, by the warm server, whose log line (``--server-log``) is printed last.
"""

from __future__ import annotations

import argparse
from pathlib import Path

PARTS = ("startup", "open", "load_model", "write", "close", "work")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--uri", default="sqlite:///mlflow.db")
    ap.add_argument("--experiment", default="dllm-rl")
    ap.add_argument("--last", type=int, help="the last N stage runs instead of the latest invocation's")
    ap.add_argument("--server-log", default="results/logs/warm_server.log", help="the warm server's log")
    args = ap.parse_args()
    from mlflow.tracking import MlflowClient

    client = MlflowClient(args.uri)
    exp = client.get_experiment_by_name(args.experiment)
    if exp is None:
        raise SystemExit(f"no experiment {args.experiment!r} in {args.uri}: run the main job first")
    runs = client.search_runs([exp.experiment_id], "metrics.`time/total_s` > 0", order_by=["start_time DESC"])
    if not args.last and runs:
        parent = runs[0].data.tags.get("mlflow.parentRunId")
        runs = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == parent]
    runs = sorted(runs[: args.last] if args.last else runs, key=lambda r: r.info.start_time)
    jobs: dict[str, list] = {}  # process -> its runs, in start order
    for r in runs:
        jobs.setdefault(r.data.tags.get("process", r.info.run_id), []).append(r)
    names = {k: rs[0].info.run_name + (f" (+{len(rs) - 1} tasks)" if len(rs) > 1 else "") for k, rs in jobs.items()}
    width = max([len(n) for n in names.values()] + [10])
    print(f"{'stage job':<{width}} " + " ".join(f"{p:>10}" for p in (*PARTS, "total")) + "  peak MB  outside")
    sums = dict.fromkeys((*PARTS, "total"), 0.0)
    for key, job_runs in jobs.items():
        vals = {p: sum(r.data.metrics.get(f"time/{p}_s", 0.0) for r in job_runs) for p in (*PARTS, "total")}
        for p in sums:
            sums[p] += vals[p]
        frac = (vals["total"] - vals["work"]) / max(vals["total"], 1e-9)
        flag = "  > 10%" if frac > 0.10 else ""
        cells = " ".join(f"{vals[p]:10.1f}" for p in (*PARTS, "total"))
        peak = max(r.data.metrics.get("memory/peak_rss_mb", 0.0) for r in job_runs)
        print(f"{names[key]:<{width}} {cells}  {peak:7.0f}  {frac:6.0%}{flag}")
    outside = sums["total"] - sums["work"]
    print(f"{'all jobs':<{width}} " + " ".join(f"{sums[p]:10.1f}" for p in (*PARTS, "total")), end="")
    print(f"           {outside / max(sums['total'], 1e-9):6.0%}")
    if Path(args.server_log).exists():
        print("warm server: " + " / ".join(Path(args.server_log).read_text().split("\n")[:2]).strip(" /"))


if __name__ == "__main__":
    main()
