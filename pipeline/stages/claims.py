"""Stage ``claims``: ``<results>/claims.md`` (and ``.csv``), each of the two papers' claims with its
measured effect, interval and verdict, from the evaluate outputs of the tables in ``claims.tables``.

    python -m pipeline claims --params params.yaml --eval results/eval --out results/claims.csv
"""

from __future__ import annotations

from pathlib import Path

from pipeline.core import runtime
from pipeline.core.atomic import atomic_paths
from pipeline.core.tracking import StageRun
from pipeline.reports.claims import CLAIMS, decide, to_markdown
from pipeline.reports.results_table import describe_test_size, write_csv
from pipeline.stages import load_or_exit, parser


def main(argv=None) -> None:
    ap = parser(__doc__)
    ap.add_argument("--eval", required=True, help="directory of evaluate outputs")
    ap.add_argument("--out", required=True, help="CSV path; the .md is written beside it")
    args = ap.parse_args(argv)
    params = load_or_exit(args.params)
    runtime.setup_job(0, args.log)  # no model: no torch
    ev, out = params["eval"], Path(args.out)
    tables = {t: params["tables"][t] for t in params["claims"]["tables"]}
    eval_dirs = {t: Path(args.eval) / tab["protocol"] for t, tab in tables.items()}
    with StageRun(params, "claims", params["claims"], run_name="claims") as run:
        rows = [decide(c, eval_dirs, {t: tab["tasks"] for t, tab in tables.items()}, ev["gen_lengths"]) for c in CLAIMS]
        with atomic_paths(out, out.with_suffix(".md")) as (csv_file, md_file):
            write_csv(rows, csv_file)
            md_file.write_text(to_markdown(rows, params["profile"], describe_test_size(params["data"]["n_test"])))
        run.log_artifact(out)
        run.log_artifact(out.with_suffix(".md"))
        print(out.with_suffix(".md").read_text())
        print(f"[claims] {len(rows)} claims -> {out}, {out.with_suffix('.md')}")


if __name__ == "__main__":
    main()
