"""Per-job runtime settings (threads, device, dtype, seeds) and the stage log file."""

from __future__ import annotations

import logging
import os
import random
import sys
from pathlib import Path

import numpy as np
import torch

from pipeline.core import lifecycle, threads, tracking


def setup(runtime: dict, seed: int, log_path: str | None = None) -> torch.device:
    """Apply params.runtime and seed everything; mirror stderr and stdout lines into ``log_path``.

    Threads: ``runtime.threads``, capped by OMP_NUM_THREADS when a scheduler set it (Snakemake
    exports the job's ``threads`` there, SLURM users often do), so parallel jobs don't oversubscribe;
    with ``runtime.adapt_threads`` also by the cores other processes leave free (``core.threads``).
    """
    n = runtime["threads"]
    if os.environ.get("OMP_NUM_THREADS", "").isdigit():
        n = max(1, min(n, int(os.environ["OMP_NUM_THREADS"])))
    threads.install(n, runtime["adapt_threads"])
    lifecycle.install()  # SIGTERM and a vanished orchestrator end the stage cleanly (KILLED, checkpoint kept)
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    if log_path and int(os.environ.get("RANK", "0")) == 0:  # one log per job: the main process writes it
        Path(log_path).parent.mkdir(parents=True, exist_ok=True)
        log = open(log_path, "w")  # noqa: SIM115 -- open for the whole stage
        sys.stderr, sys.stdout = _Tee(sys.stderr, log), _Tee(sys.stdout, log)  # what a stage prints, too
        tracking.set_stage_log(log_path)  # attached to the stage's MLflow run when it ends
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    if log_path or not sys.stderr.isatty():
        quiet_library_bars()
    return resolve_device(runtime)


def quiet_library_bars() -> None:
    """transformers' and datasets' carriage-return bars clutter a log file; our Progress lines stay."""
    import datasets
    import transformers

    transformers.utils.logging.disable_progress_bar()
    datasets.disable_progress_bars()


def resolve_device(runtime: dict) -> torch.device:
    """``runtime.device`` as a torch device: auto -> cuda when visible, else cpu."""
    device = runtime["device"]
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("runtime.device = cuda but no CUDA device is visible; set runtime.device: cpu")
    return torch.device(device)


def dtype_of(runtime: dict) -> torch.dtype:
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
