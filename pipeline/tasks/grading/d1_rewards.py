"""d1's RL rewards (``diffu-grpo/reward_func.py``, ``math500_utils.py``), one function per term.

diffu-GRPO passes a *list* of reward functions to the TRL trainer, which sums
them; the ``*_reward`` functions at the bottom return that sum for one completion.

Deviations from the code as released with the paper, each behind a switch
(``paper_code_bugs=True`` restores the paper-code behaviour):

* **DOTALL.** d1's ``soft_format`` and ``strict_format`` regexes were compiled
  without ``re.DOTALL``, so ``.`` never crosses a newline and any multi-line
  reasoning scores 0 on both. The comment d1 later added next to these
  functions states the intent ("re.DOTALL allows `.` to match newline
  characters inside multi-line reasoning"), so DOTALL is the default here.
* **Backspace.** d1's MATH format reward tests ``"\\boxed" in answer`` written
  as the Python literal ``"\\boxed"`` with a single backslash, i.e. a backspace
  character followed by "oxed"; it never matches, so the boxed bonus is pinned
  at 0.5. Here the test is for the literal ``\\boxed`` by default.
"""

from __future__ import annotations

import re

from pipeline.tasks.grading.math_grading import d1_boxed_content, d1_is_equiv

# ------------------------------------------------------------------- extraction


def d1_xml_answer(text: str) -> str:
    """d1's ``extract_xml_answer``: after the last ``<answer>``, before the next ``</answer>``.

    Unlike :func:`pipeline.tasks.base.extract_xml_answer` it never returns None:
    with no tags it returns the whole (stripped) text, as d1 does.
    """
    return text.split("<answer>")[-1].split("</answer>")[0].strip()


def last_answer_block(text: str) -> str | None:
    """Content of the last complete ``<answer>...</answer>`` (stripped), or None (d1's
    ``extract_solution`` for Countdown and Sudoku)."""
    found = re.findall(r"<answer>(.*?)</answer>", text, re.DOTALL)
    return found[-1].strip() if found else None


# ----------------------------------------------------------------- GSM8K terms

STRICT_FORMAT = r"^<reasoning>\n.*?\n</reasoning>\n<answer>\n.*?\n</answer>\n$"
SOFT_FORMAT = r"<reasoning>.*?</reasoning>\s*<answer>.*?</answer>"


def strict_format(text: str, paper_code_bugs: bool = False) -> float:
    flags = 0 if paper_code_bugs else re.DOTALL
    return 0.5 if re.match(STRICT_FORMAT, text, flags) else 0.0


def soft_format(text: str, paper_code_bugs: bool = False) -> float:
    flags = 0 if paper_code_bugs else re.DOTALL
    return 0.5 if re.match(SOFT_FORMAT, text, flags) else 0.0


def xml_count(text: str) -> float:
    """0.125 per well-placed tag, minus 0.001 per character trailing the answer block."""
    score = 0.0
    if text.count("<reasoning>\n") == 1:
        score += 0.125
    if text.count("\n</reasoning>\n") == 1:
        score += 0.125
    if text.count("\n<answer>\n") == 1:
        score += 0.125
        score -= len(text.split("\n</answer>\n")[-1]) * 0.001
    if text.count("\n</answer>") == 1:
        score += 0.125
        score -= (len(text.split("\n</answer>")[-1]) - 1) * 0.001
    return score


def int_answer(text: str) -> float:
    return 0.5 if d1_xml_answer(text).isdigit() else 0.0


def gsm8k_correctness(text: str, gold: str) -> float:
    """2.0 when the extracted answer equals the gold string exactly (no numeric parsing, as d1)."""
    return 2.0 if d1_xml_answer(text) == gold else 0.0


def gsm8k_reward(text: str, gold: str, paper_code_bugs: bool = False) -> float:
    """Sum of d1's five GSM8K terms; 4.0 at most (0.5 + 0.5 + 0.5 + 0.5 + 2.0)."""
    return (
        xml_count(text)
        + soft_format(text, paper_code_bugs)
        + strict_format(text, paper_code_bugs)
        + int_answer(text)
        + gsm8k_correctness(text, gold)
    )


