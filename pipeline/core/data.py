"""JSONL I/O, prepared splits, the prompt text of an example, and decoding completions."""

from __future__ import annotations

import json
from pathlib import Path

import torch


def read_jsonl(path: str | Path) -> list[dict]:
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(
            f"{path} does not exist; it is made by the 'prepare' stage (run: snakemake --cores all {path})"
        )
    with path.open() as f:
        return [json.loads(line) for line in f if line.strip()]


def write_jsonl(path: str | Path, rows) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as f:
        for row in rows:
            f.write(json.dumps(row) + "\n")


def read_splits(data_dir: str | Path, names: list[str], split: str) -> dict[str, list[dict]]:
    """The prepared ``split`` of each task under ``data_dir``; an empty split is an error naming what to do."""
    out = {n: read_jsonl(Path(data_dir) / n / f"{split}.jsonl") for n in names}
    empty = [n for n, rows in out.items() if not rows]
    if empty:
        raise ValueError(
            f"no {split} examples for {', '.join(empty)} (see the prepare logs); "
            f"remove them from this stage's tasks or add data_dir/<task>/{split} files"
        )
    return out


def train_files(data_dir: str | Path, names: list[str]) -> dict[str, Path]:
    """task -> its prepared train file (what a training run logs as its dataset inputs)."""
    return {n: Path(data_dir) / n / "train.jsonl" for n in names}


def prompt_text(tokenizer, task, example: dict, mode: str) -> str:
    """The exact text the model is conditioned on: chat template, then the task's generation prefix."""
    msgs = task.messages(example, mode=mode)
    return tokenizer.apply_chat_template(msgs, add_generation_prompt=True, tokenize=False) + task.generation_prefix(
        mode
    )


def prompt_ids(tokenizer, task, example: dict, mode: str) -> list[int]:
    return tokenizer(prompt_text(tokenizer, task, example, mode), add_special_tokens=False).input_ids


def decode_completions(tokenizer, ids: torch.Tensor) -> list[str]:
    """Text of each completion up to its first EOS (special tokens dropped)."""
    out = []
    for row in ids.tolist():
        if tokenizer.eos_token_id in row:
            row = row[: row.index(tokenizer.eos_token_id)]
        out.append(tokenizer.decode(row, skip_special_tokens=True))
    return out
