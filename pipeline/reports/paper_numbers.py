"""Access to the papers' published numbers kept in ``paper_numbers.yaml`` (with their sources)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import yaml

PATH = Path(__file__).with_name("paper_numbers.yaml")


@lru_cache(maxsize=1)
def load() -> dict:
    with open(PATH, encoding="utf-8") as f:
        return yaml.safe_load(f)


def cell(table: str, row: str, task: str, length: int) -> float | None:
    """One published number, e.g. ``cell("d1_table1", "LLaDA-8B-Instruct", "math500", 256)``; None if blank."""
    return load()[table]["rows"][row].get(task, {}).get(length)
