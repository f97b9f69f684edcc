"""A results table from the evaluate outputs: rows are models, columns task x generation length, cells
accuracy in % (from ``metrics.json``) with a 95% interval and, for a trained row, the paired
difference to the model it started from (from the per-problem scores in ``generations.jsonl``).
Written as CSV (accuracies), a long-format ``<name>_stats.csv`` and Markdown (library half of the
``table`` stage)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from pipeline.core.data import read_jsonl
from pipeline.reports.stats import mean_ci, paired, paired_diff_ci, verdict


def describe_test_size(n_test) -> str:
    """``data.n_test`` as a table note says it: "768", or "768 tiny_sudoku, 1536 tiny_countdown"."""
    if isinstance(n_test, dict):
        return ", ".join(f"{n} {task}" for task, n in n_test.items())
    return "all" if n_test is None else str(n_test)


#: row labels in the papers' naming; other models are labelled by their directory name
LABELS = {
    "base": "base",
    "sft": "+SFT",
    "diffu_grpo_from_base": "+diffu-GRPO",
    "diffu_grpo_from_sft": "d1 (SFT + diffu-GRPO)",
    "just_grpo_from_base": "+JustGRPO",
    "just_grpo_from_sft": "SFT + JustGRPO",
    "more_sft_for_diffu_grpo_from_base": "more base training (= +diffu-GRPO compute)",
    "more_sft_for_diffu_grpo_from_sft": "more SFT (= d1 compute)",
    "more_sft_for_just_grpo_from_base": "more base training (= +JustGRPO compute)",
    "more_sft_for_just_grpo_from_sft": "more SFT (= SFT + JustGRPO compute)",
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


def parent_of(model: str) -> str | None:
    """The model a row was trained from: sft from base, <method>_from_<x> from x; base from none."""
    if "_from_" in model:
        return model.split("_from_")[1]
    return "base" if model == "sft" else None


def per_problem_scores(eval_dir: Path, model: str, task: str, L: int) -> dict:
    """{problem id: score} of one cell (``generations.jsonl``)."""
    path = eval_dir / model / task / f"L{L}" / "generations.jsonl"
    records = read_jsonl(path, ("id", "score"), fix=f"rerun the evaluate stage: snakemake --cores all -f {path}")
    return {rec["id"]: float(rec["score"]) for rec in records}


def cell_stats(eval_dir: Path, models: list[str], tasks: list[str], lengths: list[int]) -> list[dict]:
    """One row per (model, task, length): accuracy with its interval, and the paired difference to the
    row's parent (when the parent is a row of the table) with its interval and verdict."""
    rows = []
    for model in models:
        parent = parent_of(model)
        for task in tasks:
            for L in lengths:
                scores = per_problem_scores(eval_dir, model, task, L)
                acc, lo, hi = mean_ci(list(scores.values()))
                metrics = json.loads((eval_dir / model / task / f"L{L}" / "metrics.json").read_text())
                row = {
                    "model": model,
                    "task": task,
                    "gen_length": L,
                    "n": len(scores),
                    "accuracy": round(acc, 2),
                    "ci_lo": round(lo, 2),
                    "ci_hi": round(hi, 2),
                    "format_rate": round(metrics.get("format_rate", float("nan")), 1),
                    "vs": "",
                    "diff": "",
                    "diff_lo": "",
                    "diff_hi": "",
                    "verdict": "",
                }
                if parent in models:
                    base = per_problem_scores(eval_dir, parent, task, L)
                    d, dlo, dhi = paired_diff_ci([paired(base, scores)])
                    row.update(
                        vs=parent,
                        diff=round(d, 2),
                        diff_lo=round(dlo, 2),
                        diff_hi=round(dhi, 2),
                        verdict=verdict(dlo, dhi),
                    )
                rows.append(row)
    return rows


def widest_paired(stats: list[dict]) -> tuple[float, dict]:
    """The largest 95% half-width of a paired difference and its cell: the table's resolution (how
    small an effect its marks can show; more test problems narrow it as 1/sqrt(n))."""
    paired = [r for r in stats if r["vs"]]
    widest = max(paired, key=lambda r: r["diff_hi"] - r["diff_lo"])
    return (widest["diff_hi"] - widest["diff_lo"]) / 2, widest


def stats_path(csv_path: Path) -> Path:
    """``<name>_stats.csv`` beside ``<name>.csv``."""
    return csv_path.with_name(csv_path.stem + "_stats.csv")


def write_csv(table: list[dict], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(table[0]))
        w.writeheader()
        w.writerows(table)


MARK = {"better": " ▲", "worse": " ▼", "undecided": ""}


def to_markdown(table: list[dict], title: str, notes: list[str], stats: list[dict] | None = None) -> str:
    """The table; with ``stats``, each cell as 'acc [lo, hi]' marked ▲/▼ where the paired difference to
    the row's parent excludes 0, a second table of those differences and a third of format rates."""
    cols = list(table[0])
    header = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines = [f"# {title}", "", *header]
    by_cell = {(LABELS.get(r["model"], r["model"]), f"{r['task']}@{r['gen_length']}"): r for r in stats or []}

    def cell(row, col):
        r = by_cell.get((row["model"], col))
        if col == "model" or r is None:
            return str(row[col])
        return f"{row[col]} [{r['ci_lo']:.1f}, {r['ci_hi']:.1f}]{MARK.get(r['verdict'], '')}"

    lines += ["| " + " | ".join(cell(r, c) for c in cols) + " |" for r in table]
    if stats and any(r["vs"] for r in stats):
        lines += [
            "",
            "Paired difference to the model each row was trained from (points, 95% interval):",
            "",
            *header,
        ]
        for row in table:
            cells = [by_cell.get((row["model"], c)) for c in cols[1:]]
            if not any(r and r["vs"] for r in cells):
                continue
            vs = LABELS.get(next(r["vs"] for r in cells if r and r["vs"]), "")
            shown = [
                f"{r['diff']:+.1f} [{r['diff_lo']:+.1f}, {r['diff_hi']:+.1f}]{MARK[r['verdict']]}" if r else ""
                for r in cells
            ]
            lines.append(f"| {row['model']} vs {vs} | " + " | ".join(shown) + " |")
        hw, w = widest_paired(stats)
        lines += [
            "",
            f"Widest paired interval: half-width {hw:.1f} points ({LABELS.get(w['model'], w['model'])}, "
            f"{w['task']}@{w['gen_length']}, {w['n']} problems); a difference smaller than that can go unmarked.",
        ]
    if stats:
        lines += [
            "",
            "Format rate (% of generations with a well-formed answer, right or wrong):",
            "",
            *header,
        ]
        for row in table:
            rates = [by_cell.get((row["model"], c)) for c in cols[1:]]
            lines.append(
                f"| {row['model']} | " + " | ".join(f"{r['format_rate']:.1f}" if r else "" for r in rates) + " |"
            )
    return "\n".join(lines + [""] + [f"- {n}" for n in notes]) + "\n"
