"""Accuracy vs tokens per forward pass under training-free parallel samplers (claim c).

For each model and task, sweep the entropy-bounded (EB) sampler's gamma and the confidence
threshold; the x axis is the *measured* mean number of tokens committed per forward pass,
not the nominal setting. Greedy decoding.
"""

from __future__ import annotations

from pipeline.flexibility_trap.common import decode_samples, plot_lines


def run(params, cfg, models, data_dir) -> list[dict]:
    sweeps = [("entropy_bounded", "gamma", g) for g in cfg["eb_gammas"]]
    sweeps += [("threshold", "threshold", t) for t in cfg["thresholds"]]
    rows = []
    for model_name in cfg["models"]:
        for task_name in cfg["tasks"]:
            for sampler, knob, value in sweeps:
                out = decode_samples(params, cfg, models[model_name], data_dir, task_name, sampler, **{knob: value})
                scores = [s[0] for s in out["scores"]]
                rows.append(
                    {
                        "model": model_name,
                        "task": task_name,
                        "sampler": sampler,
                        "setting": f"{knob}={value}",
                        "tokens_per_step": out["tokens_per_step"],
                        "accuracy": 100 * sum(scores) / len(scores),
                        "nfe": out["nfe"] / len(out["generations"]),
                        "problems": len(scores),
                    }
                )
    return rows


def plot(rows, cfg, path) -> None:
    for r in rows:
        r["curve"] = f"{r['model']} / {'EB' if r['sampler'] == 'entropy_bounded' else 'threshold'}"
    plot_lines(
        rows,
        path,
        x="tokens_per_step",
        y="accuracy",
        series="curve",
        panel="task",
        xlabel="measured tokens per forward pass",
        ylabel="accuracy (%)",
        title=f"Accuracy vs parallelism (gen length {cfg['gen_length']}, greedy; EB gamma and "
        f"confidence threshold sweeps)",
    )
    for r in rows:
        del r["curve"]
