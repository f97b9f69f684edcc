"""Task registry: name -> "module:Class". Adding a task is one module plus one line here.

Tiny tasks (:mod:`pipeline.tasks.tiny`) are generated (seeded) so the whole DAG runs on a
laptop; the papers' benchmarks (:mod:`pipeline.tasks.benchmarks`) read files from
``data_dir`` laid out like ``../shared/data/`` (or the hub) through ``datasets``, cached under
``<paths.results>/cache/datasets`` (:func:`datasets_cache`); their graders and rewards are in
:mod:`pipeline.tasks.grading`. Each registered module holds its task's ``OPTIONS`` literal.
"""

from __future__ import annotations

from pathlib import Path

from pipeline.core.config import n_test_for
from pipeline.core.data import read_splits
from pipeline.core.registry import resolve
from pipeline.tasks.base import Task

TASKS: dict[str, str] = {
    # tiny, generated
    "tiny_sudoku": "pipeline.tasks.tiny.sudoku:TinySudoku",
    "tiny_countdown": "pipeline.tasks.tiny.countdown:TinyCountdown",
    "tiny_arithmetic": "pipeline.tasks.tiny.arithmetic:TinyArithmetic",
    # the papers' benchmarks
    "gsm8k": "pipeline.tasks.benchmarks.gsm8k:GSM8K",
    "math500": "pipeline.tasks.benchmarks.math500:MATH500",
    "countdown": "pipeline.tasks.benchmarks.countdown:Countdown",
    "sudoku": "pipeline.tasks.benchmarks.sudoku:Sudoku",
    "humaneval": "pipeline.tasks.benchmarks.humaneval:HumanEval",
    "mbpp": "pipeline.tasks.benchmarks.mbpp:MBPP",
    # training-only sets: d1's SFT data, JustGRPO's code-RL data
    "s1k": "pipeline.tasks.benchmarks.s1k:S1K",
    "acecode_hard": "pipeline.tasks.benchmarks.acecode:AceCodeHard",
}


def get_task(name: str, **options) -> Task:
    """Instantiate a registered task; options are the task's params (e.g. data_dir)."""
    return resolve(TASKS, name, "task")(**options)


def datasets_cache(params: dict) -> str:
    """Where ``datasets`` keeps its Arrow copies: under the profile's results root, so they go with
    (and are removed with) that profile's results, not into ~/.cache."""
    return str(Path(params["paths"]["results"]) / "cache" / "datasets")


def task_options(params: dict, name: str) -> dict:
    """Constructor options of a task: its ``data.tasks.<name>`` entry plus the shared data settings."""
    d = params["data"]
    shared = {
        "data_dir": d["data_dir"],
        "seed": d["seed"],
        "n_test": n_test_for(d, name),
        "cache_dir": datasets_cache(params),
    }
    return {**shared, **(d["tasks"].get(name) or {})}


def build_tasks(params: dict, names: list[str]) -> dict[str, Task]:
    """The named tasks, each built with its options from params."""
    return {n: get_task(n, **task_options(params, n)) for n in names}


def read_prepared(data_dir: str | Path, tasks: dict[str, Task], split: str) -> dict[str, list[dict]]:
    """The prepared ``split`` of each task, every row checked for the fields its task declares
    (a DataFileError naming the file and line otherwise): what a stage reads before any work."""
    return read_splits(data_dir, list(tasks), split, {n: t.required_fields(split) for n, t in tasks.items()})


def split_examples(task: Task, split: str, n: int | None) -> list[dict]:
    """The examples ``prepare`` writes for ``split``.

    A benchmark without a train split here (HumanEval/MBPP have none; MATH, d1's Countdown and
    Sudoku train files are not in ../shared/data) gets an empty train list, so evaluation still
    runs; training stages then refuse the task with a message saying so (``read_splits``). An
    SFT-only set (s1K) likewise gets an empty test list.
    """
    from pipeline.tasks.benchmarks.base import DataUnavailable

    if split not in task.splits:
        print(f"[prepare] {task.name} has no {split} split: writing an empty {split}.jsonl")
        return []
    try:
        return task.load(split, n, seed=0)
    except (FileNotFoundError, DataUnavailable) as err:
        if split == "test":
            raise
        print(f"[prepare] {task.name}: no train data ({err}); writing an empty train.jsonl")
        return []
