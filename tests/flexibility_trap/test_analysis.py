"""The analyses' pure parts (the pass@k estimator, connector-token lookup) and the claims each decides."""

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


def test_the_pass_at_k_claim_compares_each_problems_growth_under_both_orders():
    from pipeline.flexibility_trap.passk import claim

    # n = 4; AR: c = 1 on every problem: pass@1 0.25, pass@4 1 -> growth 75 points; arbitrary: c = 4 or 0
    # (pass@1 = pass@4): growth 0. The difference is 75 points on every problem, so the interval is 75.
    correct = {("a", "ar_order"): [1] * 10, ("a", "low_confidence"): [4, 0] * 5}
    got = claim(correct, 4, ["ar_order", "low_confidence"])
    assert got["effect"] == 75.0 and got["ci_lo"] == got["ci_hi"] == 75.0 and got["verdict"] == "holds"
    assert claim(correct, 4, ["low_confidence"]) is None  # no AR order: nothing to decide


def test_the_connector_claim_needs_later_and_lower_together():
    from pipeline.flexibility_trap.connector_entropy import claim

    # AR: each problem commits its connector at 20% of the steps with entropy 1.0; arbitrary at 60% with 0.2
    ar = [[(1.0, 0.2)] for _ in range(30)]
    later_lower = {"ar_order": ar, "low_confidence": [[(0.2, 0.6)] for _ in range(30)]}
    got = claim(later_lower)
    assert abs(got["effect"] - 40.0) < 1e-9 and got["verdict"] == "holds" and "+0.80 nats" in got["detail"]
    # later but at *higher* entropy: the entropy half contradicts the claim
    later_higher = {"ar_order": ar, "low_confidence": [[(1.5, 0.6)] for _ in range(30)]}
    assert claim(later_higher)["verdict"] == "does not hold"
    # occurrences are averaged over the resampled problems: a problem with two counts twice
    uneven = {"ar_order": [[(1.0, 0.2), (1.0, 0.4)], [(1.0, 0.0)]], "low_confidence": [[(0.5, 0.5)], []]}
    assert abs(claim(uneven)["effect"] - (50.0 - 100 * 0.6 / 3)) < 1e-9


def test_the_parallel_decoding_claim_pairs_justgrpo_with_diffu_grpo_from_the_same_start():
    from pipeline.flexibility_trap.parallel_decoding import REFERENCE, claim

    ones, halves = [1.0] * 8, [1.0, 0.0] * 4
    scores = {}
    for setting in (REFERENCE, ("threshold", "threshold=0.9"), ("entropy_bounded", "gamma=1.0")):
        scores[("just_grpo_from_base", "a", *setting)] = ones
        scores[("diffu_grpo_from_base", "a", *setting)] = halves if setting != REFERENCE else ones
    got = claim(scores, ["base", "diffu_grpo_from_base", "just_grpo_from_base"])
    assert got["effect"] == 50.0 and got["verdict"] == "holds"  # the two parallel settings only
    assert "at one token per step +0.0" in got["detail"]
    assert claim(scores, ["base", "just_grpo_from_base"]) is None


def test_connector_run_keeps_each_problems_occurrences_across_batches(tiny, monkeypatch):
    from types import SimpleNamespace

    import torch

    from pipeline.flexibility_trap import connector_entropy

    _, tok = tiny
    so = next(i for i, w in connector_entropy.connector_ids(tok, ["so"]).items())

    def decode(params, cfg, model_dir, data_dir, task_name, order, track_entropy):
        # two batches of two problems; completion of 4 tokens after a 2-token prompt, "so" at position 1
        late = order != "ar_order"
        gens = []
        for _ in range(2):
            seq = torch.zeros(2, 6, dtype=torch.long)
            seq[:, 3] = so
            step = torch.tensor([[0, 3 if late else 1, 2, 3]] * 2)
            entropy = torch.full((2, 4), 0.5 if late else 1.5)
            gens.append(SimpleNamespace(sequences=seq, commit_step=step, commit_entropy=entropy, nfe=4))
        return {"generations": gens, "tokenizer": tok}

    monkeypatch.setattr(connector_entropy, "decode_samples", decode)
    cfg = {"tasks": ["a"], "orders": ["ar_order", "low_confidence"], "model": "sft", "connectors": ["so"]}
    rows, claim = connector_entropy.run({}, cfg, {"sft": "unused"}, "unused")
    assert [r["count"] for r in rows] == [4, 4]  # one "so" in each of the four problems, per order
    assert claim["effect"] == 50.0 and claim["verdict"] == "holds"  # step 3 of 4 against step 1 of 4
    assert "4 / 4 occurrences in 4 problems" in claim["detail"] and "+1.00 nats" in claim["detail"]
