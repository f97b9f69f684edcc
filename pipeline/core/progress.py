"""A line per interval with rate and ETA: readable both on a terminal and in Snakemake/DVC logs."""

from __future__ import annotations

import sys
import time


class Progress:
    def __init__(
        self, total: int, desc: str, every_s: float = 5.0, unit: str = "step", enabled: bool = True, done: int = 0
    ):
        # enabled=False: a process other than the main one of a multi-process run stays quiet;
        # done: units finished before this process started (a resumed stage), not counted in the rate
        self.total, self.desc, self.every_s, self.unit, self.enabled = total, desc, every_s, unit, enabled
        self.start = self.last = time.time()
        self.n = self.first = done

    def update(self, n: int = 1, **stats) -> None:
        self.n += n
        now = time.time()
        if self.enabled and (now - self.last >= self.every_s or self.n >= self.total):
            self.last = now
            self._print(now, stats)

    def _print(self, now: float, stats: dict) -> None:
        elapsed = now - self.start
        rate = (self.n - self.first) / elapsed if elapsed > 0 else 0.0
        eta = (self.total - self.n) / rate if rate > 0 else float("inf")
        shown = " ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in stats.items())
        print(
            f"[{self.desc}] {self.unit} {self.n}/{self.total} {shown} | {rate:.2f} {self.unit}/s "
            f"| elapsed {elapsed:.0f}s ETA {eta:.0f}s",
            file=sys.stderr,
            flush=True,
        )
