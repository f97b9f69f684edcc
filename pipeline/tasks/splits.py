"""The splits ``prepare`` writes: train, test, and a validation split held out of train.

Checkpoint selection (``<stage>.select``) scores checkpoints on the validation split, never on the
test split (d1 chose its reported checkpoint on the test set). The validation rows are a seeded
sample of the train rows, removed from what training sees; ``data.n_validation: 0`` holds none out
and leaves train exactly as before.
"""

from __future__ import annotations

import random

from pipeline.tasks import split_examples
from pipeline.tasks.base import Task

SPLITS = ("train", "validation", "test")


def prepared_splits(task: Task, n_train: int, n_test: int | None, n_validation: int, seed: int) -> dict[str, list]:
    """{split: rows} for one task; validation = ``n_validation`` train rows drawn with ``seed``."""
    train = split_examples(task, "train", n_train)
    test = split_examples(task, "test", n_test)
    if n_validation and len(train) <= n_validation:
        raise ValueError(f"{task.name}: data.n_validation = {n_validation} leaves no train rows of {len(train)}")
    held = (
        set(random.Random(f"validation-{task.name}-{seed}").sample(range(len(train)), n_validation)) if train else set()
    )
    return {
        "train": [ex for i, ex in enumerate(train) if i not in held],
        "validation": [ex for i, ex in enumerate(train) if i in held],
        "test": test,
    }
