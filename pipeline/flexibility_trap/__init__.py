"""Analysis registry for the Flexibility-Trap figures: name -> "module". Each module has
``run(params, cfg, models, data_dir) -> (rows, claim)`` (the CSV rows, and the measurement of the paper
claim it tests: ``pipeline.reports.stats.claim_result``'s dict, or None when its settings cannot
decide it) and ``plot(rows, cfg, path)``.
"""

from __future__ import annotations

from pathlib import Path

from pipeline.core.registry import resolve

ANALYSES: dict[str, str] = {
    "passk": "pipeline.flexibility_trap.passk",
    "parallel_decoding": "pipeline.flexibility_trap.parallel_decoding",
    "connector_entropy": "pipeline.flexibility_trap.connector_entropy",
}


def get_analysis(name: str):
    return resolve(ANALYSES, name, "analysis", "analyses")


def claim_file(figures: str | Path, name: str) -> Path:
    """Where analysis ``name`` writes its claim's measurement (beside its figure; the claims stage reads it)."""
    return Path(figures) / f"{name}_claim.json"
