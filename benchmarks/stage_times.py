"""Wall time of each stage of the default run, and the total.

    python benchmarks/stage_times.py            # fresh run in a temporary copy of the project
    python benchmarks/stage_times.py --existing # read the timings of the last run in this checkout

Each Snakemake rule writes a ``benchmark:`` TSV (wall seconds, peak RSS) under results/benchmarks/;
this script runs the DAG from scratch and prints them per stage, plus the invocation's wall time.
Under ``runtime.warm_start`` a job's process is the command that handed its stage to the warm server,
so the peak RSS is the command's: ``benchmarks/stage_overhead.py`` gives each stage's own.
"""

from __future__ import annotations

import argparse
import csv
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from pipeline.core.checkout import copy_checkout  # noqa: E402


def read_timings(project: Path) -> list[tuple[str, float, float]]:
    rows = []
    for tsv in sorted((project / "results" / "benchmarks").rglob("*.tsv")):
        with tsv.open() as f:
            rec = next(csv.DictReader(f, delimiter="\t"))
        name = str(tsv.relative_to(project / "results" / "benchmarks").with_suffix(""))
        rows.append((name, float(rec["s"]), float(rec["max_rss"]) if rec["max_rss"] not in ("", "NA", "-") else 0.0))
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--existing", action="store_true", help="report the last run in this checkout")
    ap.add_argument("--cores", default="all")
    ap.add_argument("--target", default="results/table1.csv")
    args = ap.parse_args()
    total = None
    if args.existing:
        project = ROOT
    else:
        project = Path(tempfile.mkdtemp(prefix="stage-times-"))
        copy_checkout(ROOT, project)
        print(f"running the default DAG in {project} ...", file=sys.stderr)
        t0 = time.time()
        env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
        subprocess.run(
            [sys.executable, "-m", "snakemake", "--cores", args.cores, args.target], cwd=project, check=True, env=env
        )
        total = time.time() - t0
    rows = read_timings(project)
    width = max(len(r[0]) for r in rows)
    print(f"{'stage job':<{width}}  wall s  peak MB")
    for name, s, rss in rows:
        print(f"{name:<{width}}  {s:6.1f}  {rss:7.0f}")
    print(f"{'sum of jobs':<{width}}  {sum(r[1] for r in rows):6.1f}")
    if total is not None:
        print(f"{'invocation wall time':<{width}}  {total:6.1f}  (jobs run in parallel on --cores {args.cores})")


if __name__ == "__main__":
    main()
