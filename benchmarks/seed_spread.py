"""How much each table cell moves with the pretrain seed: the main job's chain for several seeds.

    python benchmarks/seed_spread.py                         # seeds 0 1 2, every row of table1
    python benchmarks/seed_spread.py --models base sft       # only those rows (and what they need)
    python benchmarks/seed_spread.py --reuse 0=/tmp/seed0-x  # seed 0's finished copy: nothing reruns

Each seed runs in its own temporary copy of the project with ``pretrain.seed`` set through
Snakemake's ``--config`` (params.yaml untouched), building the evaluations of the table's rows.
The script prints every cell (row x task@length) with its accuracy per seed and the spread
(max - min), the largest spread, each base cell's lowest format rate, the pretrain step each seed's
base was chosen at (pretrain.select; per task under stop_each), each seed's widest paired 95%
half-width of a row against the model it was trained from (the table's marks; the aim is 3 points)
and each seed's wall time.
The testbed's aim is a spread of at most 3 points per cell.

Beside each spread, the paired 95% interval of the highest seed minus the lowest on the same test
problems (``pipeline.reports.stats.paired_diff_ci``): a cell marked ``*`` differs between seeds by
more than its test problems' sampling explains (slightly liberal: the pair is picked after seeing
the values); an unmarked spread could be the test set's noise alone. Two equally good models that
err on different problems differ with an SD of about 2.5 points at 50% accuracy and 768 problems,
so three such seeds span about 3 points.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from pipeline.core.checkout import copy_checkout  # noqa: E402
from pipeline.core.config import load_params  # noqa: E402
from pipeline.reports.results_table import parent_of, per_problem_scores  # noqa: E402
from pipeline.reports.stats import paired, paired_diff_ci  # noqa: E402


def cells_of(params: dict, table: str, models: list[str]) -> list[tuple[str, str, int]]:
    spec = params["tables"][table]
    return [(m, t, L) for m in models for t in spec["tasks"] for L in params["eval"]["gen_lengths"]]


def run_seed(seed: int, project: Path | None, table: str, models: list[str], cores: str) -> tuple[dict, float, str]:
    """({(model, task, L): metrics.json with the per-problem "scores"}, wall seconds, the pretrain step its
    base was chosen at or '-') of one seed's evaluations of ``models``."""
    project = project or copy_checkout(ROOT, Path(tempfile.mkdtemp(prefix=f"seed{seed}-")))
    params = load_params(project / "params.yaml")
    proto, results = params["tables"][table]["protocol"], params["paths"]["results"]
    targets = sorted({f"{results}/eval/{proto}/{m}/{t}" for m, t, _ in cells_of(params, table, models)})
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    # params.yaml's own seed needs no --config (a copy made before tracked() sorted its keys would read
    # the section --config reorders as changed params and rerun)
    config = [] if seed == params["pretrain"]["seed"] else ["--config", f'pretrain={{"seed": {seed}}}']
    cmd = [sys.executable, "-m", "snakemake", "--cores", cores, *targets, *config]
    print(f"seed {seed}: snakemake ({len(targets)} evaluations) in {project}", file=sys.stderr, flush=True)
    t0 = time.time()
    subprocess.run(cmd, cwd=project, check=True, env=env)
    eval_dir = project / results / "eval" / proto
    metrics = {
        (m, t, L): json.loads((eval_dir / m / t / f"L{L}" / "metrics.json").read_text())
        | {"scores": per_problem_scores(eval_dir, m, t, L)}
        for m, t, L in cells_of(params, table, models)
    }
    selection = project / results / "models" / "base" / "selection.json"  # pretrain.select's record
    chosen = "-"
    if selection.exists():
        record = json.loads(selection.read_text())
        kept = record.get("kept_step") or record.get("stopped_at")  # stop_each: the step each task's network keeps
        chosen = " / ".join(f"{t} {s}" for t, s in kept.items()) if kept else str(record["chosen_step"])
    return metrics, time.time() - t0, chosen


def widest_paired_half_width(metrics: dict) -> tuple[float, tuple] | None:
    """(half-width, (model, task, L)) of the widest paired 95% interval of a row minus the model it was
    trained from, over the measured cells whose start model was measured too (None: no such cell)."""
    widest = None
    for (m, t, L), cell in metrics.items():
        start = metrics.get((parent_of(m), t, L))
        if start is not None:
            _, lo, hi = paired_diff_ci([paired(start["scores"], cell["scores"])])
            widest = max(widest or (0.0, ()), ((hi - lo) / 2, (m, t, L)))
    return widest


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--table", default="table1")
    ap.add_argument("--models", nargs="+", default=None, help="rows to measure (default: all of the table's)")
    ap.add_argument("--reuse", nargs="*", default=[], metavar="SEED=DIR", help="a seed's earlier project copy")
    ap.add_argument("--cores", default="all")
    args = ap.parse_args()
    models = args.models or load_params(ROOT / "params.yaml")["tables"][args.table]["models"]
    reuse = {int(s): Path(d) for s, d in (r.split("=", 1) for r in args.reuse)}
    runs = {s: run_seed(s, reuse.get(s), args.table, models, args.cores) for s in args.seeds}
    print(f"{'row':<34} {'cell':<22} " + " ".join(f"seed{s:<3}" for s in args.seeds) + "  spread  highest - lowest")
    worst, within, beyond_noise = 0.0, 0, 0
    for key in runs[args.seeds[0]][0]:
        values = {s: runs[s][0][key]["accuracy"] for s in args.seeds}
        hi, lo = max(values, key=values.get), min(values, key=values.get)
        spread = values[hi] - values[lo]
        worst, within = max(worst, spread), within + (spread <= 3)
        _, ci_lo, ci_hi = paired_diff_ci([paired(runs[lo][0][key]["scores"], runs[hi][0][key]["scores"])])
        beyond_noise += ci_lo > 0
        cell = f"{key[1]}@{key[2]}"
        print(
            f"{key[0]:<34} {cell:<22} "
            + " ".join(f"{values[s]:7.1f}" for s in args.seeds)
            + f"  {spread:6.1f}  [{ci_lo:+.1f}, {ci_hi:+.1f}]{' *' if ci_lo > 0 else ''}"
        )
    cells = len(runs[args.seeds[0]][0])
    print(f"largest spread: {worst:.1f} points (aim: <= 3); {within} of {cells} cells within 3 points")
    print(f"cells whose seeds differ beyond their test problems' sampling (*): {beyond_noise} of {cells}")
    base = [k for k in runs[args.seeds[0]][0] if k[0] == "base"]
    lowest = {k: min(runs[s][0][k].get("format_rate", float("nan")) for s in args.seeds) for k in base}
    print(
        "base format rate (%), lowest over seeds: " + ", ".join(f"{t}@{L} {v:.1f}" for (_, t, L), v in lowest.items())
    )
    print("base chosen at pretrain step: " + ", ".join(f"seed{s} {runs[s][2]}" for s in args.seeds))
    for s in args.seeds:
        widest = widest_paired_half_width(runs[s][0])
        if widest is None:
            print(f"seed{s}: no row measured beside the model it was trained from (no paired half-width)")
            continue
        width, (m, t, L) = widest
        print(f"seed{s}: widest paired half-width vs the start model {width:.1f} points ({m}, {t}@{L}; aim <= 3)")
    print("wall time per seed (s): " + ", ".join(f"seed{s} {runs[s][1]:.0f}" for s in args.seeds))


if __name__ == "__main__":
    main()
