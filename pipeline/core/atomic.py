"""All-or-nothing outputs: a stage writes under a temporary name beside its output and renames it into
place once complete. A rename within one directory is atomic on POSIX, so Snakemake, DVC and the
next stage see the old complete output or the new complete one, never a half-written one (a full
disk or a kill mid-save used to leave a model directory holding only ``config.json``).
"""

from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path


class IncompleteModel(FileNotFoundError):
    """A model directory an earlier stage should have written is missing or lacks a file (raised by
    ``pipeline.model.io.check_complete``; here so that catching it imports no torch)."""


def partial_path(target: str | Path) -> Path:
    """Where ``target`` is written until it is complete: the same name on every process of a stage,
    the suffix kept (matplotlib and pandas choose the format by it)."""
    target = Path(target)
    return target.with_name(f".{target.stem}.partial{target.suffix}")


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()


def publish(tmp: Path, target: Path) -> None:
    """Move the complete ``tmp`` onto ``target``. A directory cannot be renamed over a non-empty one, so
    an old directory is first renamed aside (the window without ``target`` is two renames long)."""
    if target.is_dir() and not target.is_symlink():
        old = target.with_name(f".{target.name}.old")
        _remove(old)
        os.replace(target, old)
        os.replace(tmp, target)
        shutil.rmtree(old)
    else:
        os.replace(tmp, target)


@contextlib.contextmanager
def atomic_paths(*targets: str | Path, writer: bool = True):
    """``with atomic_paths(csv, md) as (tmp_csv, tmp_md):`` write each ``tmp``; on a clean exit they all
    become their targets, on an exception they are removed and the targets are left as they were.
    ``writer=False`` (the other processes of a multi-process stage) yields the same paths and touches
    nothing."""
    targets = [Path(t) for t in targets]
    tmps = [partial_path(t) for t in targets]
    if not writer:
        yield tmps
        return
    for target, tmp in zip(targets, tmps):
        target.parent.mkdir(parents=True, exist_ok=True)
        _remove(tmp)  # a leftover of a killed attempt
    try:
        yield tmps
    except BaseException:
        for tmp in tmps:
            _remove(tmp)
        raise
    for target, tmp in zip(targets, tmps):
        publish(tmp, target)


@contextlib.contextmanager
def atomic_path(target: str | Path, writer: bool = True):
    """``with atomic_path(out) as tmp:`` one output file or directory (see ``atomic_paths``)."""
    with atomic_paths(target, writer=writer) as (tmp,):
        yield tmp


def write_text(path: str | Path, text: str) -> None:
    """``Path.write_text``, all or nothing."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
