"""The interface every task implements, tiny synthetic or real benchmark.

An *example* is a plain JSON-serialisable dict. Keys every task provides:
  ``id``      unique within the split (str or int)
  ``prompt``  the user message (str); the chat template is applied by the caller
  ``answer``  the gold answer as the task stores it (str)
Training splits of tasks with SFT traces also carry ``completion``: the target
assistant text in d1's ``<reasoning>...</reasoning><answer>...</answer>`` format.
Tasks may add any other keys they need for scoring (e.g. ``puzzle``, ``numbers``); each task
declares, per split, the keys beyond ``BASE_FIELDS`` that every row carries (``Task.fields``), and
the stages check every prepared row for them before any work starts.

Verifiers are plain functions of (completion text, example): the same function is
used as the RL reward and, via ``score``, as the evaluation metric.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from pathlib import Path
from typing import ClassVar

BASE_FIELDS = ("id", "prompt", "answer")
ANSWER_RE = re.compile(r"<answer>(.*?)</answer>", re.DOTALL)


def extract_xml_answer(text: str) -> str | None:
    """Content of the last ``<answer>...</answer>`` block, stripped; None if absent."""
    found = ANSWER_RE.findall(text)
    return found[-1].strip() if found else None


class Task(ABC):
    """A task: where its examples come from and how a completion is scored."""

    name: str = ""
    #: splits this task can load, e.g. ("train", "test")
    splits: tuple[str, ...] = ("train", "test")
    #: split -> keys beyond BASE_FIELDS that every row of it carries: what the training target
    #: (``completion``), the reward and scoring read
    fields: ClassVar[dict[str, tuple[str, ...]]] = {}

    def __init__(self, data_dir: str | Path | None = None, **options):
        self.data_dir = Path(data_dir) if data_dir else None
        self.options = options

    @abstractmethod
    def load(self, split: str, n: int | None = None, seed: int = 0) -> list[dict]:
        """Return examples of ``split`` (at most ``n``; all when None), deterministic in ``seed``."""

    def required_fields(self, split: str) -> tuple[str, ...]:
        """Keys every row of the prepared ``split`` must carry."""
        own = "train" if split == "validation" else split  # validation rows are held out of train
        return BASE_FIELDS + self.fields.get(own, ())

    def system_prompt(self, mode: str = "eval") -> str | None:
        """System message to prepend, or None. ``mode`` is "eval" or "rl" (d1 differs)."""
        return None

    def messages(self, example: dict, mode: str = "eval") -> list[dict]:
        """Chat messages for the example; the tokenizer's chat template turns them into text."""
        system = self.system_prompt(mode)
        msgs = [{"role": "system", "content": system}] if system else []
        return msgs + [{"role": "user", "content": example["prompt"]}]

    def generation_prefix(self, mode: str = "eval") -> str:
        """Text appended after the chat template, before decoding (d1's eval prefills ``<reasoning>``)."""
        return ""

    def target(self, example: dict, fmt: str) -> str:
        """Training completion: ``reasoning`` (the example's d1-format trace) or ``answer`` (answer only)."""
        if fmt == "reasoning":
            if "completion" not in example:
                raise ValueError(f"{self.name}: examples have no reasoning trace; use target_format: answer")
            return example["completion"]
        if fmt == "answer":
            return f"<answer>{example['answer']}</answer>"
        raise ValueError(f"unknown target format {fmt!r}; known: reasoning, answer")

    def extract_answer(self, completion: str) -> str | None:
        return extract_xml_answer(completion)

    def well_formed(self, completion: str) -> bool:
        """Whether the completion gives an answer in the task's format (the format rate of a table
        cell; right or wrong): here, an answer the protocol can extract. Tiny tasks are stricter."""
        return self.extract_answer(completion) is not None

    @abstractmethod
    def reward(self, completion: str, example: dict) -> float:
        """RL reward of one completion (the paper's reward for this task)."""

    def score(self, completion: str, example: dict) -> float:
        """Evaluation metric in [0, 1] (accuracy, or cell accuracy for Sudoku)."""
        return float(self.reward(completion, example) >= 1.0)

    # Callers score whole batches through these; tasks that execute code override them to run
    # the programs in parallel.
    def reward_batch(self, completions: list[str], examples: list[dict]) -> list[float]:
        return [self.reward(c, ex) for c, ex in zip(completions, examples)]

    def score_batch(self, completions: list[str], examples: list[dict]) -> list[float]:
        return [self.score(c, ex) for c, ex in zip(completions, examples)]
