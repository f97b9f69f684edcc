"""AceCode-Hard: the code-RL training set of JustGRPO (its ``code`` run; HumanEval and MBPP are
evaluated with that run's model, see ``rl.run_for_eval``).

Source: the ml-diffucoder subset of AceCode, which JustGRPO's README distributes through Google
Drive only (``datasets/acecode_hard.jsonl``); it is not on the hub, so it is read from
``data_dir/acecode_hard/train.jsonl`` (rows with ``question`` and ``test_cases``, a list of
assert statements) through ``datasets``.

Prompt (JustGRPO ``data/code.py``): the question, and when it holds no code fence,
``"\\nTest cases: " + test_cases[0]``; sent as the only user message of the chat template.
Reward: JustGRPO's format + pass rate in [0, 2] (:func:`pipeline.tasks.grading.code.reward`,
each assert one test, empty prefix); score: the program with every assert runs to the end.

Example keys: ``id`` (row index), ``prompt``, ``answer`` (None: no reference solution is used),
``prefix`` (""), ``tests``.
"""

from __future__ import annotations

from typing import ClassVar

from pipeline.tasks.benchmarks.base import DataUnavailable, take
from pipeline.tasks.benchmarks.code import CODE_OPTIONS, CodeTask

#: options of data.tasks.acecode_hard (JSON Schema; read by the params validator without importing)
OPTIONS = CODE_OPTIONS

RELPATH = "acecode_hard/train.jsonl"
WHERE = (
    "AceCode-Hard is distributed only through Google Drive (JustGRPO README, datasets/acecode_hard.jsonl): "
    f"place that file at <data.data_dir>/{RELPATH}"
)


def format_prompt(row: dict) -> str:
    if "```" in row["question"]:
        return row["question"]
    return row["question"] + "\nTest cases: " + row["test_cases"][0]


class AceCodeHard(CodeTask):
    name = "acecode_hard"
    splits = ("train",)  # a training set: prepare holds data.n_validation rows out of it
    fields: ClassVar = {"train": ("prefix", "tests")}

    def load(self, split: str, n: int | None = None, seed: int = 0) -> list[dict]:
        self._check_split(split)
        if self.data_dir is None:
            raise DataUnavailable(f"{self.name}: no data_dir given and the hub has no copy; {WHERE}")
        if not (self.data_dir / RELPATH).exists():
            raise FileNotFoundError(f"{self.name}: {self.data_dir / RELPATH} not found; {WHERE}")
        rows = self._read(self.data_dir / RELPATH, ("question", "test_cases"))
        examples = [
            {"id": i, "prompt": format_prompt(row), "answer": None, "prefix": "", "tests": list(row["test_cases"])}
            for i, row in enumerate(rows)
        ]
        return take(examples, n, seed)
