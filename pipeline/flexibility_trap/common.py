"""Pieces the analyses share: loading models once, decoding test problems with any sampler, and
one plotting helper so every figure has labelled axes, units and a legend."""

from __future__ import annotations

import json
from functools import lru_cache

from pipeline.core.data import read_splits
from pipeline.core.runtime import dtype_of, resolve_device
from pipeline.decoding.problems import generate_texts
from pipeline.model.io import load_stage_model, mask_id, model_for_run
from pipeline.rl import run_for_task
from pipeline.sampling import Decoding, get_sampler
from pipeline.tasks import build_tasks

#: the left-to-right order the Flexibility-Trap claims compare every other order with
AR = "ar_order"


def arbitrary_order(orders) -> str | None:
    """The arbitrary order a claim compares with AR order: the first of ``orders`` that is not AR (None
    when ``orders`` lacks AR order or any other)."""
    others = [o for o in orders if o != AR]
    return others[0] if AR in orders and others else None


@lru_cache(maxsize=4)
def _model(model_dir: str, params_key: str):
    runtime = json.loads(params_key)
    model, tok = load_stage_model(model_dir, dtype_of(runtime), resolve_device(runtime))
    return model.eval(), tok


def model_and_tokenizer(params: dict, model_dir: str):
    return _model(str(model_dir), json.dumps(params["runtime"], sort_keys=True))


@lru_cache(maxsize=16)
def _test_split(data_dir: str, task_name: str, required: tuple[str, ...]) -> list[dict]:
    return read_splits(data_dir, [task_name], "test", {task_name: required})[task_name]  # once per task


def test_problems(params: dict, data_dir: str, task_name: str, n: int | None):
    task = build_tasks(params, [task_name])[task_name]
    examples = _test_split(str(data_dir), task_name, task.required_fields("test"))
    return task, examples[:n] if n else examples


def decode_samples(
    params,
    cfg,
    model_dir,
    data_dir,
    task_name,
    sampler_name,
    n_samples=1,
    temperature=0.0,
    steps=None,
    track_entropy=False,
    **option_overrides,
) -> dict:
    """Decode ``cfg['n_problems']`` test problems ``n_samples`` times each.

    Returns texts and scores grouped per problem ([problem][sample]), the Generation objects,
    the total forward passes and the mean tokens per forward. ``steps`` defaults to one token
    per step (gen_length), so orders are compared at equal compute. The sampler's options are its
    ``sampling.<name>`` section with ``option_overrides`` on top (the analyses' sweeps).
    """
    model, tok = model_and_tokenizer(params, model_for_run(model_dir, run_for_task(params["rl"], task_name)))
    task, examples = test_problems(params, data_dir, task_name, cfg.get("n_problems"))
    repeated = [ex for ex in examples for _ in range(n_samples)]
    L = cfg["gen_length"]
    sampler = get_sampler(sampler_name, {**params["sampling"][sampler_name], **option_overrides})
    spec = Decoding(mask_id(model), L, cfg["block_length"], steps or L, temperature, track_entropy)
    texts, nfe, gens = generate_texts(
        model,
        tok,
        task,
        repeated,
        sampler,
        spec,
        cfg.get("batch_size", 256),
        seed=cfg.get("seed", 0),
        desc=f"{task_name}/{sampler_name}",
    )
    scores = task.score_batch(texts, repeated)
    group = lambda xs: [xs[i : i + n_samples] for i in range(0, len(xs), n_samples)]
    return {
        "texts": group(texts),
        "scores": group(scores),
        "generations": gens,
        "nfe": nfe,
        "tokens_per_step": sum(g.tokens_per_step for g in gens) / len(gens),
        "tokenizer": tok,
    }


def plot_lines(rows, path, x, y, series, panel, xlabel, ylabel, title, logx=False, marker="o", interval=None):
    """One panel per value of ``panel``, one line per value of ``series``; ``interval`` (lo key, hi key):
    error bars from rows that carry them."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = sorted({r[panel] for r in rows})
    fig, axes = plt.subplots(1, len(panels), figsize=(4.5 * len(panels), 3.8), squeeze=False)
    for ax, p in zip(axes[0], panels):
        for s in sorted({r[series] for r in rows if r[panel] == p}):
            pts = sorted(((r[x], r[y], r) for r in rows if r[panel] == p and r[series] == s), key=lambda t: t[:2])
            xs, ys = [a for a, _, _ in pts], [b for _, b, _ in pts]
            if interval and all(interval[0] in r for _, _, r in pts):
                err = [[b - r[interval[0]] for _, b, r in pts], [r[interval[1]] - b for _, b, r in pts]]
                ax.errorbar(xs, ys, yerr=err, marker=marker, label=str(s), capsize=2)
            else:
                ax.plot(xs, ys, marker=marker, label=str(s))
        if logx:
            ax.set_xscale("log", base=2)
        ax.set_title(p)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3)
    handles, labels = axes[0][0].get_legend_handles_labels()
    # one legend under the panels, so it never hides points
    fig.legend(handles, labels, loc="lower center", ncol=min(len(labels), 3), fontsize=8)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout(rect=(0, 0.06 * ((len(labels) + 2) // 3), 1, 1))
    fig.savefig(path, dpi=120)
    plt.close(fig)
