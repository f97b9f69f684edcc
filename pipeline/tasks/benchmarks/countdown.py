"""Countdown with 3 numbers: combine them with + - * / to hit a target.

Sources:
  * test: d1's ``dataset/countdown_cd3_test.jsonl`` (256 rows, ``{"input": "30,100,93",
    "output": "23"}``), from ``data_dir/countdown/`` or d1's GitHub file. d1's eval
    draws ``subsample=256`` of 256 rows, i.e. all of them, so the file order is kept.
  * train: hub ``Jiayi-Pan/Countdown-Tasks-3to4`` filtered to 3 numbers, as d1 does,
    or ``data_dir/countdown/train.jsonl`` in that format (``nums``, ``target``).
    Not in ../shared/data, so offline the train split is unavailable. d1 also
    holds the last 500 rows of its seed-shuffled copy out of training; that
    split is not reproduced here.

d1 only (JustGRPO has no Countdown), protocol :class:`D1Countdown`. Eval prompt:
``eval/countdown.py`` CTD_SYSTEM_PROMPT + "Numbers: [a, b, c]\\nTarget: t",
``<reasoning>`` prefilled, scored by d1's eval parser (box first, see
:mod:`pipeline.tasks.grading.d1_eval`). RL prompt: d1's format block followed by
an instruction that embeds the numbers and asks for the expression inside
``<answer>`` tags; reward 1.0 correct, 0.1 an answer block that is wrong, 0 none
(d1's ``compute_score``).
"""

from __future__ import annotations

from typing import ClassVar

from pipeline.tasks.benchmarks.base import D1_RL_FORMAT_PROMPT, D1Protocol, PaperTask, take
from pipeline.tasks.grading import d1_eval, d1_rewards

#: options of data.tasks.countdown (JSON Schema; read by the params validator without importing)
OPTIONS = {
    "protocol": {
        "enum": ["d1"],
        "default": "d1",
        "description": "whose prompts, reward and scorer (see the module docstring)",
    },
    "paper_code_bugs": {
        "type": "boolean",
        "default": False,
        "description": "true: rewards and scorer behave as d1's released code, bugs included",
    },
}

D1_TEST_URL = "https://raw.githubusercontent.com/dllm-reasoning/d1/main/dataset/countdown_cd3_test.jsonl"

# d1 eval/countdown.py, verbatim (no space between the example and "Respond" in d1 either).
EVAL_PROMPT = (
    "Using only the provided numbers, create an arithmetic expression that evaluates to exactly the "
    "provided target number. You may use the operations +, -, *, and / as needed, but each number must "
    "be used exactly once. Think step-by-step. After reasoning, provide only your final expression "
    "inside \\boxed{} tags without including an equals sign or the target number. For example: "
    "\\boxed{a + b * c}Respond in the following format:\n<reasoning>\nYour reasoning here\n</reasoning>\n"
    "<answer>\n\\boxed{...}\n</answer>"
)

# d1 diffu-grpo/data_utils.py get_countdown_questions, verbatim.
RL_INSTRUCTION = (
    "Using only the numbers {numbers}, create an arithmetic expression that evaluates to exactly "
    "{target}. You must use all numbers from the list, and each number must be used exactly once. "
    "You may use the operations +, -, *, and / as needed. After reasoning, provide only your final "
    "expression inside <answer></answer> tags without including an equals sign or the target number. "
    "For example, if the numbers are [2, 3, 4] and the target is 5, a valid answer is: "
    "<answer>\n2*4-3\n</answer>"
)


def make_example(ex_id: str, numbers: list[int], target: int) -> dict:
    return {
        "id": ex_id,
        "prompt": f"Numbers: {numbers}\nTarget: {target}",
        "answer": str(target),
        "numbers": numbers,
        "target": target,
    }


class D1Countdown(D1Protocol):
    def system_prompt(self, mode: str) -> str | None:
        """The eval instruction block; for "rl" the generic format block (d1's RL
        instruction embeds the numbers, so the full text comes from ``user_content``)."""
        return EVAL_PROMPT if mode == "eval" else D1_RL_FORMAT_PROMPT

    def user_content(self, example: dict, mode: str) -> str:
        if mode == "rl":
            return (
                D1_RL_FORMAT_PROMPT + "\n" + RL_INSTRUCTION.format(numbers=example["numbers"], target=example["target"])
            )
        return super().user_content(example, mode)

    def extract_answer(self, completion: str) -> str | None:
        return d1_eval.countdown_parse(completion)

    def reward(self, completion: str, example: dict) -> float:
        return d1_rewards.countdown_reward(completion, example["numbers"], example["target"])

    def score(self, completion: str, example: dict) -> float:
        return float(d1_eval.countdown_correct(completion, example["numbers"], example["target"]))


class Countdown(PaperTask):
    name = "countdown"
    splits = ("train", "test")
    protocols: ClassVar = {"d1": D1Countdown}
    fields: ClassVar = {"train": ("numbers", "target"), "test": ("numbers", "target")}

    def load(self, split: str, n: int | None = None, seed: int = 0) -> list[dict]:
        self._check_split(split)
        if split == "test":
            path = self._local("countdown/countdown_cd3_test.jsonl")
            rows = (
                self._read(path, ("input", "output"))
                if path
                else self._hub("d1's countdown_cd3_test.jsonl", "json", data_files=D1_TEST_URL, split="train")
            )
            examples = [
                make_example(f"test-{i}", [int(x) for x in row["input"].split(",")], int(row["output"]))
                for i, row in enumerate(rows)
            ]
        else:
            path = self._local("countdown/train.jsonl")
            rows = (
                self._read(path, ("nums", "target"))
                if path
                else self._hub("hub Jiayi-Pan/Countdown-Tasks-3to4", "Jiayi-Pan/Countdown-Tasks-3to4", split="train")
            )
            examples = [
                make_example(f"train-{i}", list(row["nums"]), int(row["target"]))
                for i, row in enumerate(rows)
                if len(row["nums"]) == 3
            ]
        return take(examples, n, seed)
