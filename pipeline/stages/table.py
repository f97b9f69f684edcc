"""Stage ``table``: a results table built only from ``metrics.json`` files.

    python -m pipeline table --params params.yaml --name table1 --eval results/eval --out results/table1.csv

``tables.<name>`` gives the rows (models) and the eval protocol: table1 is d1's Table 1 (base,
+SFT, +diffu-GRPO, d1 = SFT then diffu-GRPO; steps = length/2), table2 adds JustGRPO under
JustGRPO's protocol (one token per step). Columns task x generation length, cells accuracy in %.
Writes the CSV and a Markdown rendering beside it (``.md``).
"""

from __future__ import annotations

import json
from pathlib import Path

from pipeline.core import runtime
from pipeline.core.atomic import atomic_paths
from pipeline.core.tracking import StageRun
from pipeline.reports.results_table import (
    cell_stats,
    collect,
    describe_test_size,
    stats_path,
    to_markdown,
    write_csv,
)
from pipeline.stages import load_or_exit, parser


def main(argv=None) -> None:
    ap = parser(__doc__)
    ap.add_argument("--name", required=True, help="a key of params tables")
    ap.add_argument("--eval", required=True, help="directory of evaluate outputs")
    ap.add_argument("--out", required=True, help="CSV path; the .md is written beside it")
    args = ap.parse_args(argv)
    params = load_or_exit(args.params)
    runtime.setup_job(0, args.log)  # no model: no torch
    ev, spec = params["eval"], params["tables"][args.name]
    proto = spec["protocol"]
    out = Path(args.out)
    with StageRun(params, "table", {**spec, "eval": ev}, {"table": args.name}, run_name=f"table/{args.name}") as run:
        table = collect(Path(args.eval) / proto, spec["models"], spec["tasks"], ev["gen_lengths"])
        stats = cell_stats(Path(args.eval) / proto, spec["models"], spec["tasks"], ev["gen_lengths"])
        # the cells again, keyed by model name, for `dvc metrics show/diff`
        cells = {m: {k: v for k, v in row.items() if k != "model"} for m, row in zip(spec["models"], table)}
        notes = [
            f"Accuracy (%) on {describe_test_size(params['data']['n_test'])} test problems per task "
            f"({params['profile']} profile); column = task@generation length.",
            f"Decoding ({proto} protocol): {ev['sampler']} sampler, blocks of {ev['block_length']}, "
            f"steps = {ev['protocols'][proto]} x length, greedy.",
            "[lo, hi]: 95% bootstrap interval over problems. ▲ / ▼: the paired difference to the model the "
            "row was trained from (same problems, bootstrap) excludes 0.",
            f"Every cell is read from results/eval/{proto}/<model>/<task>/L<length>/ (metrics.json, "
            f"generations.jsonl); the numbers behind the marks are in {stats_path(out).name}.",
        ]
        md = to_markdown(table, f"{args.name}: accuracy (%) by task and length", notes, stats)
        written = [out, out.with_suffix(".md"), stats_path(out), out.with_suffix(".json")]
        with atomic_paths(*written) as (csv_file, md_file, stats_file, json_file):
            write_csv(table, csv_file)
            write_csv(stats, stats_file)
            json_file.write_text(json.dumps(cells, indent=2) + "\n")
            md_file.write_text(md)
        for path in written:
            run.log_artifact(path)
        print(out.with_suffix(".md").read_text())
        print(f"[table] {args.name}: {len(table)} rows -> {', '.join(map(str, written))}")


if __name__ == "__main__":
    main()
