"""pass@k of AR order vs arbitrary (low-confidence) order on the base model (Flexibility Trap, claim b).

n samples per problem at temperature > 0 under each decoding order, with the same number of
forward passes (one token per step) so only the order differs; pass@k by the unbiased estimator
of Chen et al. (2021): 1 - C(n-c, k) / C(n, k), averaged over problems. A sample counts as
correct when its score is 1 (for Sudoku: every blank right).

The claim (AR order's pass@k grows faster with k): per problem, the growth pass@n - pass@1 under AR
order minus that under the arbitrary order, on the same problems; its mean over tasks with a paired
bootstrap interval over problems.
"""

from __future__ import annotations

from pipeline.flexibility_trap.common import AR, arbitrary_order, decode_samples, plot_lines
from pipeline.reports.stats import claim_result, paired_diff_ci


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k from n samples with c correct: 1 - C(n-c, k)/C(n, k), as a stable product."""
    if k > n:
        raise ValueError(f"k = {k} > n = {n}")
    if n - c < k:
        return 1.0
    prod = 1.0
    for i in range(n - c + 1, n + 1):
        prod *= 1.0 - k / i
    return 1.0 - prod


def ks_up_to(n: int) -> list[int]:
    """1, 2, 4, ... up to n (n itself included)."""
    ks, k = [], 1
    while k < n:
        ks.append(k)
        k *= 2
    return ks + [n]


def claim(correct: dict[tuple[str, str], list[int]], n: int, orders: list[str]) -> dict | None:
    """The growth claim from the correct counts per (task, order), problems in one order (None: no AR order
    or no arbitrary order among ``orders``)."""
    arb = arbitrary_order(orders)
    if arb is None:
        return None
    growth = lambda cs: [pass_at_k(n, c, n) - pass_at_k(n, c, 1) for c in cs]  # per problem, in [0, 1]
    tasks = sorted({t for t, _ in correct})
    cells = [(growth(correct[t, arb]), growth(correct[t, AR])) for t in tasks]
    effect, lo, hi = paired_diff_ci(cells)
    mean_growth = lambda o: 100 * sum(sum(growth(correct[t, o])) / len(correct[t, o]) for t in tasks) / len(tasks)
    detail = (
        f"pass@1 -> pass@{n} gain {mean_growth(AR):+.1f} under {AR}, {mean_growth(arb):+.1f} under "
        f"{arb} (mean over {len(tasks)} tasks, {len(cells[0][0])} problems each)"
    )
    return claim_result(effect, lo, hi, detail)


def run(params, cfg, models, data_dir) -> tuple[list[dict], dict | None]:
    rows, counts = [], {}
    n = cfg["n_samples"]
    for task_name in cfg["tasks"]:
        for order in cfg["orders"]:
            samples = decode_samples(
                params,
                cfg,
                models[cfg["model"]],
                data_dir,
                task_name,
                order,
                n_samples=n,
                temperature=cfg["temperature"],
            )
            correct = counts[task_name, order] = [sum(s == 1.0 for s in problem) for problem in samples["scores"]]
            for k in ks_up_to(n):
                value = sum(pass_at_k(n, c, k) for c in correct) / len(correct)
                rows.append(
                    {
                        "task": task_name,
                        "order": order,
                        "k": k,
                        "pass_at_k": 100 * value,
                        "n": n,
                        "problems": len(correct),
                        "model": cfg["model"],
                    }
                )
    return rows, claim(counts, n, cfg["orders"])


def plot(rows, cfg, path) -> None:
    plot_lines(
        rows,
        path,
        x="k",
        y="pass_at_k",
        series="order",
        panel="task",
        logx=True,
        xlabel="k (samples per problem)",
        ylabel="pass@k (%)",
        title=f"pass@k on the {cfg['model']} model: AR order vs arbitrary order "
        f"(n = {cfg['n_samples']}, T = {cfg['temperature']})",
    )
