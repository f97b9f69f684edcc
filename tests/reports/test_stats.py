"""The bootstrap intervals: coverage of known answers, pairing, determinism."""

import math

import numpy as np

from pipeline.reports.stats import mean_ci, paired_diff_ci, verdict


def test_mean_interval_matches_the_normal_approximation_for_a_proportion():
    scores = [1.0] * 300 + [0.0] * 700  # p = 0.3, n = 1000: 95% half-width 1.96 sqrt(p(1-p)/n) = 2.84 points
    mean, lo, hi = mean_ci(scores)
    assert mean == 30.0 and abs((hi - lo) / 2 - 1.96 * math.sqrt(0.3 * 0.7 / 1000) * 100) < 0.3
    assert mean_ci(scores) == (mean, lo, hi)  # seeded


def test_pairing_sees_a_difference_that_unpaired_intervals_do_not():
    rng = np.random.RandomState(1)
    a = (rng.rand(400) < 0.5).astype(float)
    b = a.copy()
    flip = rng.choice(np.flatnonzero(a == 0), 16, replace=False)  # b solves 16 more problems than a: +4 points
    b[flip] = 1.0
    _, _, a_hi = mean_ci(list(a))
    _, b_lo, _ = mean_ci(list(b))
    assert b_lo < a_hi  # the unpaired intervals overlap ...
    diff, lo, hi = paired_diff_ci([(list(a), list(b))])
    assert diff == 4.0 and lo > 0 and verdict(lo, hi) == "better"  # ... the paired one excludes 0


def test_pooled_cells_average_the_cells_and_no_difference_is_undecided():
    same = [float(i % 2) for i in range(100)]
    diff, lo, hi = paired_diff_ci([(same, same), (same, same)])
    assert (diff, lo, hi) == (0.0, 0.0, 0.0) and verdict(lo, hi) == "undecided"
    up = [1.0] * 100
    diff, _, _ = paired_diff_ci([(same, up), (same, same)])
    assert diff == 25.0  # (50 + 0) / 2 points