# ------------------------------------------------------------------ MATH terms


def boxed_in_answer(text: str, paper_code_bugs: bool = False) -> float:
    """d1's ``boxed_in_answer``: 1 for an ``<answer>`` tag, plus 1 if boxed else 0.5.

    The box is looked for inside the answer block, or in the whole text when there
    is no ``<answer>`` tag. With ``paper_code_bugs`` the box is never seen (the
    backspace literal, see the module docstring).
    """
    score = 0.0
    if "<answer>" in text:
        score += 1.0
        text = text.split("<answer>")[1].split("</answer>")[0]
    needle = "\boxed" if paper_code_bugs else "\\boxed"
    return score + (1.0 if needle in text else 0.5)


def math_correctness(text: str, gold_solution: str) -> float:
    """2.0 if the last boxed answer is ``is_equiv`` to the boxed answer of the gold solution."""
    pred = d1_boxed_content(text)
    if pred is None:  # d1 keeps the whole response when extraction raises
        pred = text
    gold = d1_boxed_content(gold_solution)
    return 2.0 if d1_is_equiv(pred, gold) else 0.0


def math_reward(text: str, gold_solution: str, paper_code_bugs: bool = False) -> float:
    """correctness (2.0) + 0.5 * boxed_in_answer; 3.0 at most (0.75 + ... under the paper bug)."""
    return math_correctness(text, gold_solution) + 0.5 * boxed_in_answer(text, paper_code_bugs)


# ------------------------------------------------------------ Countdown, Sudoku


def countdown_uses_numbers(expr: str, numbers: list[int]) -> bool:
    """Every given number used exactly once, and no other number."""
    return sorted(int(n) for n in re.findall(r"\d+", expr)) == sorted(numbers)


def countdown_evaluate(expr: str) -> float | None:
    """Value of an arithmetic expression of digits, + - * / ( ) . and spaces; None if invalid.

    Deviation: ``**`` is refused. d1's character whitelist lets it through, but the
    task only allows + - * /, and ``100**100**100`` would hang the reward.
    """
    if not re.match(r"^[\d+\-*/().\s]+$", expr) or "**" in expr:
        return None
    try:
        value = eval(expr, {"__builtins__": None}, {})  # safe: the regex allows arithmetic only
    except Exception:  # syntax error, division by zero, ...
        return None
    return value if isinstance(value, (int, float)) else None  # "(1, 2)" evaluates to a tuple


def countdown_reward(text: str, numbers: list[int], target: int) -> float:
    """d1's ``compute_score``: 1.0 correct, 0.1 an answer block that is wrong, 0 no answer block."""
    expr = last_answer_block(text)
    if expr is None:
        return 0.0
    if not countdown_uses_numbers(expr, numbers):
        return 0.1
    value = countdown_evaluate(expr)
    if value is None:
        return 0.1
    return 1.0 if abs(value - target) < 1e-5 else 0.1


def sudoku_cells(solution: str | None, puzzle: str, gold: str) -> tuple[int, int]:
    """(correct, blank) cells of a 16-digit answer: padded with 0 / cut to 16 as d1 does."""
    blanks = [i for i, c in enumerate(puzzle) if c == "0"]
    if not solution:
        return 0, len(blanks)
    solution = solution[:16].ljust(16, "0")
    return sum(solution[i] == gold[i] for i in blanks), len(blanks)


def sudoku_reward(text: str, puzzle: str, gold: str) -> float:
    """Fraction of the blank cells filled correctly, reading the digits of the last answer block."""
    block = last_answer_block(text)
    digits = None if block is None else "".join(c for c in block if c.isdigit())
    correct, blanks = sudoku_cells(digits, puzzle, gold)
    return correct / blanks if blanks else 0.0
