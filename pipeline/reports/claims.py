"""The papers' claims, each decided by an interval computed from the evaluate outputs -- never by hand.

A claim compares two rows of a results table on the same problems (paired bootstrap,
:mod:`pipeline.reports.stats`): ``pooled`` claims use the mean difference over every cell (task x
length) of the table, ``every`` claims need each cell on its own. Verdicts: *holds* when the interval
lies above 0 (every cell's, for ``every``), *does not hold* when it lies below 0 (any cell's, for
``every``), *undecided* otherwise. The Flexibility-Trap claims that no table row decides are measured
by their analyses (``pipeline.flexibility_trap``: each writes its claim's effect, interval and verdict,
by the same rule, beside its figure). Claims whose measurements this run has not made are listed as
*not measured*, with what would measure them. Under the paper profile the paper's own effect, from
its published table, is set beside the reproduced one.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pipeline.reports import paper_numbers
from pipeline.reports.results_table import LABELS, per_problem_scores
from pipeline.reports.stats import CLAIM_VERDICT, paired, paired_diff_ci, verdict


@dataclass(frozen=True)
class Claim:
    paper: str
    statement: str
    table: str | None  # the results table that measures it (None: an analysis, not a table)
    row: str = ""
    vs: str = ""
    scope: str = "pooled"  # pooled | every
    needs: str = ""  # for claims measured elsewhere: what measures them
    analysis: str = ""  # the Flexibility-Trap analysis that measures it (its <name>_claim.json)


CLAIMS = [
    Claim("d1", "SFT beats the base model", "table1", "sft", "base"),
    Claim("d1", "diffu-GRPO beats the base model in every setting", "table1", "diffu_grpo_from_base", "base", "every"),
    Claim("d1", "d1 (SFT + diffu-GRPO) beats SFT alone", "table1", "diffu_grpo_from_sft", "sft"),
    Claim(
        "d1", "d1 (SFT + diffu-GRPO) beats diffu-GRPO alone", "table1", "diffu_grpo_from_sft", "diffu_grpo_from_base"
    ),
    Claim(
        "control",
        "diffu-GRPO beats equal-compute more base training (from base)",
        "table1",
        "diffu_grpo_from_base",
        "more_sft_for_diffu_grpo_from_base",
    ),
    Claim(
        "control",
        "d1's RL step beats equal-compute more SFT (from SFT)",
        "table1",
        "diffu_grpo_from_sft",
        "more_sft_for_diffu_grpo_from_sft",
    ),
    Claim("JustGRPO", "JustGRPO beats diffu-GRPO (from base)", "table2", "just_grpo_from_base", "diffu_grpo_from_base"),
    Claim("JustGRPO", "JustGRPO beats diffu-GRPO (from SFT)", "table2", "just_grpo_from_sft", "diffu_grpo_from_sft"),
    Claim(
        "JustGRPO",
        "AR order's pass@k grows faster with k than arbitrary order's",
        None,
        needs="the passk analysis (snakemake flexibility_trap: results/claims_full.md)",
        analysis="passk",
    ),
    Claim(
        "JustGRPO",
        "connectors are committed later and at lower entropy under arbitrary order",
        None,
        needs="the connector_entropy analysis (snakemake flexibility_trap: results/claims_full.md)",
        analysis="connector_entropy",
    ),
    Claim(
        "JustGRPO",
        "JustGRPO's advantage holds under parallel decoding",
        None,
        needs="the parallel_decoding analysis (snakemake flexibility_trap: results/claims_full.md)",
        analysis="parallel_decoding",
    ),
]


#: the paper's row for each of our model names (d1's Table 1)
PAPER_ROWS = {
    "base": "LLaDA-8B-Instruct",
    "sft": "+ SFT (s1K)",
    "diffu_grpo_from_base": "+ diffu-GRPO",
    "diffu_grpo_from_sft": "d1-LLaDA (SFT + diffu-GRPO)",
}


def paper_effect(claim: Claim, tasks: list[str], lengths: list[int]) -> str:
    """The paper's mean difference over the cells its table confirms for both rows, or '-'."""
    if claim.table != "table1" or claim.row not in PAPER_ROWS or claim.vs not in PAPER_ROWS:
        return "-"
    diffs = []
    for task in tasks[claim.table]:
        for L in lengths:
            try:
                a = paper_numbers.cell("d1_table1", PAPER_ROWS[claim.vs], task, L)
                b = paper_numbers.cell("d1_table1", PAPER_ROWS[claim.row], task, L)
            except KeyError:
                continue
            if a is not None and b is not None:
                diffs.append(b - a)
    return f"{sum(diffs) / len(diffs):+.1f} ({len(diffs)} cells)" if diffs else "-"


