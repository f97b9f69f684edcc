"""Accuracy vs tokens per forward pass under training-free parallel samplers (claim c).

For each model and task, sweep the entropy-bounded (EB) sampler's gamma and the confidence
threshold; the x axis is the *measured* mean number of tokens committed per forward pass,
not the nominal setting. Greedy decoding. Each (model, task) also decodes the same problems with
one token per step (the low-confidence sampler, steps = gen_length), the reference every sweep point
is compared with: its accuracy with a 95% bootstrap interval, the paired difference from the
reference with its interval, and how many times fewer forward passes it ran (``fewer_forwards``).
A point is "at equal accuracy" when that paired interval reaches 0 or above (``equal_accuracy``).

The claim (JustGRPO's advantage holds under parallel decoding): JustGRPO's model minus diffu-GRPO's
from the same start, paired on the same problems, averaged over every task and parallel setting
(the one-token-per-step reference left out; its difference is in the detail).
"""

from __future__ import annotations

from pipeline.flexibility_trap.common import decode_samples, plot_lines
from pipeline.reports.stats import claim_result, mean_ci, paired_diff_ci

REFERENCE = ("low_confidence", "one token per step")


def _row(model_name, task_name, sampler, setting, out, ref_scores, ref_nfe) -> dict:
    scores = [s[0] for s in out["scores"]]
    acc, lo, hi = mean_ci(scores)
    diff, dlo, dhi = paired_diff_ci([(ref_scores, scores)])
    nfe = out["nfe"] / len(out["generations"])
    return {
        "model": model_name,
        "task": task_name,
        "sampler": sampler,
        "setting": setting,
        "tokens_per_step": out["tokens_per_step"],
        "accuracy": acc,
        "accuracy_lo": lo,
        "accuracy_hi": hi,
        "diff_vs_one_per_step": diff,
        "diff_lo": dlo,
        "diff_hi": dhi,
        "equal_accuracy": dhi >= 0,
        "nfe": nfe,
        "fewer_forwards": ref_nfe / nfe,
        "problems": len(scores),
    }


def claim(scores: dict[tuple, list[float]], model_names: list[str]) -> dict | None:
    """JustGRPO vs diffu-GRPO from the per-problem scores keyed (model, task, sampler, setting); None when
    ``model_names`` holds no such pair from one start."""
    starts = [m.removeprefix("just_grpo_from_") for m in model_names if m.startswith("just_grpo_from_")]
    start = next((s for s in starts if f"diffu_grpo_from_{s}" in model_names), None)
    if start is None:
        return None
    just, diffu = f"just_grpo_from_{start}", f"diffu_grpo_from_{start}"
    settings = sorted({key[1:] for key in scores if key[0] == just})
    cell = lambda setting: (scores[(diffu, *setting)], scores[(just, *setting)])
    parallel = [cell(st) for st in settings if st[1:] != REFERENCE]
    reference = [cell(st) for st in settings if st[1:] == REFERENCE]
    effect, lo, hi = paired_diff_ci(parallel)
    ref, ref_lo, ref_hi = paired_diff_ci(reference)
    detail = (
        f"{just} minus {diffu} over {len(parallel)} task x parallel-setting cells; at one token per step "
        f"{ref:+.1f} [{ref_lo:+.1f}, {ref_hi:+.1f}]"
    )
    return claim_result(effect, lo, hi, detail)


def run(params, cfg, models, data_dir) -> tuple[list[dict], dict | None]:
    sweeps = [("entropy_bounded", "gamma", g) for g in cfg["eb_gammas"]]
    sweeps += [("threshold", "threshold", t) for t in cfg["thresholds"]]
    rows, scores = [], {}  # scores: (model, task, sampler, setting) -> per-problem scores
    for model_name in cfg["models"]:
        for task_name in cfg["tasks"]:
            ref = decode_samples(params, cfg, models[model_name], data_dir, task_name, REFERENCE[0])
            ref_scores, ref_nfe = [s[0] for s in ref["scores"]], ref["nfe"] / len(ref["generations"])
            scores[(model_name, task_name, *REFERENCE)] = ref_scores
            reference = _row(model_name, task_name, *REFERENCE, ref, ref_scores, ref_nfe)
            rows.append(reference)
            for sampler, knob, value in sweeps:
                out = decode_samples(params, cfg, models[model_name], data_dir, task_name, sampler, **{knob: value})
                scores[(model_name, task_name, sampler, f"{knob}={value}")] = [s[0] for s in out["scores"]]
                rows.append(_row(model_name, task_name, sampler, f"{knob}={value}", out, ref_scores, ref_nfe))
            best = max(
                (r for r in rows[-len(sweeps) :] if r["equal_accuracy"]),
                key=lambda r: r["fewer_forwards"],
                default=None,
            )
            if best is not None:
                print(
                    f"[parallel_decoding] {model_name}/{task_name}: {best['fewer_forwards']:.1f}x fewer forwards at "
                    f"equal accuracy ({best['sampler']} {best['setting']}: {best['accuracy']:.1f}% vs "
                    f"{reference['accuracy']:.1f}%, paired diff {best['diff_vs_one_per_step']:+.1f} "
                    f"[{best['diff_lo']:+.1f}, {best['diff_hi']:+.1f}])"
                )
    return rows, claim(scores, cfg["models"])


def plot(rows, cfg, path) -> None:
    label = {"entropy_bounded": "EB", "threshold": "threshold", REFERENCE[0]: "1 token/step"}
    for r in rows:
        r["curve"] = f"{r['model']} / {label[r['sampler']]}"
    plot_lines(
        rows,
        path,
        x="tokens_per_step",
        y="accuracy",
        series="curve",
        panel="task",
        xlabel="measured tokens per forward pass",
        ylabel="accuracy (%), 95% CI",
        title=f"Accuracy vs parallelism (gen length {cfg['gen_length']}, greedy; EB gamma and "
        f"confidence threshold sweeps)",
        interval=("accuracy_lo", "accuracy_hi"),
    )
    for r in rows:
        del r["curve"]
