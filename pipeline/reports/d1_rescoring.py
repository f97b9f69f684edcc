"""Reference row: d1's published LLaDA-8B-Instruct generations re-scored by this pipeline.

d1 shipped its baseline generations (``eval/eval_baselines/``, one JSON shard per
GPU per task x generation length; ``../shared/data/d1_eval_baselines/`` holds them
gzipped). d1's ``parse_and_get_acc.py`` pools all shards of a setup and reports
correct / processed (Sudoku: correct cells / blank cells). Here every generation
is matched to the pipeline's own test example by its question text and scored
with that task's ``score`` (protocol "d1"), twice: with ``paper_code_bugs=True``,
which must reproduce d1's numbers, and with the pipeline's default scorer (d1's
bugs fixed; only GSM8K changes: negative golds, thousands commas). The table sets
both beside d1's Table 1 and beside what d1's parser gives on the same files.

The library half of the ``reference`` stage.
"""

from __future__ import annotations

import csv
import gzip
import json
import re
from dataclasses import asdict, dataclass
from pathlib import Path

from pipeline.decoding.effective_tokens import effective_tokens
from pipeline.reports import paper_numbers
from pipeline.tasks import get_task

TASKS = ("gsm8k", "math500", "countdown", "sudoku")
LENGTHS = (128, 256, 512)
MODEL = "LLaDA-8B-Instruct"
TOLERANCE = 0.1  # points; the bar for "matches"
WHY_DEFAULT_DIFFERS = {
    "gsm8k": "d1's parser drops the sign of the 2 negative gold answers (-10, -3) and reads a "
    "boxed 43,500 as 43 (pipeline.tasks.grading.d1_eval)",
}


@dataclass
class Cell:
    task: str
    gen_length: int
    n: int  # generations scored
    accuracy: float  # %, this pipeline with paper_code_bugs=True (reproduces d1)
    accuracy_default: float  # %, this pipeline's default scorer (d1's bugs fixed)
    paper: float | None  # d1 Table 1
    d1_parser: float | None  # d1's parser on the same published generations
    mean_effective_tokens: float
    gold_mismatches: int  # d1's stored ground truth differs from the pipeline's gold
    note: str = ""


def load_shards(data_dir: Path, task: str, length: int) -> list[dict]:
    """All generation records of one setup, shards in index order (d1 pools them)."""
    pattern = re.compile(rf"{task}_instruct_{length}_{length // 2}_(\d+)_generations\.json\.gz$")
    shards = sorted(
        (int(m.group(1)), p) for p in (data_dir / "d1_eval_baselines").iterdir() if (m := pattern.match(p.name))
    )
    if not shards:
        raise FileNotFoundError(f"no d1 generation shards for {task} at length {length} in {data_dir}")
    records = []
    for _, path in shards:
        with gzip.open(path, "rt", encoding="utf-8") as f:
            records.extend(json.load(f)["generations"])
    return records


def d1_gold(task: str, example: dict):
    """The pipeline's gold in the shape d1 stored ``ground_truth``, to cross-check the data."""
    if task == "gsm8k":
        from pipeline.tasks.grading.d1_eval import gsm8k_gold

        return gsm8k_gold(example["solution"], paper_code_bugs=True)
    if task == "countdown":
        return [example["numbers"], example["target"]]
    return example["answer"]


def score_cell(task_name: str, length: int, data_dir: Path, cache_dir: str | None = None) -> Cell:
    as_d1 = get_task(task_name, data_dir=data_dir, paper_code_bugs=True, cache_dir=cache_dir)
    default = get_task(task_name, data_dir=data_dir, cache_dir=cache_dir)
    by_question = {ex["prompt"]: ex for ex in default.load("test")}
    weight = getattr(default, "score_weight", lambda ex: 1)  # Sudoku: pooled over cells
    total = right_d1 = right_default = tokens = 0.0
    records = load_shards(data_dir, task_name, length)
    mismatches = 0
    for rec in records:
        example = by_question.get(rec["question"])
        if example is None:
            raise KeyError(
                f"{task_name}/{length}: generation for a question not in the test split: {rec['question'][:80]!r}"
            )
        mismatches += d1_gold(task_name, example) != rec["ground_truth"]
        w = weight(example)
        total += w
        right_d1 += w * as_d1.score(rec["generations"], example)
        right_default += w * default.score(rec["generations"], example)
        tokens += effective_tokens(rec["generations"])
    return Cell(
        task=task_name,
        gen_length=length,
        n=len(records),
        accuracy=round(100 * right_d1 / total, 2),
        accuracy_default=round(100 * right_default / total, 2),
        paper=paper_numbers.cell("d1_table1", MODEL, task_name, length),
        d1_parser=paper_numbers.cell("d1_published_generations", MODEL, task_name, length),
        mean_effective_tokens=round(tokens / len(records), 1),
        gold_mismatches=mismatches,
    )


