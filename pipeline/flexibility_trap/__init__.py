"""Analysis registry for the Flexibility-Trap figures: name -> "module". Each module has
``run(params, cfg, models, data_dir) -> list[dict]`` (the CSV rows) and ``plot(rows, cfg, path)``.
"""

from __future__ import annotations

from pipeline.core.registry import resolve

ANALYSES: dict[str, str] = {
    "passk": "pipeline.flexibility_trap.passk",
    "parallel_decoding": "pipeline.flexibility_trap.parallel_decoding",
    "connector_entropy": "pipeline.flexibility_trap.connector_entropy",
}


def get_analysis(name: str):
    return resolve(ANALYSES, name, "analysis", "analyses")
