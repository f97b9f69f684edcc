"""s1K (Muennighoff et al. 2025): 1,000 questions with Gemini thinking traces, d1's SFT data.

Sources: hub ``simplescaling/s1K`` (train split, the only one) or ``data_dir/s1k/train.jsonl``
(or ``train.parquet``) in its row format: ``question``, ``solution``, ``cot_type``,
``source_type``, ``metadata``, ``cot``, ``thinking_trajectories`` (a list of strings),
``attempt``. Both are read through ``datasets``.

Examples follow d1's ``SFT/sft_utils.py::preprocess_dataset``:
  * ``prompt``: the whole user turn, d1's SFT format block (:data:`SFT_PROMPT`) + "\\n\\n" +
    question, sent as the only user message (no system turn, no prefill in either mode);
  * ``completion``: ``<reasoning>{thinking_trajectories[0]}</reasoning>\\n<answer>{attempt}</answer>``;
  * ``answer``: ``attempt``; ``id``: the row index in the file; ``question``, ``solution``,
    ``source_type`` and ``cot_type`` as stored.

:data:`SFT_PROMPT` differs from d1's RL block only in "Your reasoning here" where the RL block
has "...". d1's own ``sft_utils.py`` is not in our reference index; the text is taken from two
forks of d1 that carry the file unchanged around it, so it is d1's as far as we could check.

Splits: d1 shuffles the 1,000 rows with ``random.shuffle`` (seed 42) and holds out the first
``int(n * 0.01)`` = 10 for its eval loss. Here ``validation`` is the first
``int(n * validation_fraction)`` of ``random.Random(split_seed).shuffle`` of the row indices (the
permutation d1's call gives if nothing drew from the global generator after seeding), and
``train`` the other rows in file order. There is no test split: evaluation uses the
benchmarks. s1K has no verifier, so ``reward`` and ``score`` raise (a task that is only trained
on should never be scored silently as zero).
"""

from __future__ import annotations

import random
from typing import ClassVar

from pipeline.tasks.benchmarks.base import PaperTask, Protocol, take

#: options of data.tasks.s1k (JSON Schema; read by the params validator without importing)
OPTIONS = {
    "protocol": {"enum": ["d1"], "default": "d1", "description": "d1's SFT format (the only one)"},
    "validation_fraction": {
        "type": "number",
        "minimum": 0,
        "maximum": 0.5,
        "default": 0.01,
        "description": "share of rows held out as the validation split (d1: 1%, 10 of 1,000)",
    },
    "split_seed": {
        "type": "integer",
        "minimum": 0,
        "default": 42,
        "description": "seed of the shuffle that draws the validation rows (d1: 42)",
    },
}

# d1 SFT/sft_utils.py SYSTEM_PROMPT, verbatim (starts and ends with a newline).
SFT_PROMPT = """
Respond in the following format:
<reasoning>
Your reasoning here
</reasoning>
<answer>
...
</answer>
"""


SOURCE_FIELDS = ("question", "thinking_trajectories", "attempt", "solution", "source_type", "cot_type")


def make_example(i: int, row: dict) -> dict:
    return {
        "id": i,
        "prompt": SFT_PROMPT + "\n\n" + row["question"],
        "completion": f"<reasoning>{row['thinking_trajectories'][0]}</reasoning>\n<answer>{row['attempt']}</answer>",
        "answer": row["attempt"],
        "question": row["question"],
        "solution": row["solution"],
        "source_type": row["source_type"],
        "cot_type": row["cot_type"],
    }


class D1SFT(Protocol):
    """The prompt already is d1's whole user turn (the default ``user_content``); nothing to grade."""

    def reward(self, completion: str, example: dict) -> float:
        raise NotImplementedError(
            "s1k: s1K is SFT data with no verifier; evaluate on the benchmarks (gsm8k, math500, ...)"
        )

    def score(self, completion: str, example: dict) -> float:
        return self.reward(completion, example)


class S1K(PaperTask):
    name = "s1k"
    splits = ("train", "validation")
    protocols: ClassVar = {"d1": D1SFT}
    fields: ClassVar = {"train": ("completion",)}

    def __init__(self, data_dir=None, validation_fraction: float = 0.01, split_seed: int = 42, **options):
        super().__init__(data_dir, **options)
        self.validation_fraction, self.split_seed = float(validation_fraction), int(split_seed)

    def load(self, split: str, n: int | None = None, seed: int = 0) -> list[dict]:
        self._check_split(split)
        path = self._local("s1k/train.jsonl", "s1k/train.parquet")
        rows = (
            self._read(path, SOURCE_FIELDS)
            if path
            else self._hub("hub simplescaling/s1K", "simplescaling/s1K", split="train")
        )
        order = list(range(len(rows)))
        random.Random(self.split_seed).shuffle(order)
        held_out = order[: int(len(rows) * self.validation_fraction)]
        if split == "validation":
            keep = held_out  # in the drawn order, as d1 keeps them
        else:
            keep = sorted(set(order) - set(held_out))  # file order: the trainer draws its own batches
        return take([make_example(i, rows[i]) for i in keep], n, seed)
