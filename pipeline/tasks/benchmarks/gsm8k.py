"""GSM8K (grade-school math word problems): test 1319, train 7473.

Sources: ``data_dir/gsm8k/{train,test}.jsonl`` (OpenAI's grade-school-math files,
byte-identical to the hub copy) or hub ``openai/gsm8k`` "main".

Protocol "d1" (:class:`D1GSM8K`; arXiv 2504.12216, github dllm-reasoning/d1):
  * eval prompt: ``eval/gsm8k.py`` GSM_SYSTEM_PROMPT (asks for ``\\boxed{}``
    inside ``<answer>``) + question, with ``<reasoning>`` prefilled;
  * RL prompt: ``diffu-grpo/data_utils.py`` SYSTEM_PROMPT (bare XML format, no
    box) + question. The two differ on purpose: the RL reward reads the
    ``<answer>`` text as a plain integer string, the eval parser reads the box;
  * reward: xml count + soft format + strict format + integer + correctness (2.0),
    summed (:func:`pipeline.tasks.grading.d1_rewards.gsm8k_reward`), max 4.0;
  * score: d1's eval parser, float equality (:mod:`pipeline.tasks.grading.d1_eval`).
    Two d1 parser bugs are fixed unless ``paper_code_bugs``: negative gold
    answers lose their sign, and "43,500" in the model's answer reads as 43
    (see ``gsm8k_gold`` and ``gsm8k_parse`` there).

Protocol "justgrpo" (:class:`JustGRPOGSM8K`; arXiv 2601.15165, github
LeapLabTHU/JustGRPO): the question alone as the user message, no prefill; reward
+1/-1 when the Qwen-Math-extracted answer equals the text after ``####`` (checked
with math-verify, see :mod:`pipeline.tasks.grading.math_grading`); score 1 when
the reward is +1.

Training examples also carry ``completion``, the reference solution rewritten
into d1's XML format (calculator annotations ``<<...>>`` removed). Neither paper
trains on it (d1's SFT uses s1K, task ``s1k``); it is there for the pipeline's SFT stage.
"""

from __future__ import annotations

import re
from typing import ClassVar

from pipeline.tasks.benchmarks.base import (
    D1_RL_FORMAT_PROMPT,
    D1Protocol,
    JustGRPOProtocol,
    PaperTask,
    take,
)
from pipeline.tasks.grading import d1_eval, d1_rewards
from pipeline.tasks.grading.math_grading import math_verify_equal, qwen_extract_answer

#: options of data.tasks.gsm8k (JSON Schema; read by the params validator without importing)
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

# d1 eval/gsm8k.py, verbatim (the space after "\boxed{}." is d1's).
EVAL_PROMPT = """You are a math expert. You will be given a question to solve. Solve it step by step. Wrap the final answer in a \\boxed{}. 
Respond in the following format:
<reasoning>
Your reasoning here
</reasoning>
<answer>
\\boxed{...}
</answer>"""


def final_answer(solution: str) -> str:
    """The gold answer string after ``####`` (d1's ``extract_hash_answer``)."""
    return solution.split("####")[1].strip()


def xml_completion(solution: str) -> str:
    reasoning = re.sub(r"<<[^>]*>>", "", solution.split("####")[0]).strip()
    return f"<reasoning>\n{reasoning}\n</reasoning>\n<answer>\n{final_answer(solution)}\n</answer>\n"


class D1GSM8K(D1Protocol):
    def system_prompt(self, mode: str) -> str | None:
        return EVAL_PROMPT if mode == "eval" else D1_RL_FORMAT_PROMPT

    def extract_answer(self, completion: str) -> str | None:
        value = d1_eval.gsm8k_parse(completion, self.paper_code_bugs)
        if value is None:
            return None
        return str(int(value)) if value.is_integer() else str(value)

    def reward(self, completion: str, example: dict) -> float:
        return d1_rewards.gsm8k_reward(completion, example["answer"], self.paper_code_bugs)

    def score(self, completion: str, example: dict) -> float:
        gold = d1_eval.gsm8k_gold(example["solution"], self.paper_code_bugs)
        return float(d1_eval.gsm8k_correct(completion, gold, self.paper_code_bugs))


class JustGRPOGSM8K(JustGRPOProtocol):
    def extract_answer(self, completion: str) -> str | None:
        return qwen_extract_answer(completion) or None

    def reward(self, completion: str, example: dict) -> float:
        return 1.0 if math_verify_equal(example["answer"], qwen_extract_answer(completion)) else -1.0


class GSM8K(PaperTask):
    name = "gsm8k"
    splits = ("train", "test")
    protocols: ClassVar = {"d1": D1GSM8K, "justgrpo": JustGRPOGSM8K}
    fields: ClassVar = {"train": ("solution", "completion"), "test": ("solution",)}

    def load(self, split: str, n: int | None = None, seed: int = 0) -> list[dict]:
        self._check_split(split)
        path = self._local(f"gsm8k/{split}.jsonl")
        rows = (
            self._read(path, ("question", "answer"))
            if path
            else self._hub("hub openai/gsm8k", "openai/gsm8k", "main", split=split)
        )
        examples = []
        for i, row in enumerate(rows):
            ex = {
                "id": f"{split}-{i}",
                "prompt": row["question"],
                "answer": final_answer(row["answer"]),
                "solution": row["answer"],
            }
            if split == "train":
                ex["completion"] = xml_completion(row["answer"])
            examples.append(ex)
        return take(examples, n, seed)
