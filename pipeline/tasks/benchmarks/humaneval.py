"""HumanEval (OpenAI, 164 hand-written Python problems), under JustGRPO's protocol.

Sources: ``data_dir/humaneval/HumanEval.jsonl.gz`` (openai/human-eval's file, the same blob
JustGRPO ships as ``datasets/HumanEval.jsonl.gz``) or, without data_dir, hub
``openai/openai_humaneval`` (test split, same rows).

Prompt (JustGRPO ``eval.py::_format_humaneval``): one user message asking for the function
``entry_point`` and quoting the original prompt (signature + docstring) in a python fence.
Scoring and reward: :mod:`pipeline.tasks.grading.code`, with the original prompt as the
program prefix and the single test ``<test source>\\ncheck(<entry_point>)``.

Example keys: ``id`` ("HumanEval/0" ...), ``prompt``, ``answer`` (the canonical solution,
a function body to append to ``prefix``), ``prefix``, ``tests``, ``entry_point``.
"""

from __future__ import annotations

from pipeline.tasks.benchmarks.base import take
from pipeline.tasks.benchmarks.code import CODE_OPTIONS, CodeTask, intro

#: options of data.tasks.humaneval (JSON Schema; read by the params validator without importing)
OPTIONS = CODE_OPTIONS


def format_prompt(problem: dict) -> str:
    return (
        intro(problem["entry_point"])
        + f"Here is the function to complete:\n```python\n{problem['prompt'].rstrip()}\n```\n"
    )


class HumanEval(CodeTask):
    name = "humaneval"

    def load(self, split: str, n: int | None = None, seed: int = 0) -> list[dict]:
        self._check_split(split)
        path = self._local("humaneval/HumanEval.jsonl.gz")
        rows = (
            self._read(path, ("task_id", "prompt", "canonical_solution", "test", "entry_point"))  # .gz: read as is
            if path
            else self._hub("hub openai/openai_humaneval", "openai/openai_humaneval", split="test")
        )
        examples = [
            {
                "id": row["task_id"],
                "prompt": format_prompt(row),
                "answer": row["canonical_solution"],
                "prefix": row["prompt"],
                "tests": [row["test"] + "\n" + f"check({row['entry_point']})"],
                "entry_point": row["entry_point"],
            }
            for row in rows
        ]
        return take(examples, n, seed)
