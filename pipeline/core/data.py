"""JSONL I/O, prepared splits, the prompt text of an example, and decoding completions."""

from __future__ import annotations

import gzip
import json
import zlib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # only annotations: the task modules import this one and stay free of torch
    import torch


class DataFileError(ValueError):
    """A data file that cannot be used as it is: ``path:line: what is wrong; how to fix it``."""


#: what a JSON value that is not an object is called in messages
_KINDS = {list: "an array", str: "a string", int: "a number", float: "a number", bool: "a boolean", type(None): "null"}


class _BadLine(Exception):
    """What is wrong with one line (read_jsonl adds the file, the line number and the fix)."""


def read_jsonl(path: str | Path, required: Sequence[str] = (), fix: str = "repair or regenerate it") -> list[dict]:
    """Every row of a JSONL file (gzipped when it ends in ``.gz``), each checked as it is read: valid
    JSON, an object, carrying every ``required`` field. The first bad line raises a DataFileError
    ending in ``fix``. Blank lines are skipped (their numbers still count)."""
    path = Path(path)
    rows, lineno = [], 0
    with gzip.open(path, "rb") if path.suffix == ".gz" else path.open("rb") as f:
        try:
            for raw in f:
                lineno += 1
                if raw.strip():
                    rows.append(_row(raw, required))
        except _BadLine as err:
            raise DataFileError(f"{path}:{lineno}: {err}; {fix}") from None
        except (EOFError, gzip.BadGzipFile, zlib.error) as err:  # a damaged or cut .gz
            raise DataFileError(f"{path}:{lineno + 1}: compressed data unreadable ({err}); {fix}") from None
    return rows


def _row(raw: bytes, required: Sequence[str]) -> dict:
    try:
        row = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise _BadLine("not UTF-8 text") from None
    except json.JSONDecodeError as err:
        cut = ", and the file ends in this line: cut mid-line?" if not raw.endswith(b"\n") else ""
        what = err.msg.removesuffix(" at")  # "Unterminated string starting at"
        raise _BadLine(f"not valid JSON ({what} at column {err.colno}){cut}") from None
    if not isinstance(row, dict):
        raise _BadLine(f"{_KINDS.get(type(row), type(row).__name__)}, not a JSON object")
    missing = [k for k in required if k not in row]
    if missing:
        raise _BadLine(f"missing required field{'s' * (len(missing) > 1)} {', '.join(map(repr, missing))}")
    return row


def write_jsonl(path: str | Path, rows) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as f:
        for row in rows:
            f.write(json.dumps(row) + "\n")


def read_splits(
    data_dir: str | Path, names: list[str], split: str, required: Mapping[str, Sequence[str]] | None = None
) -> dict[str, list[dict]]:
    """The prepared ``split`` of each task under ``data_dir``, every row carrying the task's
    ``required`` fields (:func:`pipeline.tasks.read_prepared` passes what each task declares);
    a bad line or an empty split is an error naming what to do."""
    out = {}
    for n in names:
        path = Path(data_dir) / n / f"{split}.jsonl"
        rerun = f"rerun the prepare stage: snakemake --cores all -f {path}"
        if not path.exists():
            raise FileNotFoundError(
                f"{path} does not exist; it is made by the 'prepare' stage (run: snakemake --cores all {path})"
            )
        out[n] = read_jsonl(path, (required or {}).get(n, ()), fix=rerun)
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
