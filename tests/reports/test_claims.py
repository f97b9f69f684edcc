"""Claims are decided by their intervals, from per-problem scores on disk."""

import json

from pipeline.reports.claims import CLAIMS, Claim, decide


def _write(root, model, task, L, scores):
    d = root / model / task / f"L{L}"
    d.mkdir(parents=True)
    with (d / "generations.jsonl").open("w") as f:
        for i, s in enumerate(scores):
            f.write(json.dumps({"id": i, "score": s}) + "\n")


def _eval_dir(tmp_path, rows):
    for model, per_task in rows.items():
        for task, scores in per_task.items():
            _write(tmp_path, model, task, 32, scores)
    return {"table1": tmp_path}


HALF = [float(i % 2) for i in range(400)]
UP = [1.0 if i % 2 or i % 8 == 0 else 0.0 for i in range(400)]  # +12.5 points on the same problems


def test_pooled_claim_holds_does_not_hold_or_stays_undecided(tmp_path):
    dirs = _eval_dir(
        tmp_path,
        {"base": {"a": HALF, "b": HALF}, "sft": {"a": UP, "b": UP}, "diffu_grpo_from_base": {"a": HALF, "b": HALF}},
    )
    sft = decide(Claim("d1", "SFT beats base", "table1", "sft", "base"), dirs, {"table1": ["a", "b"]}, [32])
    assert sft["verdict"] == "holds" and sft["effect"] == 12.5 and sft["ci_lo"] > 0
    worse = decide(Claim("d1", "base beats SFT", "table1", "base", "sft"), dirs, {"table1": ["a", "b"]}, [32])
    assert worse["verdict"] == "does not hold"
    same = decide(
        Claim("d1", "RL beats base", "table1", "diffu_grpo_from_base", "base"), dirs, {"table1": ["a", "b"]}, [32]
    )
    assert same["verdict"] == "undecided"


def test_every_setting_claim_needs_every_cell(tmp_path):
    dirs = _eval_dir(tmp_path, {"base": {"a": HALF, "b": HALF}, "diffu_grpo_from_base": {"a": UP, "b": HALF}})
    claim = Claim("d1", "in every setting", "table1", "diffu_grpo_from_base", "base", "every")
    got = decide(claim, dirs, {"table1": ["a", "b"]}, [32])
    assert got["verdict"] == "undecided" and got["detail"] == "better in 1 of 2 cells"


def test_claims_without_their_measurement_say_what_would_measure_them(tmp_path):
    got = [decide(c, {}, {}, [32]) for c in CLAIMS]
    assert all(r["verdict"] == "not measured" and r["detail"] for r in got)


def test_an_analysis_claim_takes_its_analysis_measurement_or_says_why_it_has_none():
    passk = next(c for c in CLAIMS if c.analysis == "passk")
    measured = {"effect": 12.345, "ci_lo": 3.0, "ci_hi": 20.0, "verdict": "holds", "detail": "gain"}
    got = decide(passk, {}, {}, [32], {"passk": measured})
    assert (got["verdict"], got["effect"], got["ci_lo"], got["detail"]) == ("holds", 12.35, 3.0, "gain")
    cannot = decide(passk, {}, {}, [32], {"passk": None})  # e.g. analysis.passk.orders without ar_order
    assert cannot["verdict"] == "not measured" and "analysis.passk" in cannot["detail"]
    elsewhere = decide(passk, {}, {}, [32], {})  # the main report covers no analysis
    assert elsewhere["verdict"] == "not measured" and "claims_full" in elsewhere["detail"]
