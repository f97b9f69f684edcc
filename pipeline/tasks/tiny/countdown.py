"""Countdown with three (or two) numbers: write an expression using each number once that equals the target.

Reward (d1's): 1.0 for a correct expression, 0.1 when an answer is present but wrong,
0 when there is none. Score: 1 only for a correct expression. Any valid expression counts,
not just the one in the trace.
"""

from __future__ import annotations

import random
import re
from collections import Counter
from typing import ClassVar

from pipeline.tasks.tiny.arith_trace import evaluate_expression, operand_count, random_expression, trace_steps
from pipeline.tasks.tiny.common import TinyTask

#: options of data.tasks.tiny_countdown (JSON Schema; read by the params validator without importing)
OPTIONS = {
    "max_number": {"type": "integer", "minimum": 2, "default": 12, "description": "largest of the 3 given numbers"},
    "max_target": {"type": "integer", "minimum": 1, "default": 99, "description": "largest target kept"},
    "ops": {
        "type": "string",
        "pattern": "^[+*-]+$",
        "default": "+-*",
        "description": "operators the expressions draw from (fewer: an easier task)",
    },
    "min_operands": {
        "type": "integer",
        "minimum": 2,
        "maximum": 3,
        "default": 3,
        "description": "fewest given numbers: 2 mixes two-number problems into the three-number ones, "
        "drawn half and half (an easier task, graded in difficulty)",
    },
    "order": {
        "enum": ["sorted", "solution"],
        "default": "sorted",
        "description": "how the prompt lists the numbers: sorted (a search over orders and operators) or "
        "in one solution's order (only the operators to find: an easier task)",
    },
}

_EXPR_CHARS = re.compile(r"^[\d+\-*/() ]+$")


def check_expression(expr: str | None, numbers: list[int], target: int) -> bool | None:
    """True/False for a parseable expression, None when no usable expression is present."""
    if not expr or not _EXPR_CHARS.match(expr):
        return None
    used = [int(tok) for tok in re.findall(r"\d+", expr)]
    if Counter(used) != Counter(numbers):
        return False
    value = evaluate_expression(expr)
    return value is not None and abs(value - target) < 1e-9


def countdown_reward(expr: str | None, numbers: list[int], target: int) -> float:
    ok = check_expression(expr, numbers, target)
    if ok is None:
        return 0.0 if expr is None else 0.1
    return 1.0 if ok else 0.1


class TinyCountdown(TinyTask):
    """Options: ``max_number`` (operands drawn from 1..max_number, default 12),
    ``max_target`` (default 99), ``ops`` (the operators drawn, default "+-*")."""

    answer_shape = r"\d+(?:[+\-*/]\d+)*"  # an expression over numbers, e.g. 3+4+9

    name = "tiny_countdown"
    fields: ClassVar = {"train": ("completion", "numbers", "target"), "test": ("numbers", "target")}

    def make(self, rng: random.Random, split: str) -> dict | None:
        hi = int(self.options.get("max_number", 12))
        expr = random_expression(rng, hi, self.options.get("ops", "+-*"), operand_count(rng, self.options))
        nums = [int(n) for n in re.findall(r"\d+", expr)]
        target = evaluate_expression(expr)
        if target is None or target != int(target) or not 1 <= target <= int(self.options.get("max_target", 99)):
            return None
        # sorted: the prompt must not reveal the order of the solution
        shown = sorted(nums) if self.options.get("order", "sorted") == "sorted" else nums
        reasoning = trace_steps(expr, rng)
        return {
            "prompt": f"target {int(target)} numbers {' '.join(map(str, shown))}",
            "numbers": shown,
            "target": int(target),
            "answer": expr,
            "completion": f"<reasoning>{reasoning}</reasoning><answer>{expr}</answer>",
        }

    def reward(self, completion: str, example: dict) -> float:
        return countdown_reward(self.extract_answer(completion), example["numbers"], example["target"])
