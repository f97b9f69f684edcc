"""The pipeline's stage entry points, one module per stage: ``python -m pipeline <stage> ...``.

Each ``main`` only wires params, paths and library calls; Snakemake rules and DVC stages run the
same commands. Library modules never import from here.
"""

from __future__ import annotations

import argparse
import sys

from pipeline.core.config import ParamsError, load_params

#: stage name -> module; the order is the DAG's
STAGES: dict[str, str] = {
    "prepare": "pipeline.stages.prepare",
    "pretrain": "pipeline.stages.pretrain",
    "sft": "pipeline.stages.sft",
    "rl": "pipeline.stages.rl",
    "evaluate": "pipeline.stages.evaluate",
    "table": "pipeline.stages.table",
    "claims": "pipeline.stages.claims",
    "analyze": "pipeline.stages.analyze",
    "reference": "pipeline.stages.reference",
}


def parser(description: str, training: bool = False, per_task_logs: bool = False) -> argparse.ArgumentParser:
    """The arguments every stage takes; ``training``: also ``--metrics`` (the curves DVC plots);
    ``per_task_logs``: ``--log`` repeats, one per ``--task`` (a job over several tasks)."""
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--params", default="params.yaml", help="params file (validated before anything runs)")
    if per_task_logs:
        ap.add_argument("--log", action="append", default=[], help="progress lines of each --task, in order")
    else:
        ap.add_argument("--log", default=None, help="also write progress lines to this file")
    if training:
        ap.add_argument("--metrics", default=None, help="<path>.json: final metrics, <path>.csv: every step's")
    return ap


def per_task(args) -> list[str | None]:
    """Each ``--task``'s log (``--log`` once per task, or none), after checking that ``--out`` and
    ``--log`` repeat as often as ``--task``; exits with one line saying how when they do not."""
    if len(args.out) != len(args.task) or len(args.log) not in (0, len(args.task)):
        sys.exit(
            f"error: {len(args.task)} --task, {len(args.out)} --out and {len(args.log)} --log: give one --out "
            "(and one --log, or none) per --task, in the same order"
        )
    return args.log or [None] * len(args.task)


def load_or_exit(path: str) -> dict:
    try:
        return load_params(path)
    except ParamsError as e:
        sys.exit(f"error: {e}")
