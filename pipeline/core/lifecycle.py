"""How a stage process ends when it is told to, or when its orchestrator is gone.

* SIGTERM (SLURM preemption or time limit, ``kill``, Snakemake cancelling a job) raises
  :class:`Interrupted` in the main thread, so the stage's MLflow run flushes its metrics and ends
  KILLED, and its last checkpoint stays for the rerun. SIGKILL cannot be caught: the write-ahead
  metric log and the next invocation's reaper (``mlflow_store.reap_dead_runs``) cover it.
* A stage whose Snakemake or ``dvc repro`` process died (killed with SIGKILL, its terminal closed)
  would keep training and writing outputs nobody waits for; a watchdog thread notices within
  seconds and stops the stage the same way.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time

from pipeline.core.processes import CALLER_ENV, alive, orchestrator

POLL_S = 2.0


class Interrupted(SystemExit):
    """The stage was told to stop (exit status 143, as a process ended by SIGTERM)."""

    def __init__(self, why: str):
        super().__init__(143)
        self.why = why


def _on_sigterm(signum, frame):
    raise Interrupted("SIGTERM")


def install() -> None:
    """SIGTERM -> Interrupted, and a watchdog on the orchestrator (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        return
    signal.signal(signal.SIGTERM, _on_sigterm)
    # a stage forked by the warm server (pipeline/warm.py) also stops when the command that asked is gone
    for what, watched in (("the orchestrator", orchestrator()), ("its command", os.environ.get(CALLER_ENV))):
        if watched and alive(watched):
            threading.Thread(target=_watch, args=(watched, what), daemon=True, name="watchdog").start()


def _watch(process: str, what: str) -> None:
    while alive(process):
        time.sleep(POLL_S)
    print(
        f"[{time.strftime('%H:%M:%S')}] {what} ({process}) is gone: stopping this stage; "
        "rerunning the same target resumes from its last checkpoint",
        file=sys.stderr,
        flush=True,
    )
    os.kill(os.getpid(), signal.SIGTERM)
