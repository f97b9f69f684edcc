"""A scratch copy of this checkout (tracked and untracked-but-not-ignored files), for running the
DAG somewhere it cannot touch the checkout's results/ and MLflow store (tests, benchmarks)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path


def project_files(root: Path) -> list[str]:
    """Tracked and untracked-but-not-ignored files of the checkout at ``root``, relative to it."""
    out = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return sorted(f for f in out if (root / f).is_file() or (root / f).is_symlink())


def copy_checkout(src: Path, dst: Path, params: Path | None = None) -> Path:
    """Copy the project's files from ``src`` to ``dst``; optionally swap in another params.yaml."""
    for f in project_files(src):
        path = src / f
        (dst / f).parent.mkdir(parents=True, exist_ok=True)
        if path.is_symlink():  # copied as the link it is
            (dst / f).unlink(missing_ok=True)
            (dst / f).symlink_to(path.readlink())
        elif path.is_file():
            shutil.copy2(path, dst / f)
    if params is not None:
        shutil.copy(params, dst / "params.yaml")
    return dst
