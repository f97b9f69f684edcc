"""Time outside the work of the main job's two shortest jobs, table and claims, over many repeats.

    python benchmarks/short_jobs.py [--repeats 8] [--alone]

Run from a project whose main job has finished (it reads ``results/eval``). Does what Snakemake
does for them, without its scheduling: opens an invocation as onstart does (warm server, parent
run, the exported ids), then runs ``python -m pipeline table`` and ``claims`` side by side as at the
main job's end (``--alone``: claims only, one at a time), ``--repeats`` times, and prints each job's
startup, open and outside time from its MLflow run, with the mean and range. One main job gives one
sample of each, and a job of about 1 s reads 8-12% outside from one run to the next.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pipeline.core import mlflow_store  # noqa: E402
from pipeline.core.config import load_params  # noqa: E402
from pipeline.core.processes import ORCHESTRATOR_ENV, process_id  # noqa: E402
from pipeline.warm import start_server, stop_server  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeats", type=int, default=8)
    ap.add_argument("--alone", action="store_true", help="claims only, one job at a time")
    args = ap.parse_args()
    p = load_params(ROOT / "params.yaml")
    uri, experiment, res = p["tracking"]["uri"], p["tracking"]["experiment"], p["paths"]["results"]
    if not (ROOT / res / "eval").is_dir():
        sys.exit(f"short_jobs: no {res}/eval here; run the main job first (make reproduce)")
    inv = f"snakemake-{uuid.uuid4().hex[:12]}"
    os.environ.update({"PIPELINE_INVOCATION_ID": inv, "PIPELINE_INVOCATION_TOOL": "snakemake"})
    os.environ.update({ORCHESTRATOR_ENV: process_id(), "OMP_NUM_THREADS": "1"})
    logs = ROOT / res / "logs" / "short_jobs"
    warm = p["runtime"]["warm_start"]
    server = start_server(str(logs / "warm_server.log"), store=(uri, experiment)) if warm else None
    os.environ.update(mlflow_store.invocation_env(uri, experiment, inv, "snakemake"))
    common = ["--params", "params.yaml", "--eval", f"{res}/eval"]
    jobs = {
        "claims": ["claims", *common, "--out", f"{res}/claims.csv", "--log", str(logs / "claims.log")],
        "table": ["table", *common, "--name", "table1", "--out", f"{res}/table1.csv", "--log", str(logs / "table.log")],
    }
    if args.alone:
        del jobs["table"]
    try:
        for _ in range(args.repeats):
            procs = [
                subprocess.Popen([sys.executable, "-m", "pipeline", *argv], cwd=ROOT, stdout=subprocess.DEVNULL)
                for argv in jobs.values()
            ]
            if any(proc.wait() for proc in procs):
                sys.exit("short_jobs: a job failed; see " + str(logs))
    finally:
        if server is not None:
            stop_server(server)
    from mlflow.tracking import MlflowClient

    client = MlflowClient(uri)
    exp_id = client.get_experiment_by_name(experiment).experiment_id
    for stage in jobs:
        runs = client.search_runs(
            [exp_id], f"tags.stage = '{stage}' and tags.invocation_id_child = '{inv}'", order_by=["start_time ASC"]
        )
        parts = ("startup", "open", "work", "total")
        m = [{k: 1000 * r.data.metrics.get(f"time/{k}_s", 0.0) for k in parts} for r in runs]
        frac = [(x["total"] - x["work"]) / x["total"] for x in m]
        for x, f in zip(m, frac, strict=True):
            ms = "  ".join(f"{k} {x[k]:4.0f} ms" for k in parts[:3])
            print(f"{stage:<7} {ms}  {f:6.1%} outside")
        mean = {k: statistics.mean(x[k] for x in m) for k in ("startup", "open")}
        print(
            f"{stage:<7} mean: startup {mean['startup']:.0f} ms, open {mean['open']:.0f} ms, "
            f"{statistics.mean(frac):.1%} outside (range {min(frac):.1%}-{max(frac):.1%}, {len(m)} jobs)\n"
        )


if __name__ == "__main__":
    main()
