"""A warm interpreter for stage jobs: import torch, transformers and MLflow once, fork a job from it.

Every stage job of a tiny main job spends about 5 s importing torch and transformers' model code and
2 s importing and opening MLflow's sqlite store, on work of 2-120 s (README "Where a stage job's
time goes"). With ``runtime.warm_start`` the Snakefile's onstart starts :func:`serve` once per
invocation and exports its socket as ``PIPELINE_WARM``; ``python -m pipeline <stage> ...`` (the
command every rule and dvc.yaml run, unchanged) then hands its arguments, environment, working
directory and stdin/stdout/stderr to the server, whose child (forked ahead of the job, three kept
waiting) runs the stage exactly as the command would have and passes back its exit status. Without
the variable, or when the server cannot be reached (another host, a finished invocation), the
command runs the stage itself.

The child is the stage process: its own pid, the job's environment (OMP_NUM_THREADS, the
orchestrator and invocation ids), SIGCHLD restored, the caller's file descriptors. The caller
forwards SIGTERM and SIGINT to it and the child stops when the caller is gone (``lifecycle``), so
Snakemake's cancelling reaches the stage. Nothing has computed in the server before the fork (no
torch op, so no thread pool; the MLflow store is built, its connections closed): results are
bit-identical to a fresh process.
Snakemake's ``benchmark`` files then measure the caller only (wall time right, memory not): every
stage run logs its own peak memory (``memory/peak_rss_mb``).
"""

from __future__ import annotations

# The client half (run_in_server) starts every stage job, so this module imports only what it needs
# (the server's own imports are in its functions): no json (marshal: both ends are this interpreter),
# no contextlib, no pathlib.
import importlib
import marshal
import os
import select
import signal
import socket
import struct
import sys
import time

from pipeline.core.processes import CALLER_ENV

ENV = "PIPELINE_WARM"  # the server's socket path, exported by the Snakefile's onstart
# Children forked ahead of their jobs. Jobs start in bursts (Snakemake starts every ready job at once: on
# 2 cores a pair, table and claims at the end), and forking at once took CPU from the burst's startups,
# so a taken spare is replaced REFILL_S later, or at once when none is left waiting.
SPARES = 3
REFILL_S = 0.5

#: what the stage jobs would each import (``module``) or build (``module:function``, called once) in the
#: server, before any fork
PRELOAD = (
    "torch",
    "transformers",
    "pipeline.model.modeling_llada",  # transformers' PreTrainedModel machinery
    "mlflow",
    "mlflow.store.tracking.sqlalchemy_store",  # most of opening a sqlite store
    "pipeline.core.mlflow_store:cache_schema_head",  # and the migrations' head it checks the file against
    "pipeline.core.config:schema_validator",  # jsonschema and the params schema: every job validates params
    "pipeline.stages.evaluate",  # the stage modules with the most imports of their own
    "pipeline.stages.pretrain",
    "pipeline.stages.rl",
    "pipeline.stages.sft",
    "pipeline.stages.prepare",  # and the short jobs', whose whole work is a second or two
    "pipeline.stages.table",
    "pipeline.stages.claims",
)


def _send(conn: socket.socket, payload: dict, fds: list[int] | None = None) -> None:
    data = marshal.dumps(payload)
    msg = struct.pack("!I", len(data)) + data
    if fds:
        socket.send_fds(conn, [msg], fds)
    else:
        conn.sendall(msg)


def _recv(conn: socket.socket, with_fds: int = 0) -> tuple[dict | None, list[int]]:
    """One length-prefixed message (None at EOF) and the descriptors sent with it."""
    fds: list[int] = []
    if with_fds:
        head, fds, _, _ = socket.recv_fds(conn, 4, with_fds)
    else:
        head = conn.recv(4, socket.MSG_WAITALL)
    if len(head) < 4:
        return None, fds
    (n,) = struct.unpack("!I", head)
    body = b""
    while len(body) < n:
        chunk = conn.recv(n - len(body))
        if not chunk:
            return None, fds
        body += chunk
    return marshal.loads(body), fds


def run_in_server(argv: list[str]) -> int | None:
    """Run ``python -m pipeline <argv>`` in the warm server: its exit status, or None when there is
    no reachable server (the caller then runs the stage itself)."""
    path = os.environ.get(ENV)
    if not path:
        return None
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        conn.connect(path)
    except OSError:
        return None
    from pipeline.core.processes import process_id

    request = {"argv": argv, "cwd": os.getcwd(), "env": dict(os.environ), "client": process_id()}
    _send(conn, request, [0, 1, 2])
    started, _ = _recv(conn)
    if started is None:
        return None  # the server went away before forking: run here
    child = started["pid"]

    def forward(signum, frame):
        try:  # noqa: SIM105 -- no contextlib in the client
            os.kill(child, signal.SIGTERM)  # the stage's clean end: its run KILLED, its checkpoint kept
        except ProcessLookupError:
            pass

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    done, _ = _recv(conn)
    # no status: the stage died without one (SIGKILL, out of memory), as a shell reports a killed process
    return 137 if done is None else int(done["status"])


