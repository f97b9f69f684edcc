"""Task registry: name -> "module:Class". Adding a task is one module plus one line here.

Tiny tasks are generated (seeded) so the whole DAG runs on a laptop; the real
benchmarks read files from ``data_dir`` laid out like ``../shared/data/``.
"""
from __future__ import annotations

from pipeline.registry import resolve
from pipeline.tasks.base import Task

TASKS: dict[str, str] = {
    # tiny, generated
    "tiny_sudoku": "pipeline.tasks.tiny_sudoku:TinySudoku",
    "tiny_countdown": "pipeline.tasks.tiny_countdown:TinyCountdown",
    "tiny_arithmetic": "pipeline.tasks.tiny_arithmetic:TinyArithmetic",
    # the papers' benchmarks
    "gsm8k": "pipeline.tasks.gsm8k:GSM8K",
    "math500": "pipeline.tasks.math500:MATH500",
    "countdown": "pipeline.tasks.countdown:Countdown",
    "sudoku": "pipeline.tasks.sudoku:Sudoku",
    "humaneval": "pipeline.tasks.humaneval:HumanEval",
    "mbpp": "pipeline.tasks.mbpp:MBPP",
}


def get_task(name: str, **options) -> Task:
    """Instantiate a registered task; options are the task's params (e.g. data_dir)."""
    return resolve(TASKS, name, "task")(**options)
