"""The warm server (pipeline.warm): ``python -m pipeline ...`` runs in a forked child with the
caller's arguments, environment, directory and file descriptors, and ends with the stage's status;
signals reach the stage; with no server the command runs the stage itself."""

import multiprocessing
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipeline.core.processes import CALLER_ENV, proc_stat, process_id
from pipeline.warm import ENV, SPARES, serve

ROOT = Path(__file__).resolve().parents[1]


def probe(argv):
    """What the server's children run here instead of a stage."""
    what = argv[0]
    if what == "echo":
        line = sys.stdin.readline().strip()
        print(f"cwd={os.getcwd()} x={os.environ.get('X')} argv={argv[1:]} stdin={line}")
        print(f"to stderr pid={os.getpid()} client={os.environ.get(CALLER_ENV, '')[:4]}", file=sys.stderr)
    elif what == "exit":
        sys.exit(int(argv[1]))
    elif what == "message":
        sys.exit("error: what to do next")
    elif what == "raise":
        raise RuntimeError("a bug")
    elif what == "sleep":
        from pipeline.core import lifecycle

        lifecycle.install()
        print("ready", flush=True)
        time.sleep(30)
    elif what == "store":
        from mlflow.tracking import MlflowClient
        from mlflow.tracking._tracking_service.registry import TrackingStoreRegistry

        built = TrackingStoreRegistry._get_store_with_resolved_uri.cache_info().currsize
        engine = MlflowClient("sqlite:///mlflow.db")._tracking_client.store.engine
        # the spare's warm-up leaves an open connection in the pool (a store built here opens its own)
        print(f"built={built} db={Path(engine.url.database).resolve()} pooled={engine.pool.checkedin()}")
    elif what == "kill":
        os.kill(os.getpid(), signal.SIGKILL)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("warm") / "s")
    ctx = multiprocessing.get_context("spawn")  # a fresh interpreter, as the Snakefile's onstart starts it
    proc = ctx.Process(target=serve, args=(path, process_id(), (), "tests.test_warm:probe"), daemon=True)
    proc.start()
    for _ in range(200):
        if os.path.exists(path):
            break
        time.sleep(0.05)
    yield path
    proc.terminate()
    proc.join(10)


def command(server, *argv, **kw):
    env = {**os.environ, ENV: server, "X": "42", "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-m", "pipeline", *argv], env=env, text=True, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, stdin=subprocess.PIPE, **kw,
    )  # fmt: skip


def test_the_child_gets_the_callers_arguments_environment_directory_and_streams(server, tmp_path):
    proc = command(server, "echo", "--a", "b c", cwd=tmp_path)
    out, err = proc.communicate("hello\n", timeout=30)
    assert proc.returncode == 0
    assert out == f"cwd={tmp_path} x=42 argv=['--a', 'b c'] stdin=hello\n"
    pid = int(err.split("pid=")[1].split()[0])
    assert pid != proc.pid and "client=" in err and err.split("client=")[1].strip()  # it knows its caller


@pytest.mark.parametrize(
    "argv,status,stderr",
    [(("exit", "3"), 3, ""), (("message",), 1, "error: what to do next"), (("raise",), 1, "RuntimeError: a bug")],
)
def test_exit_status_and_messages_are_the_stages(server, argv, status, stderr):
    proc = command(server, *argv)
    _, err = proc.communicate("", timeout=30)
    assert proc.returncode == status and stderr in err


def test_sigterm_to_the_command_ends_the_stage_cleanly_and_a_killed_stage_reads_137(server):
    proc = command(server, "sleep")
    assert proc.stdout.readline() == "ready\n"
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=30)
    assert proc.returncode == 143  # lifecycle's Interrupted: the stage's run ends KILLED
    proc = command(server, "kill")
    proc.communicate("", timeout=30)
    assert proc.returncode == 137


