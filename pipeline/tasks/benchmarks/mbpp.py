"""MBPP (Austin et al. 2021), the 500 test problems (task ids 11-510), under JustGRPO's protocol.

Sources: ``data_dir/mbpp/mbpp.jsonl`` (the full 974-row file JustGRPO ships; rows 11-510 equal
its ``mbpp_test.jsonl``) or, without data_dir, hub ``google-research-datasets/mbpp`` "full",
test split (the same 500 task ids).

Prompt (JustGRPO ``eval.py::_format_mbpp_prompt``): the task text, the three asserts as
examples, and a stub ``def <name>(input_param_1, ...)`` whose name is the text between
"assert " and the first "(" of the first assert and whose arity is that of the first call to
that name in it (2 if the assert does not parse). On the 500 test tasks this always finds
the tested function (task 126's function really is named ``sum``).

Scoring and reward: :mod:`pipeline.tasks.grading.code` with an empty prefix and the three
asserts of ``test_list`` as tests. As in JustGRPO, ``test_setup_code`` and
``challenge_test_list`` are not used; task 367 is the only test task with setup code, and its
asserts need objects that code builds, so it fails for every program, reference included.
Task 123's reference solution needs about 3 s of CPU (here), so whether it beats JustGRPO's
3 s limit depends on the machine.

Example keys: ``id`` (the integer task id), ``prompt``, ``answer`` (the reference code),
``prefix`` (""), ``tests``.
"""

from __future__ import annotations

import ast

from pipeline.tasks.benchmarks.base import take
from pipeline.tasks.benchmarks.code import CODE_OPTIONS, CodeTask, intro

#: options of data.tasks.mbpp (JSON Schema; read by the params validator without importing)
OPTIONS = CODE_OPTIONS

TEST_IDS = range(11, 511)


def function_name(first_test: str) -> str:
    return first_test.split(" ")[1].split("(")[0]


def arity(first_test: str, name: str) -> int:
    try:
        tree = ast.parse(first_test.strip())
    except SyntaxError:
        return 2
    calls = (n for n in ast.walk(tree) if isinstance(n, ast.Call) and getattr(n.func, "id", "") == name)
    return next((len(call.args) for call in calls), 0)


def format_prompt(row: dict) -> str:
    name = function_name(row["test_list"][0])
    params = ", ".join(f"input_param_{i + 1}" for i in range(arity(row["test_list"][0], name)))
    tests = "\n".join(f"    {t}" for t in row["test_list"])
    return (
        intro(name)
        + f"** TARGET FUNCTION **\n{row['text']}\n\n"
        + f"** UNIT TESTS **\nYour code should pass unit tests like:\n{tests}\n\n"
        + f'Here is the function to complete:\n```python\ndef {name}({params}):\n    """{row["text"]}\n    """\n```\n'
    )


class MBPP(CodeTask):
    name = "mbpp"

    def load(self, split: str, n: int | None = None, seed: int = 0) -> list[dict]:
        self._check_split(split)
        path = self._local("mbpp/mbpp.jsonl")
        if path:
            rows = [r for r in self._read(path, ("task_id", "text", "code", "test_list")) if r["task_id"] in TEST_IDS]
        else:
            rows = self._hub("hub google-research-datasets/mbpp", "google-research-datasets/mbpp", "full", split="test")
        examples = [
            {
                "id": row["task_id"],
                "prompt": format_prompt(row),
                "answer": row["code"],
                "prefix": "",
                "tests": list(row["test_list"]),
            }
            for row in sorted(rows, key=lambda r: r["task_id"])
        ]
        return take(examples, n, seed)
