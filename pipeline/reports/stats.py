"""Intervals and paired comparisons for per-problem scores, by the bootstrap (seeded: the same files
give the same intervals everywhere).

Scores are per problem in [0, 1] (accuracy, or Sudoku's fraction of blanks right), so a percentile
bootstrap of the mean serves every task. Paired comparisons resample *problems*: both models'
scores on a problem stay together, which is what makes a few hundred problems enough to see a
difference of a few points. Several cells (tasks x lengths) pooled: each cell is resampled on its
own and the statistic is the mean over cells (a stratified bootstrap).
"""

from __future__ import annotations

import numpy as np

N_BOOT = 2000
LEVEL = 0.95


def percentile_interval(samples: np.ndarray) -> tuple[float, float]:
    lo, hi = np.quantile(samples, [(1 - LEVEL) / 2, (1 + LEVEL) / 2])
    return float(lo), float(hi)


def mean_ci(scores: list[float], seed: int = 0) -> tuple[float, float, float]:
    """(mean, lo, hi) of per-problem scores, in % (95% percentile bootstrap)."""
    x = 100.0 * np.asarray(scores, dtype=np.float64)
    rng = np.random.RandomState(seed)
    boot = x[rng.randint(0, len(x), size=(N_BOOT, len(x)))].mean(1)
    return float(x.mean()), *percentile_interval(boot)


def paired(a: dict, b: dict) -> tuple[list[float], list[float]]:
    """Two models' {problem id: score} as paired lists over the problems both hold, in one order."""
    ids = sorted(a.keys() & b.keys(), key=str)
    return [a[i] for i in ids], [b[i] for i in ids]


def paired_diff_ci(cells: list[tuple[list[float], list[float]]], seed: int = 0) -> tuple[float, float, float]:
    """(mean difference b - a, lo, hi) in points, over one or more cells of paired scores [(a, b), ...]:
    the mean over cells of each cell's mean difference, problems resampled within each cell."""
    rng = np.random.RandomState(seed)
    point, boot = 0.0, np.zeros(N_BOOT)
    for a, b in cells:
        d = 100.0 * (np.asarray(b, dtype=np.float64) - np.asarray(a, dtype=np.float64))
        if len(d) == 0:
            raise ValueError("a cell with no paired problems")
        point += d.mean() / len(cells)
        boot += d[rng.randint(0, len(d), size=(N_BOOT, len(d)))].mean(1) / len(cells)
    return float(point), *percentile_interval(boot)


def verdict(lo: float, hi: float) -> str:
    """What an interval decides about a difference: its sign, or nothing."""
    return "better" if lo > 0 else "worse" if hi < 0 else "undecided"


#: a claim's verdict from the interval of the difference it predicts to be positive
CLAIM_VERDICT = {"better": "holds", "worse": "does not hold", "undecided": "undecided"}


def claim_result(effect: float, lo: float, hi: float, detail: str, word: str | None = None) -> dict:
    """One claim's measurement (the analyses' ``<name>_claim.json``): the verdict follows from the interval,
    or from ``word`` (``verdict``'s, for a claim that several intervals decide together)."""
    word = word or verdict(lo, hi)
    return {"effect": effect, "ci_lo": lo, "ci_hi": hi, "verdict": CLAIM_VERDICT[word], "detail": detail}
