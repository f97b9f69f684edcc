"""Run untrusted (model-written) Python programs in isolated, resource-limited subprocesses.

Every program gets its own process tree and is scored by how it ends:

* ``passed``  the source ran to its end (no uncaught exception, no ``sys.exit``);
* ``failed``  it raised, exited early or was killed by anything but a time limit;
* ``timeout`` it exceeded the wall-clock limit or its CPU-time rlimit;
* ``error``   the sandbox itself could not run it (never the program's fault).

Isolation, strongest layout first (``isolation_mode()`` says which one this host gets, and
``fallback_reason()`` why it is not the first; the reason is also logged once per process):

``namespaces`` (root with CAP_SYS_ADMIN, util-linux ``unshare``; the CI layout)
    The child starts in fresh mount, network, PID and IPC namespaces. The network namespace
    has only a downed loopback, so even ``connect(127.0.0.1)`` fails. As PID 1 of its own
    PID namespace the supervisor takes every leftover process with it when it exits or is
    killed, including ones that ``setsid()`` or double-fork, and the program can neither
    see nor signal anything outside (``os.kill(os.getppid(), 9)`` targets the root-owned
    supervisor and is refused). If our process dies, the supervisor still exits by itself
    shortly after the run's deadline, taking the sandbox with it. All existing mounts are remounted
    read-only and /tmp, /var/tmp, /dev/shm and /run/lock are covered by private root-owned tmpfs, so the only writable
    directory is the work dir (also HOME and TMPDIR): /tmp/sandbox on a size-capped tmpfs
    that vanishes with the namespace. (So no POSIX shared memory or semaphores either.) The
    interpreter's directories under those covers (a venv in /tmp) are bound back read-only.
``fallback`` (no usable ``unshare``, e.g. non-root or a container without CAP_SYS_ADMIN)
    A plain subprocess in its own session; socket creation is refused from Python (best
    effort: ctypes can bypass it), no new processes or threads (RLIMIT_NPROC=1), and the
    work dir is a fresh temporary directory deleted afterwards. Writes to world-writable
    directories such as /tmp cannot be prevented; when not running as root the program
    runs as our own uid and could signal our processes; and if the sandbox uid cannot read
    the interpreter (pyenv under /root), only a pre-imported list of standard modules is
    importable. A guard against accidents, not against a determined program.

In both layouts, when we are root the program runs as a uid of its own, taken from
``UID_BASE``.. ``UID_BASE + MAX_CONCURRENT``, one per concurrently running program: it owns
no files (cannot write the repo), cannot signal our processes, and RLIMIT_NPROC, which the
kernel counts per uid, then bounds exactly this program's process tree (a fork bomb stops
at ``Limits.nproc`` processes without starving other sandboxes or the pipeline). Each
process also gets RLIMIT_CPU, RLIMIT_AS, RLIMIT_FSIZE, RLIMIT_NOFILE and no core dumps;
stdout and stderr are drained but only the first ``Limits.output_bytes`` are kept; on the
wall-clock limit the parent SIGKILLs the whole tree: the namespace's PID 1 (the kernel then
kills the rest), or in the fallback the child's process group (``os.killpg``).
Known bound: memory is limited per process, so one program can hold at most
``nproc * memory_mb`` (4 GiB by default); size the pool's ``max_workers`` with that in mind.

The wall-clock limit counts from the moment the program's code starts (signalled by the
child), not from process creation: on a loaded machine interpreter start-up can take longer
than a test's whole budget. ``STARTUP_ALLOWANCE_S`` bounds the start-up itself.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import math
import os
import queue
import secrets
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from pipeline.execution._child import SETUP_FAILED, STARTED

log = logging.getLogger(__name__)

PYTHON = sys.executable
CHILD_SCRIPT = str(Path(__file__).with_name("_child.py"))
UID_BASE = 60000  # below systemd's DynamicUser range (61184+) and inside 16-bit uid maps
MAX_CONCURRENT = 256
STARTUP_ALLOWANCE_S = 10.0
NAMESPACE_WORKDIR = "/tmp/sandbox"
UNSHARE = ["unshare", "--mount", "--net", "--pid", "--ipc", "--fork", "--kill-child", "--mount-proc", "--"]


@dataclass(frozen=True)
class Limits:
    timeout: float = 3.0  # wall-clock seconds of the program's own run
    memory_mb: int = 512  # RLIMIT_AS per process
    file_mb: int = 16  # RLIMIT_FSIZE per file; also the size of each private tmpfs
    nproc: int = 8  # processes + threads of the program's uid (namespaces layout only)
    output_bytes: int = 64 * 1024  # kept per stream; the rest is read and dropped


@dataclass(frozen=True)
class ExecResult:
    status: str  # "passed" | "failed" | "timeout" | "error"
    stdout: str
    stderr: str
    duration: float  # seconds from process start to exit
    returncode: int | None = None
    truncated: bool = False  # stdout or stderr exceeded Limits.output_bytes

    @property
    def passed(self) -> bool:
        return self.status == "passed"


_uids: queue.Queue[int] = queue.Queue()
for _uid in range(UID_BASE, UID_BASE + MAX_CONCURRENT):
    _uids.put(_uid)


@contextmanager
def _sandbox_uid() -> Iterator[int | None]:
    """A uid no other running sandbox uses; None when we are not root (we cannot switch)."""
    if os.geteuid() != 0:
        yield None
        return
    uid = _uids.get()
    try:
        yield uid
    finally:
        _uids.put(uid)


def run_program(
    source: str,
    limits: Limits = Limits(),
    *,
    run_as_main: bool = True,
    isolation: str | None = None,
) -> ExecResult:
    """Run ``source`` as a Python program in a fresh sandbox and report how it ended.

    ``run_as_main=False`` executes it in a module not named ``__main__`` (its
    ``if __name__ == "__main__":`` block is skipped), as exec-based graders such as
    human-eval's and JustGRPO's do. ``isolation`` forces "namespaces" or "fallback"
    (tests use this); by default the strongest available layout is used.
    """
    mode = isolation or isolation_mode()
    if mode not in ("namespaces", "fallback"):
        raise ValueError(f"unknown isolation {mode!r}")
    with _sandbox_uid() as uid:
        private = tempfile.mkdtemp(prefix="sandbox-")
        try:
            return _run(source, limits, run_as_main, mode == "namespaces", uid, private)
        finally:
            shutil.rmtree(private, ignore_errors=True)


def run_programs(
    sources: Sequence[str],
    limits: Limits = Limits(),
    *,
    run_as_main: bool = True,
    max_workers: int | None = None,
) -> list[ExecResult]:
    """``run_program`` over many sources in parallel; results in input order.

    Threads only wait on subprocesses, so a thread pool is enough; the default width is
    one program per CPU core.
    """
    if not sources:
        return []
    workers = max(1, min(max_workers or os.cpu_count() or 1, MAX_CONCURRENT, len(sources)))
    run = functools.partial(run_program, limits=limits, run_as_main=run_as_main)
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="sandbox") as pool:
        return list(pool.map(run, sources))


#: the probe imports a standard module the child has not loaded, so the layout only counts as
#: working when the program can still reach the interpreter's files
PROBE = "import decimal"

_mode_lock = threading.Lock()
_mode: tuple[str, str | None] | None = None  # (layout, why not namespaces)


def isolation_mode() -> str:
    """ "namespaces" if the probe program runs in the namespace layout here, else "fallback"."""
    return _probe()[0]


def fallback_reason() -> str | None:
    """Why this host gets the fallback layout, in one line; None when it gets namespaces."""
    return _probe()[1]


def _probe() -> tuple[str, str | None]:
    global _mode
    with _mode_lock:
        if _mode is None:
            why = _namespaces_unavailable()
            _mode = ("fallback", why) if why else ("namespaces", None)
            if why:  # once per process: every program from now on runs with weaker isolation
                log.warning("sandbox: using the weaker fallback isolation: %s", why)
        return _mode


def _namespaces_unavailable() -> str | None:
    if os.geteuid() != 0:
        return f"not root (euid {os.geteuid()}); the namespace layout needs root with CAP_SYS_ADMIN"
    if not shutil.which("unshare"):
        return "no util-linux unshare on PATH"
    probe = run_program(PROBE, Limits(timeout=10.0), isolation="namespaces")
    if probe.passed:
        return None
    last = next((line for line in reversed(probe.stderr.splitlines()) if line.strip()), "no output")
    return f"the namespace probe {PROBE!r} ended {probe.status} (exit {probe.returncode}): {last.strip()}"


def _run(source: str, limits: Limits, run_as_main: bool, namespaces: bool, uid: int | None, private: str) -> ExecResult:
    if namespaces:
        workdir = NAMESPACE_WORKDIR
    else:
        workdir = os.path.join(private, "work")
        os.mkdir(workdir, 0o700)
        if uid is not None:
            os.chown(workdir, uid, uid)
            os.chmod(private, 0o711)  # the uid may pass through, not list or read the config
    marker_r, marker_w = os.pipe()
    nonce = secrets.token_hex(16)
    config = {
        "source": source,
        "nonce": nonce,
        "marker_fd": marker_w,
        "module_name": "__main__" if run_as_main else "__sandbox__",
        "namespaces": namespaces,
        "uid": uid,
        "workdir": workdir,
        "cpu_seconds": math.ceil(limits.timeout) + 1,
        "hard_limit_seconds": math.ceil(limits.timeout + STARTUP_ALLOWANCE_S) + 5,
        "memory_bytes": limits.memory_mb << 20,
        "file_bytes": limits.file_mb << 20,
        "tmpfs_bytes": limits.file_mb << 20,
        "nproc": limits.nproc if namespaces else 1,
    }
    config_path = os.path.join(private, "config.json")
    fd = os.open(config_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(config, f)
    threads = "1"  # BLAS/OpenMP would start one thread per core and trip RLIMIT_NPROC
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "HOME": workdir,
        "TMPDIR": workdir,
        "USER": "sandbox",
        "LOGNAME": "sandbox",
        "OMP_NUM_THREADS": threads,
        "OPENBLAS_NUM_THREADS": threads,
        "MKL_NUM_THREADS": threads,
    }
    argv = [PYTHON, "-I", "-B", CHILD_SCRIPT, config_path]
    if namespaces:
        argv = UNSHARE + argv
    started = time.monotonic()
    try:
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            pass_fds=(marker_w,),
            env=env,
            cwd="/",
            start_new_session=True,
        )
    except OSError as exc:
        os.close(marker_r)
        return ExecResult("error", "", f"sandbox: cannot start {argv[0]}: {exc}", 0.0)
    finally:
        os.close(marker_w)
    out, err, marker, timed_out, truncated = _collect(proc, marker_r, limits, namespaces)
    returncode = proc.returncode
    duration = time.monotonic() - started
    if timed_out:
        status = "timeout"
    elif marker == STARTED + nonce.encode() and returncode == 0:
        status = "passed"
    elif returncode == SETUP_FAILED and not marker.startswith(STARTED):
        status = "error"
    elif _signal_of(returncode) == signal.SIGXCPU:
        status = "timeout"
    else:
        status = "failed"
    decode = lambda b: b.decode("utf-8", errors="replace")
    return ExecResult(status, decode(out), decode(err), duration, returncode, truncated)


def _signal_of(returncode: int | None) -> int | None:
    """Signal that ended the program: negative codes come from Popen, 128+n from our PID 1."""
    if returncode is None:
        return None
    if returncode < 0:
        return -returncode
    return returncode - 128 if returncode > 128 else None


def _collect(
    proc: subprocess.Popen, marker_r: int, limits: Limits, namespaces: bool
) -> tuple[bytes, bytes, bytes, bool, bool]:
    """Drain stdout/stderr/marker until the program ends; enforce the wall clock.

    Returns (stdout, stderr, marker bytes, timed out, output truncated).
    """
    out_fd, err_fd = proc.stdout.fileno(), proc.stderr.fileno()
    bufs = {out_fd: bytearray(), err_fd: bytearray(), marker_r: bytearray()}
    caps = {out_fd: limits.output_bytes, err_fd: limits.output_bytes, marker_r: 256}
    truncated = timed_out = False
    deadline = time.monotonic() + STARTUP_ALLOWANCE_S
    started = finishing = False
    with selectors.DefaultSelector() as sel:
        for fd in bufs:
            sel.register(fd, selectors.EVENT_READ)
        while sel.get_map():
            now = time.monotonic()
            if now >= deadline:
                if proc.poll() is None or finishing:
                    break
                # It ended right at the deadline: read what it wrote before judging it.
                finishing, deadline = True, now + 1.0
            for key, _ in sel.select(timeout=deadline - now):
                data = os.read(key.fd, 65536)
                if not data:
                    sel.unregister(key.fd)
                    continue
                buf = bufs[key.fd]
                room = max(caps[key.fd] - len(buf), 0)
                truncated |= len(data) > room and key.fd != marker_r
                buf += data[:room]
                if not started and key.fd == marker_r and buf[:1] == STARTED:
                    started = True
                    deadline = time.monotonic() + limits.timeout
    # The pipes can close before the process ends (a program may close its own fds), so
    # the deadline still applies to the process itself.
    try:
        proc.wait(timeout=max(deadline - time.monotonic(), 0.0))
    except subprocess.TimeoutExpired:
        timed_out = True
        _kill_tree(proc, namespaces)
        try:
            proc.wait(timeout=5.0)
        except subprocess.TimeoutExpired:
            _kill_tree(proc, namespaces=False)
            proc.wait()
    os.close(marker_r)
    proc.stdout.close()
    proc.stderr.close()
    return bytes(bufs[out_fd]), bytes(bufs[err_fd]), bytes(bufs[marker_r]), timed_out, truncated


def _kill_tree(proc: subprocess.Popen, namespaces: bool) -> None:
    """SIGKILL the program's whole process tree. Called only before ``proc`` is reaped.

    Namespace layout: we kill only our PID 1 (unshare's one child). The kernel then kills
    and reaps every process in the PID namespace before PID 1 can be reaped, so once
    ``proc.wait()`` sees unshare exit, nothing of the sandbox is left and its uid may be
    reused. (Killing unshare too would return before that teardown finished.)
    Otherwise, or if PID 1 cannot be found: the child's process group (it leads it:
    start_new_session; not yet reaped, so the group id cannot have been reused).
    """
    if namespaces:
        try:
            init = Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()
        except OSError:
            init = []
        for pid in init:
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(pid), signal.SIGKILL)
        if init:
            return
    for kill in (lambda: os.killpg(proc.pid, signal.SIGKILL), proc.kill):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            kill()
