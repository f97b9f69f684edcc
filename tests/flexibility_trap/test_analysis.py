"""The analyses' pure parts: the pass@k estimator and connector-token lookup."""

import math

import pytest

from pipeline.flexibility_trap.connector_entropy import connector_ids
from pipeline.flexibility_trap.passk import ks_up_to, pass_at_k


@pytest.mark.parametrize(
    "n,c,k,expected",
    [
        (5, 2, 1, 2 / 5),  # pass@1 = c / n
        (5, 2, 2, 1 - 3 / 10),  # 1 - C(3,2)/C(5,2)
        (5, 2, 4, 1.0),  # n - c < k: some correct sample is always drawn
        (4, 0, 2, 0.0),
        (10, 3, 3, 1 - 35 / 120),  # 1 - C(7,3)/C(10,3)
        (16, 16, 1, 1.0),
    ],
)
def test_pass_at_k_by_hand(n, c, k, expected):
    assert math.isclose(pass_at_k(n, c, k), expected, rel_tol=1e-12)


def test_pass_at_k_rejects_k_above_n():
    with pytest.raises(ValueError):
        pass_at_k(4, 1, 5)


def test_ks_are_powers_of_two_up_to_n():
    assert ks_up_to(16) == [1, 2, 4, 8, 16]
    assert ks_up_to(6) == [1, 2, 4, 6]


def test_connector_ids_find_the_words(tiny):
    _, tok = tiny
    ids = connector_ids(tok, ["so", "then", "therefore", "notaword"])
    assert sorted(ids.values()) == ["so", "then", "therefore"]
    assert tok.convert_ids_to_tokens(next(i for i, w in ids.items() if w == "so")) == "so"


def test_every_figure_plots_from_its_csv_rows(tmp_path):
    """Each analysis turns rows shaped like its CSV into a PNG (labelled axes, legend)."""
    from pipeline.flexibility_trap import get_analysis

    rows = {
        "passk": [
            {"task": t, "order": o, "k": k, "pass_at_k": 10.0 * k}
            for t in ("a", "b")
            for o in ("ar_order", "low_confidence")
            for k in (1, 2, 4)
        ],
        "parallel_decoding": [
            {
                "model": m,
                "task": "a",
                "sampler": s,
                "tokens_per_step": x,
                "accuracy": 50.0 + x,
                "accuracy_lo": 45.0,
                "accuracy_hi": 60.0,
            }
            for m in ("base", "just_grpo_from_base")
            for s in ("entropy_bounded", "threshold")
            for x in (1.5, 3.0)
        ],
        "connector_entropy": [
            {
                "task": "a",
                "order": o,
                "connector": c,
                "count": 3,
                "mean_entropy_nats": 1.0,
                "mean_commit_step_frac": 0.5,
            }
            for o in ("ar_order", "low_confidence")
            for c in ("so", "then")
        ],
    }
    cfg = {
        "model": "base",
        "n_samples": 4,
        "temperature": 1.0,
        "gen_length": 32,
        "orders": ["ar_order", "low_confidence"],
        "connectors": ["so", "then"],
    }
    for name, r in rows.items():
        get_analysis(name).plot(r, cfg, tmp_path / f"{name}.png")
        assert (tmp_path / f"{name}.png").stat().st_size > 10_000


def test_a_parallel_decoding_point_is_compared_with_one_token_per_step_on_the_same_problems():
    from pipeline.flexibility_trap.parallel_decoding import _row

    out = {"scores": [[1.0], [0.0], [0.0], [0.0]], "nfe": 8 * 2, "generations": [0, 1], "tokens_per_step": 4.0}
    row = _row("base", "a", "threshold", "threshold=0.9", out, [1.0, 1.0, 0.0, 0.0], ref_nfe=32.0)
    assert row["accuracy"] == 25.0 and row["diff_vs_one_per_step"] == -25.0
    assert row["fewer_forwards"] == 4.0  # 32 forwards per batch against 8
    assert row["accuracy_lo"] <= 25.0 <= row["accuracy_hi"] and row["diff_lo"] <= -25.0 <= row["diff_hi"]
    assert row["equal_accuracy"] == (row["diff_hi"] >= 0)
