"""Stage ``table``: a results table built only from ``metrics.json`` files.

    python -m pipeline.table --params params.yaml --name table1 --eval results/eval --out results/table1.csv

``tables.<name>`` gives the rows (models) and the eval protocol: table1 is d1's Table 1 (base,
+SFT, +diffu-GRPO, d1 = SFT then diffu-GRPO; steps = length/2), table2 adds JustGRPO under
JustGRPO's protocol (one token per step). Columns task x generation length, cells accuracy in %.
Writes the CSV and a Markdown rendering beside it (``.md``).
"""
from __future__ import annotations

import csv
import json
from pathlib import Path

from pipeline import cli, runtime
from pipeline.tracking import StageRun

#: row labels in the papers' naming; other models are labelled by their directory name
LABELS = {
    "base": "base",
    "sft": "+SFT",
    "diffu_grpo_from_base": "+diffu-GRPO",
    "diffu_grpo_from_sft": "d1 (SFT + diffu-GRPO)",
    "just_grpo_from_base": "+JustGRPO",
    "just_grpo_from_sft": "SFT + JustGRPO",
}


def collect(eval_dir: Path, models: list[str], tasks: list[str], lengths: list[int]) -> list[dict]:
    table = []
    for model in models:
        row = {"model": LABELS.get(model, model)}
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
    ap.add_argument("--name", required=True, help="a key of params tables")
    ap.add_argument("--eval", required=True, help="directory of evaluate outputs")
    ap.add_argument("--out", required=True, help="CSV path; the .md is written beside it")
    args = ap.parse_args(argv)
    params = cli.load_or_exit(args.params)
    runtime.setup(params["runtime"], 0, args.log)
    ev, spec = params["eval"], params["tables"][args.name]
    proto = spec["protocol"]
    out = Path(args.out)
    with StageRun(params, "table", {**spec, "eval": ev}, {"table": args.name}, run_name=f"table/{args.name}") as run:
        table = collect(Path(args.eval) / proto, spec["models"], ev["tasks"], ev["gen_lengths"])
        write_csv(table, out)
        notes = [f"Accuracy (%) on {params['data']['n_test']} test problems per task "
                 f"({params['profile']} profile); column = task@generation length.",
                 f"Decoding ({proto} protocol): {ev['sampler']} sampler, blocks of {ev['block_length']}, "
                 f"steps = {ev['protocols'][proto]} x length, greedy.",
                 f"Every cell is read from results/eval/{proto}/<model>/<task>/L<length>/metrics.json."]
        out.with_suffix(".md").write_text(to_markdown(table, f"{args.name}: accuracy (%) by task and length", notes))
        run.log_artifact(out)
        run.log_artifact(out.with_suffix(".md"))
        print(out.with_suffix(".md").read_text())


if __name__ == "__main__":
    main()
