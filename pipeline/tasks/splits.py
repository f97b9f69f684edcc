"""The splits ``prepare`` writes: train, test, and a validation split held out of train.

Checkpoint selection (``<stage>.select``) scores checkpoints on the validation split, never on the
test split (d1 chose its reported checkpoint on the test set). The validation problems are a seeded
sample of the distinct train problems, removed (every copy) from what training sees, unless the task
generates a validation split of its own (``"validation" in task.splits``: Sudoku, whose held-out
puzzles must not reuse training solution grids, as its test puzzles do not);
``data.n_validation: 0`` holds none out and leaves train exactly as before; a task -> number map holds
out only what the named tasks need (a generated task's problem space is small, and every problem held
out of it is one fewer to learn from).
"""

from __future__ import annotations

import random

from pipeline.core.config import n_test_for, validation_size
from pipeline.tasks import split_examples
from pipeline.tasks.base import Task

SPLITS = ("train", "validation", "test")


def prepared_splits(task: Task, n_train: int, n_test: int | None, n_validation: int, seed: int) -> dict[str, list]:
    """{split: rows} for one task; validation = ``n_validation`` distinct train problems drawn with ``seed``
    (or the task's own generated validation split)."""
    train = split_examples(task, "train", n_train)
    test = split_examples(task, "test", n_test)
    if "validation" in task.splits:
        validation = split_examples(task, "validation", n_validation) if n_validation else []
        return {"train": train, "validation": validation, "test": test}
    # held out by prompt: generated train splits repeat problems, and no copy may stay in train
    prompts = sorted({ex["prompt"] for ex in train})
    if n_validation and prompts and len(prompts) <= n_validation:  # no train data at all: nothing to hold out
        raise ValueError(f"{task.name}: data.n_validation = {n_validation} leaves no train problem of {len(prompts)}")
    held = set(random.Random(f"validation-{task.name}-{seed}").sample(prompts, n_validation)) if prompts else set()
    validation, seen = [], set()
    for ex in train:
        if ex["prompt"] in held and ex["prompt"] not in seen:
            seen.add(ex["prompt"])
            validation.append(ex)
    return {"train": [ex for ex in train if ex["prompt"] not in held], "validation": validation, "test": test}


def splits_for(task: Task, data: dict, n_test: int | None = None) -> dict[str, list]:
    """The splits params' ``data`` section gives ``task`` (what ``prepare`` writes); ``n_test`` replaces
    its number of test problems."""
    n_test = n_test_for(data, task.name) if n_test is None else n_test
    return prepared_splits(task, data["n_train"], n_test, validation_size(data, task.name), data["seed"])
