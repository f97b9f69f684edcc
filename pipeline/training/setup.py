"""Loading the inputs of a training stage: tasks, their prepared splits, and the starting model."""
from __future__ import annotations

import json
from pathlib import Path

from pipeline.data import read_jsonl
from pipeline.model import io
from pipeline.runtime import dtype_of
from pipeline.tasks import get_task


def load_tasks(params: dict, names: list[str]) -> dict:
    from pipeline.prepare import task_options

    return {n: get_task(n, **task_options(params, n)) for n in names}


def load_split(data_dir: str | Path, names: list[str], split: str) -> dict[str, list[dict]]:
    out = {n: read_jsonl(Path(data_dir) / n / f"{split}.jsonl") for n in names}
    empty = [n for n, rows in out.items() if not rows]
    if empty:
        raise ValueError(f"no {split} examples for {', '.join(empty)} (see results/logs/prepare/); "
                         f"remove them from this stage's tasks or add data_dir/<task>/{split} files")
    return out


POINTER = "source.json"


def load_model(model_dir: str | Path, params: dict, device):
    """Model and tokenizer saved by an earlier stage. A directory holding only ``source.json``
    points at a pretrained checkpoint elsewhere (paper profile: no 16 GB copy under results/)."""
    model_dir = Path(model_dir)
    if not model_dir.exists():
        raise FileNotFoundError(f"{model_dir} does not exist; it is made by an earlier stage "
                                f"(run: snakemake --cores all {model_dir})")
    pointer = model_dir / POINTER
    path = json.loads(pointer.read_text())["path"] if pointer.exists() else model_dir
    return io.load(path, dtype=dtype_of(params["runtime"]), device=device)
