"""How much each table cell moves with the pretrain seed: the main job's chain for several seeds.

    python benchmarks/seed_spread.py                 # seeds 0 1 2, table1 (about 3 x the main job)
    python benchmarks/seed_spread.py --seeds 0 1 --target results/table1.csv

Each seed runs in its own temporary copy of the project with ``pretrain.seed`` set through
Snakemake's ``--config`` (params.yaml untouched); the script prints every cell of each table with its
values across seeds and their spread (max - min), and the largest spread. The testbed's aim is a
spread of at most 3 points per cell.
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


def run_seed(seed: int, target: str, cores: str) -> tuple[dict, dict, float]:
    """(cell -> accuracy, cell -> format rate, wall seconds) of one seed's run of ``target``."""
    project = copy_checkout(ROOT, Path(tempfile.mkdtemp(prefix=f"seed{seed}-")))
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    cmd = [sys.executable, "-m", "snakemake", "--cores", cores, target, "--config", f'pretrain={{"seed": {seed}}}']
    print(f"seed {seed}: {' '.join(cmd)} in {project}", file=sys.stderr, flush=True)
    t0 = time.time()
    subprocess.run(cmd, cwd=project, check=True, env=env)
    wall = time.time() - t0
    with (project / target).open() as f:
        acc = {(row["model"], col): float(v) for row in csv.DictReader(f) for col, v in row.items() if col != "model"}
    stats = (project / target).with_name(Path(target).stem + "_stats.csv")
    with stats.open() as f:
        fmt = {(r["model"], f"{r['task']}@{r['gen_length']}"): float(r["format_rate"]) for r in csv.DictReader(f)}
    return acc, fmt, wall


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--target", default="results/table1.csv")
    ap.add_argument("--cores", default="all")
    args = ap.parse_args()
    results = {s: run_seed(s, args.target, args.cores) for s in args.seeds}
    runs = {s: r[0] for s, r in results.items()}
    cells = list(runs[args.seeds[0]])
    print(f"{'row':<34} {'cell':<22} " + " ".join(f"seed{s:<3}" for s in args.seeds) + "  spread")
    worst = 0.0
    for row, col in cells:
        values = [runs[s][(row, col)] for s in args.seeds]
        spread = max(values) - min(values)
        worst = max(worst, spread)
        print(f"{row:<34} {col:<22} " + " ".join(f"{v:7.1f}" for v in values) + f"  {spread:6.1f}")
    print(f"largest spread: {worst:.1f} points (aim: <= 3)")
    base = sorted({c for m, c in results[args.seeds[0]][1] if m == "base"})
    print(
        "base format rate (%), lowest over seeds: "
        + ", ".join(f"{c} {min(results[s][1][('base', c)] for s in args.seeds):.1f}" for c in base)
    )
    print("wall time per seed (s): " + ", ".join(f"seed{s} {results[s][2]:.0f}" for s in args.seeds))


if __name__ == "__main__":
    main()