def annotate(cell: Cell, test_size: int) -> Cell:
    """Explain every cell that is not within TOLERANCE of the paper."""
    notes = []
    if cell.n < test_size:
        notes.append(
            f"d1 published generations for {cell.n} of {test_size} test questions"
            + ("" if cell.paper is None else "; the paper's number is on all of them")
        )
    if cell.paper is not None and abs(cell.accuracy - cell.paper) > TOLERANCE:
        if cell.d1_parser is not None and abs(cell.accuracy - cell.d1_parser) <= TOLERANCE:
            notes.append(
                "differs from the paper only through the missing questions; matches d1's parser "
                "on the published generations"
            )
        else:
            notes.append("DIFFERS from the paper")
    elif cell.paper is None:
        notes.append("paper cell not confirmed; compared with d1's parser on the published generations")
    if cell.accuracy_default != cell.accuracy:
        notes.append(
            f"the default scorer gives {cell.accuracy_default:.2f}: "
            + WHY_DEFAULT_DIFFERS.get(cell.task, "d1's bugs fixed")
        )
    if cell.gold_mismatches:
        notes.append(f"{cell.gold_mismatches} stored ground truths differ from the pipeline's gold")
    cell.note = "; ".join(notes)
    return cell


def build(data_dir: Path, cache_dir: str | None = None) -> list[Cell]:
    """Every cell; ``cache_dir`` is where ``datasets`` caches the test files (None: its default)."""
    cells = []
    for task_name in TASKS:
        test_size = len(get_task(task_name, data_dir=data_dir, cache_dir=cache_dir).load("test"))
        cells += [annotate(score_cell(task_name, length, data_dir, cache_dir), test_size) for length in LENGTHS]
    return cells


def write_csv(cells: list[Cell], path: Path) -> None:
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(asdict(cells[0])))
        writer.writeheader()
        writer.writerows(asdict(c) for c in cells)


def _fmt(value, digits=1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def to_markdown(cells: list[Cell]) -> str:
    """d1 Table 1 layout: one column per task x length, rows for paper, d1 parser, this pipeline."""
    get = {(c.task, c.gen_length): c for c in cells}
    head = [f"{t} {n}" for t in TASKS for n in LENGTHS]
    rows = [
        ("d1 Table 1 (paper)", lambda c: _fmt(c.paper)),
        ("d1 parser on published generations", lambda c: _fmt(c.d1_parser, 2)),
        ("this pipeline, paper_code_bugs=True", lambda c: _fmt(c.accuracy, 2)),
        ("this pipeline, default scorer", lambda c: _fmt(c.accuracy_default, 2)),
        ("generations scored", lambda c: str(c.n)),
        ("mean effective tokens", lambda c: _fmt(c.mean_effective_tokens)),
    ]
    lines = [
        f"# {MODEL}: d1's published generations re-scored",
        "",
        "| | " + " | ".join(head) + " |",
        "|---" * (len(head) + 1) + "|",
    ]
    for label, fmt in rows:
        lines.append(f"| {label} | " + " | ".join(fmt(get[(t, n)]) for t in TASKS for n in LENGTHS) + " |")
    lines += [
        "",
        "Accuracy in %; Sudoku is cell accuracy pooled over cells as d1 does. Effective tokens:",
        "tiktoken cl100k_base tokens of the generation without `<|endoftext|>` (d1's definition), mean",
        "per generation. (d1's script prints Sudoku's as 8 x total tokens / blank cells instead.)",
        "",
        "Notes:",
        "",
    ]
    lines += [f"- {c.task} {c.gen_length}: {c.note}" for c in cells if c.note]
    if not any(c.note for c in cells):
        lines.append("- every cell matches the paper to 0.1 points")
    return "\n".join(lines) + "\n"
