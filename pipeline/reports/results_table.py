"""A results table from ``metrics.json`` files: rows are models, columns task x generation length,
cells accuracy in %, written as CSV and as Markdown (library half of the ``table`` stage)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

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
                    raise FileNotFoundError(
                        f"{path} is missing; it is made by the 'evaluate' stage (run: snakemake --cores all {path})"
                    )
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
