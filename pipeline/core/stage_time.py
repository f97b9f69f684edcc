"""Where a stage job's wall time goes, so the time outside the work itself can be seen and cut.

A job's time splits into: ``startup`` (interpreter start, imports and params validation, from the
job's start in /proc, the command's when the warm server forked the stage, to the tracking run's
opening), ``open`` (opening the MLflow run), named phases the stage marks (``load_model``,
``write``, ...), ``close`` (flushing metrics, logging artifacts and the log, ending the run) and the
rest, the work. :class:`pipeline.core.tracking.StageRun` keeps one clock per run, logs each part as
``time/<part>_s`` and prints them in one line at the end; ``benchmarks/stage_overhead.py``
tabulates them over a finished main job.
"""

from __future__ import annotations

import time
from contextlib import contextmanager

from pipeline.core.processes import job_started_at

#: parts that are not the stage's work (the rest of the job's wall time is)
OVERHEAD = ("startup", "open", "load_model", "write", "close")


_previous_end: float | None = None  # when this process's previous run ended (a job over several tasks)


class StageClock:
    """One run's clock. It starts at the job's start, or for a later run of a job that opens
    several (evaluate over a model's tasks) at the previous run's end, so the process start is
    counted once, in the first run."""

    def __init__(self):
        self.parts: dict[str, float] = {}
        self.t_process = _previous_end or job_started_at()
        self.t_open = time.time()
        if self.t_process is not None:
            self.parts["startup"] = max(self.t_open - self.t_process, 0.0)

    @staticmethod
    def ended() -> None:
        """Mark the end of this run: the next run's clock starts here."""
        global _previous_end
        _previous_end = time.time()

    def mark(self, part: str, since: float) -> None:
        """Add the time since ``since`` to ``part``."""
        self.parts[part] = self.parts.get(part, 0.0) + time.time() - since

    @contextmanager
    def phase(self, part: str):
        t0 = time.time()
        try:
            yield
        finally:
            self.mark(part, t0)

    def summary(self) -> dict[str, float]:
        """Every part in seconds, plus ``total`` (the run's wall time so far), ``work`` and
        ``overhead_frac`` (the share of the total outside the work)."""
        now = time.time()
        total = now - (self.t_process if self.t_process is not None else self.t_open)
        outside = sum(v for k, v in self.parts.items() if k in OVERHEAD)
        return {**self.parts, "total": total, "work": total - outside, "overhead_frac": outside / max(total, 1e-9)}

    @staticmethod
    def line(summary: dict[str, float]) -> str:
        parts = ", ".join(f"{k} {v:.1f}s" for k, v in summary.items() if k != "overhead_frac")
        return f"time: {parts} ({100 * summary['overhead_frac']:.0f}% outside the work)"
