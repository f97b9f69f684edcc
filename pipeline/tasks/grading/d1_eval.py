"""d1's evaluation parsers (``eval/parse_and_get_acc.py``): how its Table 1 was scored.

They are not the RL rewards (see :mod:`pipeline.tasks.grading.d1_rewards`): the eval prompt
asks for ``\\boxed{}`` inside ``<answer>``, so the parsers look for a box first and
fall back to the answer tags. With ``paper_code_bugs=True`` they give d1's verdict
on every one of d1's published LLaDA generations (all tasks and lengths), keeping
these protocol details:

* GSM8K takes the *first* ``\\boxed{}`` that holds a number (regex, no nesting,
  no newline), else the *last* number inside the *first* ``<answer>`` block, and
  compares floats with ``==``. Two bugs are fixed unless ``paper_code_bugs``
  (negative golds, thousands commas; see ``gsm8k_gold`` and ``gsm8k_parse``).
* MATH takes the last box (with d1's whole-text fallback when there is none, which
  then almost never matches), else the first ``<answer>`` block, and grades with
  d1's string ``is_equiv``.
* Countdown does the same box/whole-text extraction, rewrites ``\\times``,
  ``\\div``, ``\\cdot``, and keeps only the left side of the first ``expr = number``
  in what it extracted. So an unboxed generation is judged by the first equation
  written anywhere in it. ``**`` is refused (d1 evaluates it; see
  :func:`pipeline.tasks.grading.d1_rewards.countdown_evaluate`), which changes no published verdict.
* Sudoku tries five patterns in order and counts correct cells among the blanks;
  d1 aggregates cells over all puzzles (sum correct / sum blanks).
"""

from __future__ import annotations

import re

from pipeline.tasks.grading.d1_rewards import countdown_uses_numbers, sudoku_cells
from pipeline.tasks.grading.math_grading import d1_boxed_content, d1_is_equiv

_NUM = re.compile(r"-?\d+\.?\d*")


def gsm8k_gold(answer_field: str, paper_code_bugs: bool = False) -> float | None:
    """The number after ``####`` as float (d1's ``Parser.extract_answer_gsm8k``).

    Deviation: d1's pattern has no minus sign, so a negative gold answer parses as
    None and d1 counts every generation for it as wrong. Two GSM8K test answers
    are negative (-10 and -3), both among the questions of d1's published
    generations; LLaDA answers -10 right at every length and -3 at 128 and 256.
    The sign is read by default; ``paper_code_bugs=True`` restores d1's pattern.
    """
    sign = "" if paper_code_bugs else "-?"
    match = re.search(rf"####\s*\$?({sign}[\d,]+(?:\.\d+)?)", answer_field)
    return float(match.group(1).replace(",", "")) if match else None


def _to_float(text: str, pick: int) -> float | None:
    """float(text), else the ``pick``-th number found in it, else None."""
    try:
        return float(text)
    except ValueError:
        numbers = _NUM.findall(text)
        return float(numbers[pick]) if numbers else None


def _drop_thousands_commas(text: str) -> str:
    return re.sub(r"(?<=\d),(?=\d{3}(?!\d))", "", text)


def gsm8k_parse(generation: str, paper_code_bugs: bool = False) -> float | None:
    """The numeric answer d1's GSM8K parser reads from a generation (None if none).

    Deviation: d1 does not strip thousands separators from the model's answer
    (it does from the gold), so ``\\boxed{43,500}`` reads as 43. Here they are
    removed first unless ``paper_code_bugs``; on d1's published LLaDA generations
    this turns 1 / 10 / 1 wrong answers right at length 128 / 256 / 512.
    """
    clean = (lambda t: t) if paper_code_bugs else _drop_thousands_commas
    for boxed in re.findall(r"\\boxed{(.*?)}", generation):
        boxed = clean(boxed.strip())
        if boxed and not re.fullmatch(r"\.+", boxed):
            value = _to_float(boxed, pick=0)
            if value is not None:
                return value
    match = re.search(r"<answer>(.*?)</answer>", generation, re.DOTALL)
    if match and match.group(1).strip():
        return _to_float(clean(match.group(1).strip()), pick=-1)
    return None


def gsm8k_correct(generation: str, gold: float | None, paper_code_bugs: bool = False) -> bool:
    parsed = gsm8k_parse(generation, paper_code_bugs)
    return parsed is not None and parsed == gold


def math_parse(generation: str) -> str | None:
    parsed = d1_boxed_content(generation)
    if not parsed:
        match = re.search(r"<answer>(.*?)</answer>", generation, re.DOTALL)
        if match:
            parsed = match.group(1).strip()
    return parsed


def math_correct(generation: str, gold: str) -> bool:
    parsed = math_parse(generation)
    return parsed is not None and d1_is_equiv(parsed, gold)


def countdown_parse(generation: str) -> str:
    """The expression d1's Countdown parser extracts (possibly the whole generation)."""
    expr = d1_boxed_content(generation)
    if expr is None:  # unclosed box: d1 falls back to the answer tags, then the text
        match = re.search(r"<answer>(.*?)</answer>", generation, re.DOTALL)
        expr = match.group(1).strip() if match else generation
    expr = expr.replace("\\div", "/").replace("\\times", "*").replace("\\cdot", "*")
    equation = re.search(r"([0-9+\-*/() ]+)=[0-9. ]+", expr)
    return equation.group(1).strip() if equation else expr


def countdown_correct(generation: str, numbers: list[int], target: int) -> bool:
    expr = countdown_parse(generation)
    if not countdown_uses_numbers(expr, numbers):
        return False
    if not re.match(r"^[\d+\-*/().\s]+$", expr) or "**" in expr:  # "**": see countdown_evaluate
        return False
    try:
        value = eval(expr.strip(), {"__builtins__": None}, {})  # arithmetic only, per the regex
    except Exception:
        return False
    return isinstance(value, (int, float)) and abs(value - target) < 1e-5


_SUDOKU_PATTERNS = [
    r"<answer>.*?```\s*([\d\s]+)```",
    r"<answer>(.*?)(?:<\|eot_id\|>|<\|endoftext\|>|</answer>)",
    r"</answer>\s*(.*?)(?:<\|eot_id\|>|<\|endoftext\|>|$)",
    r".*?(\d{16})\s*</answer>",
    r"\b(\d{16})\b",
]


def sudoku_parse(generation: str) -> str:
    """The grid string d1's Sudoku parser reads: first pattern with non-blank content, spaces removed."""
    for pattern in _SUDOKU_PATTERNS:
        match = re.search(pattern, generation, re.DOTALL)
        if match and match.group(1).strip():
            return re.sub(r"\s", "", match.group(1).strip())
    return ""


def sudoku_cell_counts(generation: str, puzzle: str, gold: str) -> tuple[int, int]:
    """(correct, blank) cells as d1's eval counts them."""
    return sudoku_cells(sudoku_parse(generation), puzzle, gold)
