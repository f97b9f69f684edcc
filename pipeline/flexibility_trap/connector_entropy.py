"""When and how confidently connector tokens are committed: AR order vs arbitrary order (claim b).

The Flexibility-Trap argument: decoding in arbitrary (low-confidence) order postpones the
"forking" connector tokens ("therefore", "so", ...) until the tokens around them are fixed, so
they are committed late, at collapsed entropy -- the model never really chooses them. AR order
must commit each at its position, with the entropy the choice really has. For each connector
occurrence in greedy decodes we record the entropy (nats) of the predictive distribution at
the step it was committed and that step as a fraction of all steps.

The claim (connectors are committed later and at lower entropy under arbitrary order): the mean commit
step (% of the steps) under the arbitrary order minus under AR order, and the mean entropy at commit
under AR order minus under the arbitrary order, over every connector occurrence of every task; both
intervals by one bootstrap over problems (the same problems under both orders). It holds when both
differences are above 0, does not when either is below.
"""

from __future__ import annotations

from statistics import mean

import numpy as np

from pipeline.flexibility_trap.common import AR, arbitrary_order, decode_samples
from pipeline.reports.stats import N_BOOT, claim_result, percentile_interval, verdict


def connector_ids(tokenizer, words: list[str]) -> dict[int, str]:
    """First token id of each connector (with and without a leading space, as BPE vocabularies differ)."""
    ids = {}
    for w in words:
        for variant in (w, " " + w):
            toks = tokenizer(variant, add_special_tokens=False).input_ids
            if toks and tokenizer.decode(toks[:1]).strip() == w:
                ids[toks[0]] = w
    return ids


def claim(hits: dict[str, list[list[tuple[float, float]]]], seed: int = 0) -> dict | None:
    """The later-and-lower claim from ``hits``: order -> per problem (problems in one order, every task's
    in turn) its connector occurrences' (entropy, commit step fraction); None without an AR order and an
    arbitrary one."""
    arb = arbitrary_order(list(hits))
    if arb is None:
        return None
    # per order: [problems, 3] = occurrences, their summed commit fraction, their summed entropy
    sums = {
        o: np.array([[len(p), sum(f for _, f in p), sum(e for e, _ in p)] for p in hits[o]], dtype=np.float64)
        for o in (AR, arb)
    }
    if sums[AR][:, 0].sum() == 0 or sums[arb][:, 0].sum() == 0:
        return None

    def differences(rows) -> tuple[np.ndarray, np.ndarray]:  # rows [R, n] of problem indices -> (later, lower) [R]
        mean = lambda o, col: sums[o][rows, col].sum(-1) / np.maximum(sums[o][rows, 0].sum(-1), 1)
        return 100 * (mean(arb, 1) - mean(AR, 1)), mean(AR, 2) - mean(arb, 2)

    n = len(sums[AR])
    later, lower = (float(d[0]) for d in differences(np.arange(n)[None]))
    boot_later, boot_lower = differences(np.random.RandomState(seed).randint(0, n, size=(N_BOOT, n)))
    (lo, hi), (elo, ehi) = percentile_interval(boot_later), percentile_interval(boot_lower)
    votes = {verdict(lo, hi), verdict(elo, ehi)}
    word = "worse" if "worse" in votes else "better" if votes == {"better"} else "undecided"
    detail = (
        f"commit step later by {later:+.1f}% of the steps under {arb}; entropy at commit lower by "
        f"{lower:+.2f} nats [{elo:+.2f}, {ehi:+.2f}]; {int(sums[AR][:, 0].sum())} / {int(sums[arb][:, 0].sum())} "
        f"occurrences in {n} problems"
    )
    return claim_result(later, lo, hi, detail, word)


def run(params, cfg, models, data_dir) -> tuple[list[dict], dict | None]:
    rows, by_order = [], {}  # order -> per problem, its occurrences (entropy, commit fraction)
    for task_name in cfg["tasks"]:
        for order in cfg["orders"]:
            out = decode_samples(params, cfg, models[cfg["model"]], data_dir, task_name, order, track_entropy=True)
            ids = connector_ids(out["tokenizer"], cfg["connectors"])
            found: dict[str, list[tuple[float, float]]] = {}
            problems = by_order.setdefault(order, [])
            for g in out["generations"]:
                P = g.sequences.shape[1] - g.commit_step.shape[1]
                comp = g.sequences[:, P:]
                first = len(problems)
                problems.extend([] for _ in range(comp.shape[0]))
                for b, pos in (comp.unsqueeze(-1) == comp.new_tensor(list(ids))).any(-1).nonzero().tolist():
                    word = ids[int(comp[b, pos])]
                    hit = (float(g.commit_entropy[b, pos]), float(g.commit_step[b, pos]) / max(g.nfe, 1))
                    found.setdefault(word, []).append(hit)
                    problems[first + b].append(hit)
            for word in cfg["connectors"]:
                hits = found.get(word, [])
                rows.append(
                    {
                        "task": task_name,
                        "order": order,
                        "connector": word,
                        "count": len(hits),
                        "mean_entropy_nats": mean(e for e, _ in hits) if hits else float("nan"),
                        "mean_commit_step_frac": mean(s for _, s in hits) if hits else float("nan"),
                        "model": cfg["model"],
                    }
                )
    return rows, claim(by_order)


def plot(rows, cfg, path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    orders = cfg["orders"]
    tasks = sorted({r["task"] for r in rows})
    fig, axes = plt.subplots(2, len(tasks), figsize=(4.5 * len(tasks), 6.5), squeeze=False)
    width = 0.8 / len(orders)
    for col, task in enumerate(tasks):
        for row, (metric, label) in enumerate(
            [("mean_entropy_nats", "entropy at commit (nats)"), ("mean_commit_step_frac", "commit step / total steps")]
        ):
            ax = axes[row][col]
            x = np.arange(len(cfg["connectors"]))
            for i, order in enumerate(orders):
                cells = [
                    next((r for r in rows if r["task"] == task and r["order"] == order and r["connector"] == c), None)
                    for c in cfg["connectors"]
                ]
                vals = [float(r[metric]) if r else float("nan") for r in cells]
                bars = ax.bar(x + i * width, vals, width, label=order)
                # how many occurrences each bar averages: small counts are noise
                ax.bar_label(bars, labels=[f"n={r['count']}" if r else "" for r in cells], fontsize=7)
            ax.set_xticks(x + width * (len(orders) - 1) / 2, cfg["connectors"])
            ax.set_ylabel(label)
            ax.set_title(task if row == 0 else "")
            ax.grid(alpha=0.3, axis="y")
            ax.legend(fontsize=8)
    fig.suptitle(
        f"Connector tokens on the {cfg['model']} model: AR order vs arbitrary order (greedy, "
        f"gen length {cfg['gen_length']}, one token per step)",
        fontsize=10,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
