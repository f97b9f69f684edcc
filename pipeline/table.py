"""Stage ``table``: d1's Table 1 at the configured scale, built only from ``metrics.json`` files.

    python -m pipeline.table --params params.yaml --eval results/eval --out results/table1.csv

Rows are models (base, +SFT, +diffu-GRPO, d1 = SFT then diffu-GRPO), columns task x generation
length, cells accuracy in %. Writes the CSV and a Markdown rendering beside it (``.md``).
"""
from __future__ import annotations

import csv
import json
from pathlib import Path

from pipeline import cli, runtime
from pipeline.tracking import StageRun

#: table 1 rows: model directory name -> row label (d1's naming)
TABLE1_ROWS = {
    "base": "base",
    "sft": "+SFT",
    "diffu_grpo_from_base": "+diffu-GRPO",
    "diffu_grpo_from_sft": "d1 (SFT + diffu-GRPO)",
}


def collect(eval_dir: Path, rows: dict, tasks: list[str], lengths: list[int]) -> list[dict]:
    table = []
    for model, label in rows.items():
        row = {"model": label}
        for task in tasks:
            for L in lengths:
                path = eval_dir / model / task / f"L{L}" / "metrics.json"
                if not path.exists():
                    raise FileNotFoundError(f"{path} is missing; it is made by the 'evaluate' stage "
                                            f"(run: snakemake --cores all {path})")
                row[f"{task}@{L}"] = round(json.loads(path.read_text())["accuracy"], 1)
        table.append(row)
    return table


def write_csv(table: list[dict], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(table[0]))
        w.writeheader()
        w.writerows(table)


def to_markdown(table: list[dict], title: str, notes: list[str]) -> str:
    cols = list(table[0])
    lines = [f"# {title}", "", "| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(str(r[c]) for c in cols) + " |" for r in table]
    return "\n".join(lines + [""] + [f"- {n}" for n in notes]) + "\n"


def main(argv=None) -> None:
    ap = cli.parser(__doc__)
    ap.add_argument("--eval", required=True, help="directory of evaluate outputs")
    ap.add_argument("--out", required=True, help="CSV path; the .md is written beside it")
    args = ap.parse_args(argv)
    params = cli.load_or_exit(args.params)
    runtime.setup(params["runtime"], 0, args.log)
    ev = params["eval"]
    out = Path(args.out)
    with StageRun(params, "table", ev, run_name=f"table/{out.stem}") as run:
        table = collect(Path(args.eval), TABLE1_ROWS, ev["tasks"], ev["gen_lengths"])
        write_csv(table, out)
        notes = [f"Accuracy (%) on {params['data']['n_test']} test problems per task "
                 f"({params['profile']} profile); column = task@generation length.",
                 f"Decoding: {ev['sampler']} sampler, blocks of {ev['block_length']}, "
                 f"steps = {ev['steps_ratio']} x length, greedy.",
                 "Every cell is read from results/eval/<model>/<task>/L<length>/metrics.json."]
        out.with_suffix(".md").write_text(to_markdown(table, "Table 1 (d1): accuracy by task and length", notes))
        run.log_artifact(out)
        run.log_artifact(out.with_suffix(".md"))
        print(out.with_suffix(".md").read_text())


if __name__ == "__main__":
    main()
