"""What HumanEval and MBPP share: JustGRPO's code protocol and the task base class.

Source: LeapLabTHU/JustGRPO (arXiv 2601.15165), ``eval.py``. Every prompt opens with the
same sentence (:func:`intro`) and is sent as the only user message, with no system turn
and no prefill. Answer extraction, the RL reward and pass@1 are JustGRPO's, run in our
sandbox; formulas and deviations are documented in :mod:`pipeline.tasks.grading.code`.

d1 has no HumanEval/MBPP protocol (its later ``coding_reward_func`` is for KodCode and
rewards code inside ``<answer>`` tags); only protocol "justgrpo" exists for these tasks.
"""

from __future__ import annotations

from typing import ClassVar

from pipeline.tasks.benchmarks.base import JustGRPOProtocol, PaperTask
from pipeline.tasks.grading import code as grading

#: options of every code task (data.tasks.<humaneval|mbpp|acecode_hard>); each module's OPTIONS is
#: this literal, which the params validator reads from source without importing
CODE_OPTIONS = {
    "protocol": {"enum": ["justgrpo"], "default": "justgrpo", "description": "JustGRPO's code protocol (the only one)"},
    "max_workers": {
        "type": ["integer", "null"],
        "minimum": 1,
        "default": None,
        "description": "programs run in parallel when scoring (null: one per core)",
    },
}


def intro(function_name: str) -> str:
    """Opening sentence of every JustGRPO code prompt (eval.py)."""
    return (
        "You are an expert Python programmer. Your task is to complete the "
        f"implementation of a function named `{function_name}`.\n\n"
    )


class JustGRPOCode(JustGRPOProtocol):
    """The prompt is the example's formatted prompt as is; grading runs the programs in parallel."""

    def __init__(self, max_workers: int | None = None):
        super().__init__()
        self.max_workers = max_workers

    def extract_answer(self, completion: str) -> str | None:
        return grading.eval_code(completion)

    def score(self, completion: str, example: dict) -> float:
        return self.score_batch([completion], [example])[0]

    def reward(self, completion: str, example: dict) -> float:
        return self.reward_batch([completion], [example])[0]

    def score_batch(self, completions: list[str], examples: list[dict]) -> list[float]:
        return grading.pass_at_1(completions, examples, self.max_workers)

    def reward_batch(self, completions: list[str], examples: list[dict]) -> list[float]:
        return grading.reward(completions, examples, self.max_workers)


class CodeTask(PaperTask):
    """A code benchmark under JustGRPO's protocol. Examples carry, besides id/prompt/answer:

    ``prefix``  source placed before the model's code (HumanEval: its original prompt)
    ``tests``   list of test snippets run after it (asserts, or ``check(...)`` calls)

    Options: ``max_workers`` (parallel sandboxes; default one per CPU core).
    """

    splits = ("test",)
    protocols: ClassVar = {"justgrpo": JustGRPOCode}
    fields: ClassVar = {"test": ("prefix", "tests")}

    def __init__(self, data_dir=None, protocol: str = "justgrpo", max_workers: int | None = None, **options):
        self.max_workers = max_workers  # set first: the protocol is built from it in super().__init__
        super().__init__(data_dir, protocol=protocol, **options)

    def _protocol_options(self) -> dict:
        return {"max_workers": self.max_workers}