def test_the_store_built_before_the_fork_serves_its_directory_only(tmp_path):
    """The server builds the MLflow store once (connections closed), its spares each open a connection
    while they wait; a job in another directory, where the relative sqlite URI names another file,
    builds its own."""
    home, elsewhere = tmp_path / "project", tmp_path / "elsewhere"
    home.mkdir()
    elsewhere.mkdir()
    path, cwd = str(tmp_path / "s"), os.getcwd()
    os.chdir(home)  # the spawned server starts here, as the Snakefile's onstart in the project root
    try:
        proc = multiprocessing.get_context("spawn").Process(
            target=serve, args=(path, process_id(), (), "tests.test_warm:probe", ("sqlite:///mlflow.db", "t"))
        )
        proc.start()
    finally:
        os.chdir(cwd)
    try:
        for _ in range(400):
            if os.path.exists(path):
                break
            time.sleep(0.05)
        assert (home / "mlflow.db").exists()  # created by the server
        for where, built in ((home, 1), (elsewhere, 0)):
            out, _ = command(path, "store", cwd=where).communicate(timeout=60)
            assert out.startswith(f"built={built} db={where / 'mlflow.db'} ")
            assert not built or out.endswith(" pooled=1\n")
    finally:
        proc.terminate()
        proc.join(10)


def _until(predicate, seconds=10.0):
    deadline = time.time() + seconds
    while not (found := predicate()) and time.time() < deadline:
        time.sleep(0.05)
    return found


def _children(pid: int) -> list[int]:
    stats = {int(d.name): proc_stat(int(d.name)) for d in Path("/proc").iterdir() if d.name.isdigit()}
    return [c for c, f in stats.items() if f and int(f[1]) == pid and f[0] != "Z"]


def test_spare_children_are_forked_ahead_replaced_when_they_die_and_gone_after_the_server(tmp_path):
    path = str(tmp_path / "s")
    proc = multiprocessing.get_context("spawn").Process(
        target=serve, args=(path, process_id(), (), "tests.test_warm:probe")
    )
    waiting = lambda: len(found := _children(proc.pid)) == SPARES and found
    proc.start()
    try:
        first = _until(waiting)  # before any job has come
        for pid in first:
            os.kill(pid, signal.SIGKILL)
        job = command(path, "exit", "0")
        job.communicate("", timeout=30)
        assert job.returncode == 0  # the server forked other spares, one of which took the job
        spares = _until(lambda: (found := waiting()) and not set(found) & set(first) and found)  # and one more
        os.kill(spares[0], signal.SIGTERM)  # a spare ends alone: the server's SIGTERM handler and cleanup are not its
        assert _until(lambda: proc_stat(spares[0]) is None)
        assert os.path.exists(path)
        job = command(path, "exit", "0")
        job.communicate("", timeout=30)
        assert job.returncode == 0
        spares = _until(waiting)
    finally:
        proc.terminate()
        proc.join(10)
    gone = lambda pid: proc_stat(pid) is None or proc_stat(pid)[0] == "Z"
    assert _until(lambda: all(gone(pid) for pid in spares), 5), "a spare outlived its server"


def test_a_burst_of_jobs_takes_the_spares_and_more_and_taken_spares_are_replaced_later(tmp_path):
    path, refill_s = str(tmp_path / "s"), 6.0
    proc = multiprocessing.get_context("spawn").Process(
        target=serve, args=(path, process_id(), (), "tests.test_warm:probe"), kwargs={"refill_s": refill_s}
    )
    proc.start()
    jobs = []
    try:
        assert _until(lambda: len(_children(proc.pid)) == SPARES)
        for n in (1, SPARES):  # one job, then a burst larger than the spares left
            new = [command(path, "sleep") for _ in range(n)]
            jobs += new
            t0 = time.time()
            assert all(job.stdout.readline() == "ready\n" for job in new)
            assert time.time() - t0 < refill_s  # none waited for a refill
            if n == 1:  # its spare is not replaced yet (forking would take CPU from the jobs starting)
                assert len(_children(proc.pid)) - len(jobs) == SPARES - 1
        # the burst left no spare, so the server forked the last job's at once; the rest come refill_s later
        assert _until(lambda: len(_children(proc.pid)) - len(jobs) == SPARES, 2 * refill_s)
    finally:
        for job in jobs:
            job.terminate()
            job.communicate(timeout=30)
        proc.terminate()
        proc.join(10)


def test_without_a_reachable_server_the_command_runs_the_stage_itself(tmp_path):
    env = {**os.environ, ENV: str(tmp_path / "gone"), "PYTHONPATH": str(ROOT)}
    res = subprocess.run(
        [sys.executable, "-m", "pipeline", "nope"], env=env, capture_output=True, text=True, timeout=60
    )
    assert res.returncode == 1 and "unknown stage 'nope'; known stages: analyze" in res.stderr