def decide(
    claim: Claim,
    eval_dirs: dict[str, Path],
    tasks: dict[str, list[str]],
    lengths: list[int],
    analyses: dict[str, dict | None] | None = None,
) -> dict:
    """The row of claims.csv for one claim; ``eval_dirs``, ``tasks``: table name -> its protocol's eval
    folder, its tasks; ``analyses``: analysis name -> its claim's measurement (None: its settings could
    not decide it), for the analyses this report covers."""
    out = {
        "paper": claim.paper,
        "claim": claim.statement,
        "table": claim.table or "",
        "effect": "",
        "ci_lo": "",
        "ci_hi": "",
        "verdict": "not measured",
        "detail": claim.needs,
        "paper_effect": "-",
    }
    if claim.analysis:
        measured = (analyses or {}).get(claim.analysis)
        if measured is not None:
            out.update({k: measured[k] for k in ("verdict", "detail")})
            out.update({k: round(measured[k], 2) for k in ("effect", "ci_lo", "ci_hi")})
        elif claim.analysis in (analyses or {}):
            out["detail"] = f"the {claim.analysis} settings cannot decide it (analysis.{claim.analysis})"
        return out
    if claim.table not in eval_dirs:
        out["detail"] = claim.needs or f"{claim.table} (results/claims_full.md: snakemake flexibility_trap)"
        return out
    root = eval_dirs[claim.table]
    cells = {}
    for task in tasks[claim.table]:
        for L in lengths:
            a, b = per_problem_scores(root, claim.vs, task, L), per_problem_scores(root, claim.row, task, L)
            cells[f"{task}@{L}"] = paired(a, b)
    effect, lo, hi = paired_diff_ci(list(cells.values()))
    out.update(effect=round(effect, 2), ci_lo=round(lo, 2), ci_hi=round(hi, 2))
    if claim.scope == "every":
        per_cell = {c: verdict(*paired_diff_ci([pair])[1:]) for c, pair in cells.items()}
        worse = [c for c, v in per_cell.items() if v == "worse"]
        out["verdict"] = (
            "holds" if all(v == "better" for v in per_cell.values()) else "does not hold" if worse else "undecided"
        )
        n_better = sum(v == "better" for v in per_cell.values())
        out["detail"] = f"better in {n_better} of {len(cells)} cells" + (
            f"; worse in {', '.join(worse)}" if worse else ""
        )
    else:
        out["verdict"] = CLAIM_VERDICT[verdict(lo, hi)]
        out["detail"] = f"mean over {len(cells)} cells"
    out["paper_effect"] = paper_effect(claim, tasks, lengths)
    return out


def to_markdown(rows: list[dict], profile: str, n_test) -> str:
    lines = [
        f"# The papers' claims, as this run measures them ({profile} profile)",
        "",
        "| paper | claim | effect (points) | 95% interval | verdict | detail | paper's effect |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        interval = f"[{r['ci_lo']:+.1f}, {r['ci_hi']:+.1f}]" if r["ci_lo"] != "" else "-"
        effect = f"{r['effect']:+.1f}" if r["effect"] != "" else "-"
        lines.append(
            f"| {r['paper']} | {r['claim']} | {effect} | {interval} | **{r['verdict']}** | {r['detail']} "
            f"| {r['paper_effect']} |"
        )
    lines += [
        "",
        f"- Effect: mean paired difference in accuracy points (row minus the model it is compared with) "
        f"on the same {n_test} test problems per task; interval: paired bootstrap over problems, "
        "stratified by cell. The analyses' effects: pass@k, the gain from pass@1 to pass@n under AR order "
        "minus under arbitrary order (points); connectors, how much later (% of the steps) they are committed "
        "under arbitrary order; parallel decoding, JustGRPO minus diffu-GRPO accuracy (points). Each "
        "analysis decodes its own problems (analysis.<name>.n_problems).",
        "- Verdicts follow from the intervals only (see pipeline/reports/claims.py); rows: "
        + ", ".join(f"{k} = {v}" for k, v in LABELS.items())
        + ".",
    ]
    return "\n".join(lines) + "\n"
