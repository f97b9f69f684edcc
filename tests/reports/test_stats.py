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


def test_the_table_names_its_widest_paired_interval():
    from pipeline.reports.results_table import to_markdown, widest_paired

    def row(model, vs, lo, hi):
        d = {"model": model, "task": "t", "gen_length": 32, "n": 100, "accuracy": 50.0, "ci_lo": 40.0}
        return {
            **d,
            "ci_hi": 60.0,
            "format_rate": 100.0,
            "vs": vs,
            "diff": 1.0,
            "diff_lo": lo,
            "diff_hi": hi,
            "verdict": "undecided",
        }

    stats = [row("base", "", "", ""), row("sft", "base", -2.0, 4.0), row("x", "base", -3.5, 5.5)]
    hw, widest = widest_paired(stats)
    assert hw == 4.5 and widest["model"] == "x"  # (5.5 - -3.5) / 2; the base row has no pair
    table = [{"model": m, "t@32": 50.0} for m in ("base", "sft", "x")]
    assert "half-width 4.5 points (x, t@32, 100 problems)" in to_markdown(table, "T", [], stats)
