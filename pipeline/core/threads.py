"""Torch threads that give way to other processes instead of spinning against them.

torch's OpenMP threads meet at a barrier after every parallel op. When another process holds one
of the cores, the thread that shares it is descheduled and every barrier waits for it: measured on
2 cores beside one busy-looping process, a diffu-GRPO stage with 2 threads ran 3.3x slower per step
than alone (``benchmarks/contention.py``); with one thread it needs no barrier. OMP_WAIT_POLICY=PASSIVE
removes the spinning but cost 15-40% alone, so instead the thread count follows the cores the other
processes leave free: measured from /proc/stat at the stage's start and again every ``INTERVAL_S``
at a step boundary (``rebalance()``, called by the training and decoding loops on the main thread).

The thread count does not change results: the tiny model's forward and backward are bitwise equal at
1 and 2 threads (tests/core/test_threads.py checks it on the machine that runs the tests). On AVX-512
CPUs that needs MKL's strict reproducibility mode, which importing ``pipeline`` sets (MKL_CBWR).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import torch

from pipeline.core.processes import proc_stat

INTERVAL_S = 5.0
FIRST_S = 0.3  # the first measurement, at the first step boundary this long after the start
TICK = os.sysconf("SC_CLK_TCK")


def _cpus() -> list[int]:
    return sorted(os.sched_getaffinity(0))


def _sample(cpus: list[int]) -> tuple[float, float, float] | None:
    """(wall clock, busy CPU seconds of ``cpus``, this process's CPU seconds); None without /proc."""
    mine = proc_stat(os.getpid())
    try:
        lines = Path("/proc/stat").read_text().splitlines()
    except OSError:
        return None
    if mine is None:
        return None
    wanted = {f"cpu{c}" for c in cpus}
    busy = 0
    for line in lines:
        name, *fields = line.split()
        if name in wanted:  # user nice system idle iowait irq softirq steal ...
            v = list(map(int, fields))
            busy += v[0] + v[1] + v[2] + v[5] + v[6] + (v[7] if len(v) > 7 else 0)
    return time.time(), busy / TICK, (int(mine[11]) + int(mine[12])) / TICK


class ThreadBudget:
    """``runtime.threads`` capped by the cores that other processes leave free."""

    def __init__(self, wanted: int, adapt: bool):
        self.wanted, self.adapt, self.cpus = wanted, adapt, _cpus()
        self.current = wanted
        self.last = _sample(self.cpus) if adapt else None
        self.first = True
        torch.set_num_threads(wanted)

    def free_cores(self, now) -> float:
        wall, busy, own = (b - a for a, b in zip(self.last, now))
        return len(self.cpus) - max(0.0, busy - own) / max(wall, 1e-3)

    def rebalance(self, force: bool = False) -> None:
        if self.last is None:
            return
        if not force and time.time() - self.last[0] < (FIRST_S if self.first else INTERVAL_S):
            return
        self.first = False
        now = _sample(self.cpus)
        if now is None:
            return
        free = self.free_cores(now)
        threads = max(1, min(self.wanted, int(free + 0.3)))
        self.last = now
        if threads != self.current:
            print(
                f"[threads] {len(self.cpus) - free:.1f} of {len(self.cpus)} cores busy with other "
                f"processes: {threads} torch thread(s) (runtime.threads {self.wanted})",
                file=sys.stderr,
                flush=True,
            )
            torch.set_num_threads(threads)
            self.current = threads


_budget: ThreadBudget | None = None


def install(wanted: int, adapt: bool) -> None:
    """Set the stage's threads (``runtime.setup``); with ``adapt``, the first step boundary
    ``FIRST_S`` after this measures the load (no waiting here: start-up time is every job's cost)."""
    global _budget
    _budget = ThreadBudget(wanted, adapt)


def rebalance() -> None:
    """At a step boundary: follow the other processes' load (a no-op outside a stage)."""
    if _budget is not None:
        _budget.rebalance()
