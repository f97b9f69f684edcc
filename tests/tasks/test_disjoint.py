"""Test splits are disjoint from training: no test prompt appears in a training split, and no test
(or validation) Sudoku's solution grid is the answer of a training puzzle (so a memorised grid cannot
pass a test, nor choose a checkpoint)."""

import pytest

from pipeline.core.config import ROOT, load_params, n_test_for, validation_size
from pipeline.tasks import build_tasks
from pipeline.tasks.splits import prepared_splits

PARAMS = load_params(ROOT / "params.yaml")


@pytest.mark.parametrize("name", [t for t in PARAMS["data"]["tasks"] if t.startswith("tiny_")])
def test_tiny_profile_splits_share_no_problem(name):
    d = PARAMS["data"]
    task = build_tasks(PARAMS, [name])[name]
    n_validation = max(validation_size(d, name), 64)  # some held out even where params hold out none
    splits = prepared_splits(task, d["n_train"], n_test_for(d, name), n_validation, d["seed"])
    test = {ex["prompt"] for ex in splits["test"]}
    for split in ("train", "validation"):
        assert not test & {ex["prompt"] for ex in splits[split]}, f"{name}: a test prompt is in {split}"
    assert not {ex["prompt"] for ex in splits["validation"]} & {ex["prompt"] for ex in splits["train"]}
    if name == "tiny_sudoku":
        grids = {split: {ex["answer"] for ex in splits[split]} for split in splits}
        assert not grids["train"] & grids["test"] and not grids["validation"] & grids["test"]
        assert not grids["train"] & grids["validation"], "validation puzzles reuse training solution grids"
        assert len(splits["validation"]) == n_validation


def test_benchmark_test_questions_are_not_in_their_train_split(data_dir):
    from pipeline.tasks import get_task

    task = get_task("gsm8k", data_dir=data_dir)
    train = {ex["prompt"] for ex in task.load("train")}
    assert not train & {ex["prompt"] for ex in task.load("test")}
