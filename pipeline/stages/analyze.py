"""Stage ``analyze``: one Flexibility-Trap figure (PNG) and the CSV behind it.

    python -m pipeline analyze --params params.yaml --name passk --models results/models \
        --data results/data --out results/figures/passk.png

Settings come from ``params.analysis.<name>``; the CSV, and ``<name>_claim.json`` (the measurement of
the claim it tests, read by the claims stage), are written beside the PNG; all are logged to MLflow.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

from pipeline.core import runtime
from pipeline.core.atomic import atomic_paths
from pipeline.core.tracking import StageRun
from pipeline.flexibility_trap import claim_file, get_analysis
from pipeline.stages import load_or_exit, parser


def main(argv=None) -> None:
    ap = parser(__doc__)
    ap.add_argument("--name", required=True)
    ap.add_argument("--models", required=True, help="directory holding the model directories")
    ap.add_argument("--data", required=True, help="directory of prepared tasks")
    ap.add_argument("--out", required=True, help="PNG path; the CSV is written beside it")
    args = ap.parse_args(argv)
    params = load_or_exit(args.params)
    cfg = params["analysis"][args.name]
    runtime.setup(params["runtime"], cfg.get("seed", 0), args.log)
    analysis = get_analysis(args.name)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    models = {p.name: str(p) for p in Path(args.models).iterdir() if p.is_dir()}
    with StageRun(params, "analyze", cfg, {"analysis": args.name}, run_name=f"analyze/{args.name}") as run:
        rows, claim = analysis.run(params, cfg, models, args.data)
        claim_path = claim_file(out.parent, args.name)
        with atomic_paths(out, out.with_suffix(".csv"), claim_path) as (png_file, csv_file, claim_tmp):
            with csv_file.open("w", newline="") as f:
                writer = csv.DictWriter(f, fieldnames=list(rows[0]))
                writer.writeheader()
                writer.writerows(rows)
            analysis.plot(rows, cfg, png_file)
            claim_tmp.write_text(json.dumps(claim, indent=2) + "\n")  # null: these settings cannot decide it
        for path in (out, out.with_suffix(".csv"), claim_path):
            run.log_artifact(path)
        if claim is not None:
            print(
                f"[analyze] {args.name}: claim {claim['verdict']}, {claim['effect']:+.1f} [{claim['ci_lo']:+.1f}, "
                f"{claim['ci_hi']:+.1f}]: {claim['detail']}"
            )
        print(f"[analyze] {args.name}: {len(rows)} rows -> {out.with_suffix('.csv')}, {out}")


if __name__ == "__main__":
    main()
