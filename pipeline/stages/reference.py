"""Stage ``reference``: d1's published LLaDA-8B-Instruct generations re-scored by this pipeline
(d1 Table 1's LLaDA row; see :mod:`pipeline.reports.d1_rescoring`).

    python -m pipeline reference --params params.yaml --out results/reference/d1_llada_instruct.csv

(d1's generations are read from ``data.data_dir``/d1_eval_baselines.)
"""

from __future__ import annotations

from pathlib import Path

from pipeline.core import runtime
from pipeline.core.atomic import atomic_paths
from pipeline.core.tracking import StageRun
from pipeline.reports.d1_rescoring import build, to_markdown, write_csv
from pipeline.stages import load_or_exit, parser
from pipeline.tasks import datasets_cache


def main(argv: list[str] | None = None) -> None:
    ap = parser(__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, required=True, help="CSV path; the .md is written beside it")
    args = ap.parse_args(argv)
    params = load_or_exit(args.params)
    runtime.setup_job(0, args.log)  # no model: no torch
    data_dir = params["data"]["data_dir"]
    if not data_dir or not (Path(data_dir) / "d1_eval_baselines").is_dir():
        raise SystemExit(
            f"error: data.data_dir = {data_dir!r} holds no d1_eval_baselines/ folder "
            "(d1's published generations; see ../shared/data/SOURCES.md)"
        )
    with StageRun(params, "reference", {"data_dir": data_dir}, run_name="reference/d1_llada_instruct") as run:
        cells = build(Path(data_dir), datasets_cache(params))
        with atomic_paths(args.out, args.out.with_suffix(".md")) as (csv_file, md_file):
            write_csv(cells, csv_file)
            md_file.write_text(to_markdown(cells), encoding="utf-8")
        run.log_artifact(args.out)
        run.log_artifact(args.out.with_suffix(".md"))
        print(to_markdown(cells))


if __name__ == "__main__":
    main()
