"""A training stage's write-ahead metric log (``<checkpoint dir>/metrics.wal``, JSON lines).

Every metric point is appended, and handed to the OS, before it is batched to the MLflow store; a
``{"sent": n}`` line records that the first n points reached the store. A killed stage therefore
loses no point (the page cache survives the process), and its rerun knows which points the store
lacks and which (key, step) pairs were already recorded.
"""

from __future__ import annotations

import json
from pathlib import Path


class MetricLog:
    """``fresh``: start an empty log; otherwise read what an earlier attempt wrote, then append."""

    def __init__(self, path: str | Path, fresh: bool):
        self.points: list[dict] = []  # {"step", "time" (ms), "metrics": {key: value}}
        self.sent = 0
        path = Path(path)
        if not fresh and path.exists():
            for line in path.read_text().splitlines():
                try:
                    entry = json.loads(line)
                except json.JSONDecodeError:  # the line a kill cut short: its point was never sent
                    continue
                if "sent" in entry:
                    self.sent = entry["sent"]
                else:
                    self.points.append(entry)
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file = path.open("a" if not fresh else "w")

    def append(self, step: int, time_ms: int, metrics: dict[str, float]) -> None:
        self.points.append({"step": step, "time": time_ms, "metrics": metrics})
        self._write({"step": step, "time": time_ms, "metrics": metrics})

    def unsent(self) -> list[dict]:
        return self.points[self.sent :]

    def mark_sent(self) -> None:
        """Every point appended so far is in the store."""
        self.sent = len(self.points)
        self._write({"sent": self.sent})

    def last_steps(self) -> dict[str, int]:
        """key -> the last step recorded for it."""
        out: dict[str, int] = {}
        for e in self.points:
            for k in e["metrics"]:
                out[k] = max(out.get(k, -1), e["step"])
        return out

    def _write(self, entry: dict) -> None:
        self._file.write(json.dumps(entry) + "\n")
        self._file.flush()  # in the OS's hands: survives the process being killed

    def close(self) -> None:
        self._file.close()
