"""MATH-500 (the 500-problem MATH test subset of "Let's Verify Step by Step").

Sources: ``data_dir/math500/test.jsonl`` (prm800k's file) or hub
``HuggingFaceH4/MATH-500`` (d1) - JustGRPO's ``ankner/math-500`` test split is the
same 500 problems. Train: the 12k MATH train split that d1 and JustGRPO load
from hub ``ankner/math-500`` (split "train"), or ``data_dir/math500/train.jsonl``
in the same row format. It is *not* in ../shared/data, so offline the train
split is unavailable.

Protocol "d1" (:class:`D1MATH500`):
  * eval prompt: ``eval/math500.py`` MATH500_SYSTEM_PROMPT + problem, ``<reasoning>``
    prefilled;
  * RL prompt: d1's XML format block + "You are a math expert ... \\boxed{}." +
    problem (``diffu-grpo/data_utils.py::get_math_questions``);
  * reward: 2.0 if the last box is ``is_equiv`` to the box of the gold solution,
    + 0.5 x (1 for ``<answer>`` tags + 1 if boxed else 0.5). d1's backspace bug
    is fixed unless ``paper_code_bugs`` (see :mod:`pipeline.tasks.grading.d1_rewards`);
  * score: d1's eval parser with its string ``is_equiv`` against the ``answer`` field.

Protocol "justgrpo" (:class:`JustGRPOMATH500`): the problem followed by
JustGRPO's box instruction as the only user message; reward +1/-1 from
math-verify on the Qwen-Math-extracted answers of completion and gold solution;
train rows with problems of 1500+ characters dropped, as JustGRPO's loader does.
"""

from __future__ import annotations

from typing import ClassVar

from pipeline.tasks.benchmarks.base import (
    D1_RL_FORMAT_PROMPT,
    D1Protocol,
    JustGRPOProtocol,
    PaperTask,
    take,
)
from pipeline.tasks.grading import d1_eval, d1_rewards
from pipeline.tasks.grading.math_grading import d1_boxed_content, math_verify_equal, qwen_extract_answer

#: options of data.tasks.math500 (JSON Schema; read by the params validator without importing)
OPTIONS = {
    "protocol": {
        "enum": ["d1", "justgrpo"],
        "default": "d1",
        "description": "whose prompts, reward and scorer (see the module docstring)",
    },
    "paper_code_bugs": {
        "type": "boolean",
        "default": False,
        "description": "true: rewards and scorer behave as d1's released code, bugs included",
    },
}

# d1 eval/math500.py, verbatim: the stray '" ' before the final newline is d1's.
EVAL_PROMPT = """You are a math expert. You will be given a question to solve. Solve it step by step. Wrap the final answer in a \\boxed{}.
Respond in the following format:
<reasoning>
Your reasoning here
</reasoning>
<answer>
\\boxed{...}
</answer>" 
"""

RL_PROMPT = (
    D1_RL_FORMAT_PROMPT + "\n\nYou are a math expert. You will be given a question to solve. "
    "Solve it step by step. Wrap the final answer in a \\boxed{}. "
)

# JustGRPO data/math.py collate_fn_math: appended to the problem with no separator.
JUSTGRPO_SUFFIX = r"(Please put the final answer in \boxed{} tag, i.e. $\boxed{answer here}$)"


class D1MATH500(D1Protocol):
    def system_prompt(self, mode: str) -> str | None:
        return EVAL_PROMPT if mode == "eval" else RL_PROMPT

    def extract_answer(self, completion: str) -> str | None:
        return d1_eval.math_parse(completion)

    def reward(self, completion: str, example: dict) -> float:
        return d1_rewards.math_reward(completion, example["solution"], self.paper_code_bugs)

    def score(self, completion: str, example: dict) -> float:
        return float(d1_eval.math_correct(completion, example["answer"]))


class JustGRPOMATH500(JustGRPOProtocol):
    def user_content(self, example: dict, mode: str) -> str:
        return example["prompt"] + JUSTGRPO_SUFFIX

    def filter_train(self, rows: list[dict]) -> list[dict]:
        return [r for r in rows if 0 < len(r["problem"]) < 1500]  # JustGRPO's loader drops long problems

    def extract_answer(self, completion: str) -> str | None:
        return qwen_extract_answer(completion) or None

    def reward(self, completion: str, example: dict) -> float:
        gold = qwen_extract_answer(example["solution"])
        return 1.0 if math_verify_equal(gold, qwen_extract_answer(completion)) else -1.0


class MATH500(PaperTask):
    name = "math500"
    splits = ("train", "test")
    protocols: ClassVar = {"d1": D1MATH500, "justgrpo": JustGRPOMATH500}
    fields: ClassVar = {"train": ("solution",), "test": ("solution",)}

    def load(self, split: str, n: int | None = None, seed: int = 0) -> list[dict]:
        self._check_split(split)
        path = self._local(f"math500/{split}.jsonl")
        if path:
            rows = self._read(path, ("problem", "solution"))
        elif split == "test":
            rows = self._hub("hub HuggingFaceH4/MATH-500", "HuggingFaceH4/MATH-500", split="test")
        else:
            rows = self._hub("hub ankner/math-500 (MATH train)", "ankner/math-500", split="train")
        if split == "train":
            rows = self.protocol.filter_train(rows)
        examples = [
            {
                "id": row.get("unique_id") or f"{split}-{i}",  # datasets fills absent keys with None
                "prompt": row["problem"],
                "answer": row.get("answer") or d1_boxed_content(row["solution"]),
                "solution": row["solution"],
                "subject": row.get("subject"),
                "level": row.get("level"),
            }
            for i, row in enumerate(rows)
        ]
        return take(examples, n, seed)
