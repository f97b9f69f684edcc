"""Per-job runtime settings (threads, device, dtype, seeds) and the stage log file.

Stages that never touch a model (prepare, table, claims, reference) call :func:`setup_job` only,
so they start without importing torch or transformers (about 6 s of every such job otherwise).
"""

from __future__ import annotations

import logging
import os
import random
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from pipeline.core import lifecycle, tracking

if TYPE_CHECKING:
    import torch


def setup(runtime: dict, seed: int, log_path: str | None = None) -> torch.device:
    """Apply params.runtime and seed everything (torch too); then :func:`setup_job`.

    Threads: ``runtime.threads``, capped by OMP_NUM_THREADS when a scheduler set it (Snakemake
    exports the job's ``threads`` there, SLURM users often do), so parallel jobs don't oversubscribe;
    with ``runtime.adapt_threads`` also by the cores other processes leave free (``core.threads``).
    """
    import torch

    from pipeline.core import threads

    n = runtime["threads"]
    if os.environ.get("OMP_NUM_THREADS", "").isdigit():
        n = max(1, min(n, int(os.environ["OMP_NUM_THREADS"])))
    threads.install(n, runtime["adapt_threads"])
    torch.manual_seed(seed)
    setup_job(seed, log_path)
    return resolve_device(runtime)


def setup_job(seed: int, log_path: str | None = None) -> None:
    """What every stage job needs: clean ends (SIGTERM, a vanished orchestrator: KILLED, checkpoint
    kept), seeded python and numpy, and stderr and stdout lines mirrored into ``log_path``."""
    lifecycle.install()
    random.seed(seed)
    np.random.seed(seed)
    log_to(log_path)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    if log_path or not sys.stderr.isatty():
        quiet_library_bars()


def log_to(log_path: str | None) -> None:
    """Mirror stdout and stderr into ``log_path`` from now on, closing the previous log (a job over
    several tasks keeps one log per task); the file is attached to the MLflow run open when it ends."""
    if not log_path or int(os.environ.get("RANK", "0")) != 0:  # one log per job: the main process writes it
        return
    Path(log_path).parent.mkdir(parents=True, exist_ok=True)
    log = open(log_path, "w")  # noqa: SIM115 -- open until the stage ends or the next task's log
    if isinstance(sys.stderr, _Tee):
        previous = sys.stderr.streams[1]
        sys.stderr.streams, sys.stdout.streams = (sys.stderr.streams[0], log), (sys.stdout.streams[0], log)
        previous.close()
    else:
        sys.stderr, sys.stdout = _Tee(sys.stderr, log), _Tee(sys.stdout, log)  # what a stage prints, too
    tracking.set_stage_log(log_path)


def quiet_library_bars() -> None:
    """transformers' and datasets' carriage-return bars clutter a log file; our Progress lines stay.
    Libraries imported later read the environment; those already imported are told directly."""
    os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] = "1"  # transformers reads huggingface_hub's switch
    os.environ["HF_DATASETS_DISABLE_PROGRESS_BARS"] = "1"
    if "transformers" in sys.modules:
        sys.modules["transformers"].utils.logging.disable_progress_bar()
    if "datasets" in sys.modules:
        sys.modules["datasets"].disable_progress_bars()


def resolve_device(runtime: dict) -> torch.device:
    """``runtime.device`` as a torch device: auto -> cuda when visible, else cpu."""
    import torch

    device = runtime["device"]
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("runtime.device = cuda but no CUDA device is visible; set runtime.device: cpu")
    return torch.device(device)


def dtype_of(runtime: dict) -> torch.dtype:
    import torch

    return {"float32": torch.float32, "bfloat16": torch.bfloat16}[runtime["dtype"]]


class _Tee:
    """stderr that also writes to the stage's log file (Snakemake ``log:`` / DVC outs)."""

    def __init__(self, *streams):
        self.streams = streams

    def write(self, data):
        for s in self.streams:
            s.write(data)
            s.flush()

    def flush(self):
        for s in self.streams:
            s.flush()

    def isatty(self):
        return False