def _child(conn: socket.socket, listener: socket.socket, run: str) -> None:
    """In the forked child: become the job's stage process, run it, report its status, exit."""
    import contextlib

    listener.close()
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)  # the server ignores it; subprocesses need it back
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    status = 1
    try:
        request, fds = _recv(conn, with_fds=3)
        for target, fd in enumerate(fds):
            os.dup2(fd, target)
            os.close(fd)
        sys.stdin = open(0, closefd=False)  # noqa: SIM115 -- the job's own stdin for the stage's lifetime
        sys.stdout = open(1, "w", buffering=1, closefd=False)  # noqa: SIM115
        sys.stderr = open(2, "w", buffering=1, closefd=False)  # noqa: SIM115
        if request["cwd"] != os.getcwd():  # the store built before the fork names a file relative to here
            from pipeline.core.mlflow_store import forget_stores

            forget_stores()
            os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        os.environ[CALLER_ENV] = request["client"]
        sys.argv = ["python -m pipeline", *request["argv"]]
        _send(conn, {"pid": os.getpid()})
        module, function = run.split(":")
        main = getattr(importlib.import_module(module), function)
        try:
            main(request["argv"])
            status = 0
        except SystemExit as end:
            if isinstance(end.code, str):
                print(end.code, file=sys.stderr)
            status = end.code if isinstance(end.code, int) else (0 if end.code is None else 1)
        except BaseException:  # what a fresh interpreter would print before exiting 1
            import traceback

            traceback.print_exc()
            status = 1
    finally:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(OSError, ValueError):
                stream.flush()
        with contextlib.suppress(OSError):
            _send(conn, {"status": status})
        os._exit(status)


def serve(
    path: str,
    parent: str,
    preload: tuple[str, ...] = PRELOAD,
    run: str = "pipeline.__main__:main",
    store: tuple[str, str] | None = None,
    refill_s: float = REFILL_S,
) -> None:
    """Import (or call) ``preload`` and build the MLflow ``store`` (uri, experiment), then fork a process for
    each connection on ``path`` (ahead of it: ``_fork_spare``; a taken one replaced ``refill_s`` later) that
    calls ``run`` (module:function, given the command's arguments) until ``parent`` (a ``process_id``, the
    Snakemake process) is gone or SIGTERM arrives."""
    import threading

    from pipeline.core.processes import alive, proc_stat

    t0 = time.time()
    for name in preload:
        module, _, function = name.partition(":")
        imported = importlib.import_module(module)
        if function:
            getattr(imported, function)()
    if store is not None:
        from pipeline.core.mlflow_store import open_for_forks

        open_for_forks(*store)
    # Each command compiles the modules it imports before handing over (pipeline, warm, processes: 3 ms)
    # where this environment sets PYTHONDONTWRITEBYTECODE; write the package's bytecode once instead
    # (only stale files; a read-only checkout just keeps compiling).
    import compileall

    compileall.compile_dir(os.path.dirname(os.path.abspath(__file__)), quiet=2)
    if threading.active_count() > 1:  # a fork copies only the forking thread: a library thread would be lost
        sys.exit(f"warm server: the preloaded modules started {threading.active_count() - 1} threads; not forking")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    for stale in (path, path + ".new"):
        if os.path.exists(stale):
            os.unlink(stale)
    listener.bind(path + ".new")
    listener.listen(16)
    os.rename(path + ".new", path)  # the path appears only once it accepts (start_server waits for it)
    listener.settimeout(1.0)
    print(f"[warm] preloaded {len(preload)} modules in {time.time() - t0:.1f} s; serving {path}", flush=True)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped by the kernel
    forked, why = 0, [f"the orchestrator ({parent}) is gone"]

    def on_sigterm(*_):
        why[0] = "SIGTERM (the orchestrator's end)"
        sys.exit(0)

    signal.signal(signal.SIGTERM, on_sigterm)
    # SPARES children wait in accept(), forked ahead: forking this ~0.5 GB process takes 12-15 ms (copying
    # its page tables), which a job then no longer waits for. A spare that takes a job writes its pid on
    # ``taken``, and the server owes a replacement (``refill_s``).
    taken_r, taken_w = os.pipe()
    spare = lambda: _fork_spare(listener, (taken_r, taken_w), run, store)
    spares = {spare() for _ in range(SPARES)}  # the pids of those waiting
    owed, due = 0, None  # spares to fork, and when
    try:
        while alive(parent) is not False:
            if select.select([taken_r], [], [], 1.0 if due is None else max(due - time.time(), 0.0))[0]:
                data = os.read(taken_r, 4 * SPARES)
                took = {pid for (pid,) in struct.iter_unpack("!I", data)} & spares
                spares -= took
                forked += len(took)
                owed += len(took)
                due = due or time.time() + refill_s
            elif due is None:  # a quiet second: replace any spare that died waiting (reaped, so gone)
                dead = {pid for pid in spares if proc_stat(pid) is None}
                spares -= dead
                owed += len(dead)
            if owed and (not spares or time.time() >= (due or 0.0)):
                spares |= {spare() for _ in range(owed)}
                owed, due = 0, None
    except BaseException as err:
        why[0] = why[0] if isinstance(err, SystemExit) else f"{type(err).__name__}: {err}"
        raise
    finally:
        # the socket goes first, so no new job reaches the spares, which exit within a second on their own
        # (never killed here: one may have taken a job the pipe has not reported yet)
        if os.path.exists(path):
            os.unlink(path)
        listener.close()
        print(f"[warm] {forked} stage processes forked; stopping: {why[0]}", flush=True)


