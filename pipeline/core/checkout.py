"""A scratch copy of this checkout (tracked and untracked-but-not-ignored files), for running the
DAG somewhere it cannot touch the checkout's results/ and MLflow store (tests, benchmarks)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path


def copy_checkout(src: Path, dst: Path, params: Path | None = None) -> Path:
    """Copy the project's files from ``src`` to ``dst``; optionally swap in another params.yaml."""
    files = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=src,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    for f in files:
        path = src / f
        (dst / f).parent.mkdir(parents=True, exist_ok=True)
        if path.is_symlink():  # profiles/<name>/dvc.yaml link to the project's dvc.yaml
            (dst / f).unlink(missing_ok=True)
            (dst / f).symlink_to(path.readlink())
        elif path.is_file():
            shutil.copy2(path, dst / f)
    if params is not None:
        shutil.copy(params, dst / "params.yaml")
    return dst
