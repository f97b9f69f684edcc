"""Stage ``claims``: each of the two papers' claims with its measured effect, interval and verdict, in
``<results>/claims.md`` (and ``.csv``) or ``<results>/claims_full.md``.

    python -m pipeline claims --params params.yaml --eval results/eval --figures results/figures \
        --scope main --out results/claims.csv

``--scope main`` decides the claims of ``claims.tables`` and ``claims.analyses`` (make reproduce's),
``--scope full`` those of ``claims.full`` (snakemake flexibility_trap: every claim).
"""

from __future__ import annotations

import json
from pathlib import Path

from pipeline.core import runtime
from pipeline.core.atomic import atomic_paths
from pipeline.core.tracking import StageRun
from pipeline.flexibility_trap import claim_file
from pipeline.reports.claims import CLAIMS, decide, to_markdown
from pipeline.reports.results_table import describe_test_size, write_csv
from pipeline.stages import load_or_exit, parser


def main(argv=None) -> None:
    ap = parser(__doc__)
    ap.add_argument("--eval", required=True, help="directory of evaluate outputs")
    ap.add_argument("--figures", default=None, help="directory of the analyses' outputs (<name>_claim.json)")
    ap.add_argument("--scope", choices=["main", "full"], default="main")
    ap.add_argument("--out", required=True, help="CSV path; the .md is written beside it")
    args = ap.parse_args(argv)
    params = load_or_exit(args.params)
    runtime.setup_job(0, args.log)  # no model: no torch
    scope = params["claims"] if args.scope == "main" else params["claims"]["full"]
    ev, out = params["eval"], Path(args.out)
    tables = {t: params["tables"][t] for t in scope["tables"]}
    eval_dirs = {t: Path(args.eval) / tab["protocol"] for t, tab in tables.items()}
    if scope.get("analyses") and args.figures is None:
        raise SystemExit(f"claims --scope {args.scope}: analyses {scope['analyses']} need --figures")
    analyses = {a: json.loads(claim_file(args.figures, a).read_text()) for a in scope.get("analyses", [])}
    with StageRun(params, "claims", {**scope, "scope": args.scope}, run_name=out.stem) as run:
        task_lists = {t: tab["tasks"] for t, tab in tables.items()}
        rows = [decide(c, eval_dirs, task_lists, ev["gen_lengths"], analyses) for c in CLAIMS]
        with atomic_paths(out, out.with_suffix(".md")) as (csv_file, md_file):
            write_csv(rows, csv_file)
            md_file.write_text(to_markdown(rows, params["profile"], describe_test_size(params["data"]["n_test"])))
        run.log_artifact(out)
        run.log_artifact(out.with_suffix(".md"))
        print(out.with_suffix(".md").read_text())
        print(f"[claims] {len(rows)} claims -> {out}, {out.with_suffix('.md')}")


if __name__ == "__main__":
    main()
