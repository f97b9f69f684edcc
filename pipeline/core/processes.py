"""Naming processes for good and finding the orchestrator of a stage, from /proc (Linux).

A pid alone is reused after its process dies, so runs and watchdogs record ``host:pid:start time``
(``process_id``); ``alive`` tells whether that very process still runs. The orchestrator of a stage
is the Snakemake process that exported ``ORCHESTRATOR_ENV`` in its onstart, or the ``dvc repro`` /
``dvc exp run`` found by walking up the parent processes.
"""

from __future__ import annotations

import os
import socket
import time

#: set by the Snakefile's onstart: the orchestrator's ``process_id`` (stages watch it, runs record it)
ORCHESTRATOR_ENV = "PIPELINE_ORCHESTRATOR"
#: set in a stage forked by the warm server (pipeline/warm.py): the ``process_id`` of the command that asked
CALLER_ENV = "PIPELINE_WARM_CALLER"


def proc_stat(pid: int) -> list[str] | None:
    """Fields of /proc/<pid>/stat after the command name (state, ppid, ..., start time at [19])."""
    try:
        with open(f"/proc/{pid}/stat") as f:  # open, not pathlib: the warm server's client imports this module
            return f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None


def process_id(pid: int | None = None) -> str:
    """``host:pid:start``: names one process for good (a pid alone is reused after the process dies)."""
    pid = pid or os.getpid()
    fields = proc_stat(pid)
    return f"{socket.gethostname()}:{pid}:{fields[19] if fields else '?'}"


def alive(process: str) -> bool | None:
    """Whether the process a ``process_id`` names still runs; None when it ran on another host."""
    host, pid, start = process.rsplit(":", 2)
    if host != socket.gethostname():
        return None
    fields = proc_stat(int(pid))
    return fields is not None and fields[19] == start and fields[0] != "Z"


def dvc_process() -> tuple[int, str, str] | None:
    """(pid, start time, command line) of the ``dvc repro`` that spawned this process, if any."""
    pid = os.getpid()
    for _ in range(8):  # walk up: stage -> shell -> dvc
        fields = proc_stat(pid)
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmdline = f.read().replace(b"\0", b" ").decode().strip()
        except OSError:
            return None
        if fields is None:
            return None
        argv = cmdline.split()
        if ("repro" in argv or "exp" in argv) and any(os.path.basename(a) == "dvc" for a in argv[:3]):
            return pid, fields[19], cmdline
        pid = int(fields[1])
        if pid <= 1:
            return None
    return None


def orchestrator() -> str | None:
    """The ``process_id`` of the Snakemake or DVC process running this stage (None: run by hand)."""
    if os.environ.get(ORCHESTRATOR_ENV):
        return os.environ[ORCHESTRATOR_ENV]
    dvc = dvc_process()
    return process_id(dvc[0]) if dvc else None


def started_at(pid: int | None = None) -> float | None:
    """When the process started (epoch seconds, to the kernel's clock tick), or None off Linux."""
    fields = proc_stat(pid or os.getpid())
    return None if fields is None else _ticks_to_epoch(fields[19])


def job_started_at() -> float | None:
    """When this stage's job started: the command's start when the warm server forked this process
    for it (``CALLER_ENV``; its interpreter start is part of the job), else this process's start."""
    caller = os.environ.get(CALLER_ENV)
    if caller:
        host, _, start = caller.rsplit(":", 2)
        if host == socket.gethostname() and start.isdigit():
            return _ticks_to_epoch(start)
    return started_at()


def _ticks_to_epoch(ticks: str) -> float | None:
    # /proc start times count clock ticks since boot. /proc/stat's btime gives the boot in whole
    # seconds, which put every start up to 1 s early (0.65 s on one host: most of a short job's
    # measured startup); the boot clock read now against the wall clock gives it to the microsecond.
    try:
        boot = time.time() - time.clock_gettime(time.CLOCK_BOOTTIME)
    except (AttributeError, OSError):
        return None
    return boot + int(ticks) / os.sysconf("SC_CLK_TCK")