def _fork_spare(listener: socket.socket, taken: tuple[int, int], run: str, store: tuple[str, str] | None) -> int:
    """Fork the child that takes the next connection on ``listener`` (or exits once the server is gone),
    its connection to the MLflow ``store`` opened while it waits; returns its pid."""
    server = os.getpid()
    pid = os.fork()
    if pid:
        return pid
    # never back into serve(): its handler and its cleanup (which removes the socket) are the server's
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    try:
        os.close(taken[0])
        if store is not None:
            from pipeline.core.mlflow_store import warm_connection

            warm_connection(*store)
        while True:
            try:
                conn, _ = listener.accept()
                break
            except TimeoutError:
                if os.getppid() != server:
                    os._exit(0)
        os.write(taken[1], struct.pack("!I", os.getpid()))  # 4 bytes: one atomic pipe write
        os.close(taken[1])
    except BaseException:
        os._exit(1)
    _child(conn, listener, run)  # never returns


def start_server(log_path: str, store: tuple[str, str] | None = None):
    """Start :func:`serve` for this process's jobs (the Snakefile's onstart; ``store``: the tracking uri and
    experiment), wait until it listens, export its socket in ``PIPELINE_WARM`` and return the server
    process (for :func:`stop_server`)."""
    import subprocess
    import tempfile
    from pathlib import Path

    from pipeline.core.processes import process_id

    path = str(Path(tempfile.mkdtemp(prefix="pipeline-warm-")) / "socket")  # short: AF_UNIX paths <= 107 bytes
    Path(log_path).parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "w") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "pipeline.warm", "--socket", path, "--parent", process_id()]
            + (["--store", *store] if store else []),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # a Ctrl-C reaches the jobs' commands, which stop their stages cleanly
        )
    os.environ[ENV] = server.socket_path = path
    # wait for its imports (about 5 s, what the first jobs would pay each), so every job forks; a
    # server that fails or hangs only costs the wait: the jobs then run their stages themselves. The
    # limit is generous because a loaded host is slow to import: beside three other pipelines on 2
    # cores 30 s was too short, and the first jobs then ran without the server.
    deadline = time.time() + 120
    while not os.path.exists(path) and server.poll() is None and time.time() < deadline:
        time.sleep(0.1)
    return server


def stop_server(server) -> None:
    """End the server (stages it forked run on to their end); later commands run their stage themselves."""
    import contextlib

    os.environ.pop(ENV, None)
    server.terminate()
    with contextlib.suppress(Exception):
        server.wait(timeout=10)
    with contextlib.suppress(OSError):
        os.rmdir(os.path.dirname(server.socket_path))  # the server removed its socket on the way out


def main() -> None:
    import argparse

    ap = argparse.ArgumentParser(description="the warm stage server (started by the Snakefile's onstart)")
    ap.add_argument("--socket", required=True)
    ap.add_argument("--parent", required=True, help="process_id of the orchestrator: stop when it is gone")
    ap.add_argument("--preload", nargs="*", default=list(PRELOAD))
    ap.add_argument("--store", nargs=2, metavar=("URI", "EXPERIMENT"), help="the MLflow store to build before forking")
    args = ap.parse_args()
    serve(args.socket, args.parent, tuple(args.preload), store=tuple(args.store) if args.store else None)


if __name__ == "__main__":
    main()
