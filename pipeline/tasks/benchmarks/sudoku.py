"""4x4 Sudoku: fill the 0 cells of a 16-digit grid with 1-4.

Sources:
  * test: d1's ``dataset/4x4_test_sudoku.csv`` (500 puzzles; columns Puzzle,
    Solution), from ``data_dir/sudoku/`` or d1's GitHub file. d1's eval scores 256
    of them: ``np.random.seed(42)`` then ``np.random.choice(500, 256, replace=False)``
    (``eval/eval.py`` seeds once, then the dataset draws its subsample). The test
    split is exactly those 256, in that order; ``id`` is the row index in the file.
  * train: d1's ``dataset/4x4_sudoku_unique_puzzles.csv`` from ``data_dir/sudoku/``
    or d1's GitHub file. Not in ../shared/data (the snapshot lacked its content),
    so offline the train split is unavailable.

d1 only, protocol :class:`D1Sudoku`. The eval and RL prompts are the same
(SUDOKU_SYSTEM_PROMPT + "Solve the following Sudoku puzzle: <grid>"); eval prefills
``<reasoning>``. Reward: fraction of blank cells right in the digits of the last
``<answer>`` block. Score: d1's eval parser (five patterns in turn) and the same
cell fraction. d1 aggregates
the score over cells, not puzzles (sum correct / sum blanks); ``score_weight``
gives each puzzle's blank count so a weighted mean of ``score`` is d1's number.
(Every puzzle of d1's test file has 8 blanks, so there the plain mean agrees.)
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from pipeline.tasks.benchmarks.base import D1Protocol, PaperTask, take
from pipeline.tasks.grading import d1_eval, d1_rewards

#: options of data.tasks.sudoku (JSON Schema; read by the params validator without importing)
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

D1_DATASET_URL = "https://raw.githubusercontent.com/dllm-reasoning/d1/main/dataset/"
EVAL_SUBSAMPLE, EVAL_SEED = 256, 42

# d1 eval/sudoku.py and diffu-grpo/data_utils.py, verbatim (it starts with a newline).
PROMPT = """
Please solve the following 4x4 Sudoku puzzle. The puzzle is provided as a 16-character string reading left-to-right, top-to-bottom, where '0' represents empty cells.

Rules:
- Fill empty cells with digits 1-4
- Each row must contain digits 1-4 exactly once
- Each column must contain digits 1-4 exactly once
- Each 2x2 box must contain digits 1-4 exactly once

Important: Your solution must be a COMPLETE 16-character string with only the digits 1-4, representing your final solved grid.

Respond in this exact format:
<reasoning>
Your step-by-step solving process
</reasoning>
<answer>
[16-character solution string with no spaces or separators]
</answer>
"""


def d1_eval_indices(n_rows: int) -> list[int]:
    """Rows d1's eval scores, in its order (legacy global-seed numpy draw, replicated)."""
    return np.random.RandomState(EVAL_SEED).choice(n_rows, EVAL_SUBSAMPLE, replace=False).tolist()


class D1Sudoku(D1Protocol):
    def system_prompt(self, mode: str) -> str | None:
        return PROMPT

    def extract_answer(self, completion: str) -> str | None:
        return d1_eval.sudoku_parse(completion) or None

    def reward(self, completion: str, example: dict) -> float:
        return d1_rewards.sudoku_reward(completion, example["puzzle"], example["answer"])

    def cell_counts(self, completion: str, example: dict) -> tuple[int, int]:
        """(correct, blank) cells under d1's eval parser."""
        return d1_eval.sudoku_cell_counts(completion, example["puzzle"], example["answer"])

    def score(self, completion: str, example: dict) -> float:
        correct, blanks = self.cell_counts(completion, example)
        return correct / blanks if blanks else 0.0


class Sudoku(PaperTask):
    name = "sudoku"
    splits = ("train", "test")
    protocols: ClassVar = {"d1": D1Sudoku}
    fields: ClassVar = {"train": ("puzzle",), "test": ("puzzle",)}

    def _rows(self, filename: str) -> list[dict]:
        # the grids are read as strings: as integers their leading zeros would be lost
        from datasets import Features, Value

        grids = Features({"Puzzle": Value("string"), "Solution": Value("string")})
        path = self._local(f"sudoku/{filename}")
        if path:
            return self._read(path, ("Puzzle", "Solution"), features=grids)
        return self._hub(f"d1's {filename}", "csv", data_files=D1_DATASET_URL + filename, split="train", features=grids)

    def load(self, split: str, n: int | None = None, seed: int = 0) -> list[dict]:
        self._check_split(split)
        if split == "test":
            rows = self._rows("4x4_test_sudoku.csv")
            order = d1_eval_indices(len(rows))
        else:
            rows = self._rows("4x4_sudoku_unique_puzzles.csv")
            order = range(len(rows))
        examples = [
            {
                "id": i,
                "prompt": f"Solve the following Sudoku puzzle: {rows[i]['Puzzle']}\n",
                "answer": rows[i]["Solution"],
                "puzzle": rows[i]["Puzzle"],
            }
            for i in order
        ]
        return take(examples, n, seed)

    def cell_counts(self, completion: str, example: dict) -> tuple[int, int]:
        """(correct, blank) cells under d1's eval parser."""
        return self.protocol.cell_counts(completion, example)

    def score_weight(self, example: dict) -> int:
        """Blank cells of the puzzle: the weight d1's cell-level aggregate gives it."""
        return example["puzzle"].count("0")
