"""Small multi-step arithmetic: ``a o b o c`` with standard precedence, answered as an integer."""

from __future__ import annotations

import random
from typing import ClassVar

from pipeline.tasks.tiny.arith_trace import evaluate_expression, operand_count, random_expression, trace_steps
from pipeline.tasks.tiny.common import TinyTask

#: options of data.tasks.tiny_arithmetic (JSON Schema; read by the params validator without importing)
OPTIONS = {
    "max_operand": {"type": "integer", "minimum": 1, "default": 9, "description": "largest operand of the expressions"},
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
        "description": "fewest operands per expression: 2 mixes one-operation problems (a o b) into the "
        "three-operand ones, drawn half and half (an easier task, graded in difficulty)",
    },
    "answer_width": {
        "type": "integer",
        "minimum": 1,
        "default": 1,
        "description": "digits of the target answer, zero-padded (2: every answer as long as the longest, "
        "so the <answer> block has one length to learn)",
    },
}


def parse_int(text: str | None) -> int | None:
    try:
        return int(text.strip()) if text is not None else None
    except ValueError:
        return None


class TinyArithmetic(TinyTask):
    """Options: ``max_operand`` (default 9), ``ops`` (the operators drawn, default "+-*"),
    ``answer_width`` (zero-padded answer digits, default 1: none); results are kept in 0..99."""

    answer_shape = r"-?\d+"  # an integer

    name = "tiny_arithmetic"
    fields: ClassVar = {"train": ("completion",)}

    def make(self, rng: random.Random, split: str) -> dict | None:
        hi = int(self.options.get("max_operand", 9))
        expr = random_expression(rng, hi, self.options.get("ops", "+-*"), operand_count(rng, self.options))
        value = evaluate_expression(expr)
        if value is None or not 0 <= value <= 99:
            return None
        shown = str(int(value)).zfill(int(self.options.get("answer_width", 1)))
        return {
            "prompt": f"compute {expr}",
            "answer": shown,
            "completion": f"<reasoning>{trace_steps(expr, rng)}</reasoning><answer>{shown}</answer>",
        }

    def reward(self, completion: str, example: dict) -> float:
        return float(parse_int(self.extract_answer(completion)) == int(example["answer"]))
