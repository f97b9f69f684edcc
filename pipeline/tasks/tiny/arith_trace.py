"""Safe evaluation of small integer expressions and step-by-step traces with connective words.

The traces deliberately use natural connectives ("then", "so", "therefore") between steps:
the Flexibility-Trap analysis measures the entropy at which a decoder commits them.
"""

from __future__ import annotations

import ast
import operator
import random

_OPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv}
CONNECTORS = ("then", "so", "therefore")


def evaluate_expression(expr: str) -> float | None:
    """Value of an expression of integers, + - * / and parentheses; None if anything else."""
    try:
        tree = ast.parse(expr, mode="eval")
    except SyntaxError:
        return None

    def ev(node):
        if isinstance(node, ast.Expression):
            return ev(node.body)
        if isinstance(node, ast.Constant) and type(node.value) is int:
            return node.value
        if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
            return _OPS[type(node.op)](ev(node.left), ev(node.right))
        raise ValueError("unsupported")

    try:
        return float(ev(tree))
    except (ValueError, ZeroDivisionError, RecursionError):
        return None


def operand_count(rng: random.Random, options: dict) -> int:
    """3, or 2 or 3 with equal chance when ``min_operands`` is 2. The default draws nothing, so the
    data made before the option existed are unchanged."""
    return 3 if int(options.get("min_operands", 3)) == 3 else rng.choice((2, 3))


def random_expression(rng: random.Random, max_operand: int, ops: str, count: int) -> str:
    """``a o b [o c]`` with operands in 1..max_operand and operators drawn from ``ops``."""
    nums = [rng.randint(1, max_operand) for _ in range(count)]
    signs = [rng.choice(ops) for _ in range(count - 1)]
    return "".join(f"{n}{o}" for n, o in zip(nums, signs)) + str(nums[-1])


def trace_steps(expr: str, rng: random.Random) -> str:
    """``3*4=12 then 12+5=17 so 17``-style trace of ``a o b o c`` in precedence order."""
    tree = ast.parse(expr, mode="eval").body
    steps: list[str] = []

    def walk(node) -> str:
        if isinstance(node, ast.Constant):
            return str(node.value)
        left, right = walk(node.left), walk(node.right)
        sym = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/"}[type(node.op)]
        value = _OPS[type(node.op)](int(left), int(right))
        steps.append(f"{left}{sym}{right}={value}")
        return str(value)

    result = walk(tree)
    conclusion = rng.choice(("so", "therefore"))
    return " then ".join(steps) + f" {conclusion} {result}"
