"""4x4 Sudoku in d1's format: a 16-character puzzle with 0 for blanks, answered as 16 digits.

Score and reward (as d1): the fraction of the blank cells filled correctly.
The trace lists the values of the blanks in reading order, then writes the grid.
"""

from __future__ import annotations

import hashlib
import itertools
import random
from typing import ClassVar

from pipeline.tasks.tiny.common import TinyTask

#: options of data.tasks.tiny_sudoku (JSON Schema; read by the params validator without importing)
OPTIONS = {
    "min_blanks": {
        "type": "integer",
        "minimum": 1,
        "maximum": 16,
        "default": 6,
        "description": "fewest blank cells per puzzle",
    },
    "max_blanks": {
        "type": "integer",
        "minimum": 1,
        "maximum": 16,
        "default": 10,
        "description": "most blank cells per puzzle",
    },
    "grids": {
        "enum": ["orbit", "all"],
        "default": "orbit",
        "description": "solution grids drawn: orbit (the 96 of one symmetry class) or all (the 288 valid "
        "4x4 grids: 190 train, 35 validation, 63 test)",
    },
    "pad_fills": {
        "type": "boolean",
        "default": False,
        "description": "pad the trace's fills with '.' to max_blanks, so every trace has one length (SFT "
        "placed the tags of variable-length traces at the wrong positions); the answer is unchanged",
    },
}

# The 288 valid 4x4 grids form two classes under the symmetries _transform draws (relabelling digits,
# swapping bands, stacks, rows within a band, columns within a stack, transposing): 96 grids reachable
# from the first base, 192 from the second. ``grids: all`` draws a base in proportion to its class and
# then a symmetry, which gives every grid the same chance; ``orbit`` (the default, the data every
# measured number in README was made with) only the first class: 62 train, 13 validation, 21 test grids.
_BASES = ("1234341221434321", "1234341223414123")
_CLASS_SIZES = (96, 192)


def _transform(grid: str, rng: random.Random) -> str:
    rows = [list(grid[4 * r : 4 * r + 4]) for r in range(4)]
    digits = rng.sample("1234", 4)
    rows = [[digits[int(c) - 1] for c in row] for row in rows]
    bands = rng.sample([0, 1], 2)
    rows = [rows[2 * b + i] for b in bands for i in rng.sample([0, 1], 2)]
    stacks = rng.sample([0, 1], 2)
    cols = [2 * s + i for s in stacks for i in rng.sample([0, 1], 2)]
    rows = [[row[c] for c in cols] for row in rows]
    if rng.random() < 0.5:
        rows = [list(col) for col in zip(*rows)]
    return "".join(itertools.chain.from_iterable(rows))


def count_solutions(puzzle: str, limit: int = 2) -> int:
    """Number of completions of ``puzzle`` (stops counting at ``limit``)."""
    cells = list(puzzle)
    try:
        i = cells.index("0")
    except ValueError:
        return 1
    r, c = divmod(i, 4)
    box = [4 * (2 * (r // 2) + dr) + 2 * (c // 2) + dc for dr in (0, 1) for dc in (0, 1)]
    used = {cells[4 * r + k] for k in range(4)} | {cells[4 * k + c] for k in range(4)} | {cells[j] for j in box}
    total = 0
    for d in "1234":
        if d not in used:
            cells[i] = d
            total += count_solutions("".join(cells), limit - total)
            if total >= limit:
                break
    return total


def is_valid_solution(grid: str) -> bool:
    if len(grid) != 16 or set(grid) - set("1234"):
        return False
    units = [[4 * r + c for c in range(4)] for r in range(4)] + [[4 * r + c for r in range(4)] for c in range(4)]
    units += [[4 * (br + dr) + bc + dc for dr in (0, 1) for dc in (0, 1)] for br in (0, 2) for bc in (0, 2)]
    return all({grid[i] for i in u} == set("1234") for u in units)


def cell_accuracy(answer: str | None, puzzle: str, solution: str) -> float:
    """d1's Sudoku metric: correct blanks / blanks; a missing or malformed answer scores 0
    on the cells it does not cover."""
    blanks = [i for i, ch in enumerate(puzzle) if ch == "0"]
    if not blanks:
        return 1.0
    digits = "".join(ch for ch in (answer or "") if ch.isdigit())
    correct = sum(1 for i in blanks if i < len(digits) and digits[i] == solution[i])
    return correct / len(blanks)


def grid_split(grid: str) -> str:
    """The split whose puzzles may use this solution grid: a fixed quarter of the grids is kept for
    test puzzles and an eighth for validation puzzles. 20k training puzzles would otherwise cover every
    grid, so a held-out puzzle's answer would have been seen in training, and a checkpoint chosen on
    such puzzles is chosen on partly memorised answers (validation sat 2-6 points above test)."""
    h = int(hashlib.sha256(grid.encode()).hexdigest(), 16) % 8
    return "test" if h % 4 == 0 else "validation" if h == 1 else "train"


class TinySudoku(TinyTask):
    """Options: ``min_blanks``/``max_blanks`` (default 6/10), ``grids`` (orbit: 96, all: 288), ``pad_fills``; puzzles
    are always uniquely solvable; test and validation puzzles come from solution grids no training
    puzzle uses (``grid_split``)."""

    answer_shape = r"[1-4]{16}"  # the filled grid, row by row

    name = "tiny_sudoku"
    splits = ("train", "validation", "test")  # validation is generated, not held out of train
    fields: ClassVar = {"train": ("completion", "puzzle"), "test": ("puzzle",)}

    def make(self, rng: random.Random, split: str) -> dict | None:
        every = self.options.get("grids", "orbit") == "all"
        solution = _transform(rng.choices(_BASES, weights=_CLASS_SIZES)[0] if every else _BASES[0], rng)
        if grid_split(solution) != split:
            return None
        k = rng.randint(int(self.options.get("min_blanks", 6)), int(self.options.get("max_blanks", 10)))
        blanks = sorted(rng.sample(range(16), k))
        puzzle = "".join("0" if i in blanks else ch for i, ch in enumerate(solution))
        if count_solutions(puzzle) != 1:
            return None
        fills = "".join(solution[i] for i in blanks)
        if self.options.get("pad_fills", False):
            fills = fills.ljust(int(self.options.get("max_blanks", 10)), ".")
        return {
            "prompt": f"sudoku {puzzle}",
            "puzzle": puzzle,
            "answer": solution,
            "completion": f"<reasoning>{fills} so</reasoning><answer>{solution}</answer>",
        }

    def reward(self, completion: str, example: dict) -> float:
        return cell_accuracy(self.extract_answer(completion), example["puzzle"], example["answer"])

    def score(self, completion: str, example: dict) -> float:
        return self.reward(completion, example)
