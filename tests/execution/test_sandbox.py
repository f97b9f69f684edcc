"""Hostile programs against pipeline.execution.sandbox: each must be contained and score 0.

Every test runs in both isolation layouts where they apply: "namespaces" (the CI layout:
root + unshare) and "fallback". Checks the fallback cannot honour are skipped with the
reason; tests needing root are skipped when not root; namespace tests on a host without them
are skipped with the probe's own reason.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import textwrap
import uuid
from pathlib import Path

import pytest

from pipeline.execution import sandbox
from pipeline.execution.sandbox import Limits, run_program, run_programs

REPO = Path(__file__).resolve().parents[2]
FAST = Limits(timeout=1.0)
IS_ROOT = os.geteuid() == 0


@pytest.fixture(params=["namespaces", "fallback"])
def isolation(request):
    if request.param == "namespaces":
        needs_namespaces()
    return request.param


def needs_namespaces() -> None:
    if sandbox.isolation_mode() != "namespaces":
        pytest.skip(f"namespace isolation unavailable here: {sandbox.fallback_reason()}")


def run(source: str, isolation: str, limits: Limits = FAST, **kwargs):
    return run_program(textwrap.dedent(source), limits, isolation=isolation, **kwargs)


def sandbox_processes() -> list[int]:
    """PIDs of live processes owned by any sandbox uid (there must be none between runs)."""
    found = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(line.split(":", 1) for line in status.read_text().splitlines() if ":" in line)
        except OSError:
            continue  # exited while we looked
        uid = int(fields["Uid"].split()[0])
        if sandbox.UID_BASE <= uid < sandbox.UID_BASE + sandbox.MAX_CONCURRENT and "Z" not in fields["State"]:
            found.append(int(status.parent.name))
    return found


# --- ordinary programs -------------------------------------------------------------------


def test_passing_program_and_its_output(isolation):
    r = run("print('hello'); x = sum(range(10)); assert x == 45", isolation)
    assert (r.status, r.passed, r.stdout, r.returncode) == ("passed", True, "hello\n", 0)
    assert r.duration > 0


def test_failing_assert(isolation):
    r = run("assert 1 + 1 == 3, 'bad arithmetic'", isolation)
    assert (r.status, r.passed) == ("failed", False)
    assert "AssertionError: bad arithmetic" in r.stderr


def test_syntax_error_fails(isolation):
    assert run("def f(:\n  pass", isolation).status == "failed"


@pytest.mark.parametrize("ending", ["import sys; sys.exit(0)", "import os; os._exit(0)", "raise SystemExit"])
def test_early_exit_is_not_a_pass(isolation, ending):
    # A model must not be able to skip the asserts that follow its code by exiting cleanly.
    r = run(f"{ending}\nassert False", isolation)
    assert r.status == "failed"


def test_forged_success_marker_is_rejected(isolation):
    r = run(
        """
        import os
        for fd in range(3, 64):
            try:
                os.write(fd, b'S' + b'0' * 32)
            except OSError:
                pass
        os._exit(0)
        """,
        isolation,
    )
    assert r.status == "failed"


def test_main_guard_follows_run_as_main(isolation):
    src = "if __name__ == '__main__':\n    raise SystemExit(1)"
    assert run(src, isolation, run_as_main=True).status == "failed"
    assert run(src, isolation, run_as_main=False).status == "passed"


def test_unstartable_sandbox_is_an_error(monkeypatch):
    monkeypatch.setattr(sandbox, "PYTHON", "/nonexistent/python")
    r = run_program("pass", FAST, isolation="fallback")
    assert r.status == "error" and not r.passed


# --- time, memory, processes -----------------------------------------------------------------


def test_infinite_loop_times_out(isolation):
    r = run("while True:\n    pass", isolation)
    assert r.status == "timeout" and not r.passed
    assert r.duration < 5


def test_loop_ignoring_sigterm_and_sigxcpu_is_killed(isolation):
    r = run(
        """
        import signal
        for s in (signal.SIGTERM, signal.SIGINT, signal.SIGXCPU, signal.SIGALRM):
            signal.signal(s, signal.SIG_IGN)
        while True:
            pass
        """,
        isolation,
    )
    assert r.status == "timeout" and r.duration < 5


def test_sleeping_program_times_out(isolation):
    # Not CPU-bound, so only the wall clock can stop it.
    r = run("import time\ntime.sleep(60)", isolation)
    assert r.status == "timeout" and r.duration < 5


@pytest.mark.skipif(not IS_ROOT, reason="fork bombs are only contained by a per-sandbox uid (needs root)")
def test_fork_bomb_is_contained(isolation):
    r = run(
        """
        import os
        while True:
            try:
                os.fork()
            except OSError:
                pass
        """,
        isolation,
    )
    assert r.status == "timeout" and not r.passed
    assert sandbox_processes() == []


@pytest.mark.skipif(not IS_ROOT, reason="leftover processes are only findable by a per-sandbox uid (needs root)")
def test_detached_daemon_does_not_outlive_the_run(isolation):
    r = run(
        """
        import os, time
        if os.fork() == 0:
            os.setsid()
            if os.fork() == 0:
                time.sleep(60)
            os._exit(0)
        raise RuntimeError('the parent gives up; its grandchild should not linger')
        """,
        isolation,
    )
    assert r.status == "failed"
    assert sandbox_processes() == []


def test_memory_bomb_is_refused(isolation):
    r = run(
        """
        hog = []
        while True:
            hog.append(bytearray(50 * 2**20))
        """,
        isolation,
        Limits(timeout=10.0, memory_mb=256),
    )
    assert r.status == "failed" and "MemoryError" in r.stderr


def test_huge_stdout_is_capped(isolation):
    r = run(
        """
        import sys
        chunk = 'x' * 65536
        while True:
            sys.stdout.write(chunk)
        """,
        isolation,
        Limits(timeout=1.0, output_bytes=10_000),
    )
    assert r.status == "timeout"
    assert len(r.stdout) == 10_000 and r.truncated


def test_huge_file_is_stopped_by_rlimit_fsize(isolation):
    r = run("open('big', 'wb').write(b'x' * (64 * 2**20))", isolation, Limits(timeout=5.0, file_mb=1))
    assert r.status == "failed"


# --- the outside world -----------------------------------------------------------------------


def test_network_connect_to_localhost_fails(isolation):
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        server.settimeout(0.5)
        port = server.getsockname()[1]
        r = run(
            f"""
            import socket
            s = socket.create_connection(('127.0.0.1', {port}), timeout=2)
            s.sendall(b'escaped')
            """,
            isolation,
            Limits(timeout=3.0),
        )
        with pytest.raises(socket.timeout):
            server.accept()
    assert r.status == "failed"


def test_writes_outside_the_work_dir_fail(isolation):
    if not IS_ROOT:
        pytest.skip("without root the program runs as our uid and may write what we may write")
    tag = uuid.uuid4().hex
    targets = [REPO / f"escape-{tag}", Path(f"/tmp/escape-{tag}"), Path(f"/var/tmp/escape-{tag}")]
    if isolation == "fallback":
        # A plain uid switch cannot protect world-writable directories such as /tmp.
        targets = targets[:1]
    for target in targets:
        r = run(f"open({str(target)!r}, 'w').write('pwned')", isolation)
        assert r.status == "failed", target
        assert not target.exists(), target


def test_work_dir_is_private_writable_and_removed(isolation):
    r = run(
        """
        import os, tempfile
        open('scratch.txt', 'w').write('ok')
        with tempfile.NamedTemporaryFile() as f:
            f.write(b'ok')
        assert os.environ['HOME'] == os.environ['TMPDIR'] == os.getcwd()
        print(os.getcwd())
        """,
        isolation,
    )
    assert r.status == "passed", r.stderr
    assert not Path(r.stdout.strip(), "scratch.txt").exists()


@pytest.mark.skipif(not IS_ROOT, reason="without root the program shares our uid and could kill us")
@pytest.mark.parametrize(
    "attack",
    [
        "os.kill(os.getppid(), signal.SIGKILL)",
        "os.killpg(os.getpgid(os.getppid()), signal.SIGKILL)",
        "os.kill(-1, signal.SIGKILL); os.killpg(0, signal.SIGKILL)",
    ],
)
def test_killing_the_parent_fails(isolation, attack):
    # A sibling in the test's own process group stands in for the rest of the pipeline.
    sibling = subprocess.Popen(["sleep", "30"])
    try:
        r = run(f"import os, signal\n{attack}", isolation)
        assert r.status == "failed"
        assert sibling.poll() is None, "the sandbox killed a process outside it"
    finally:
        sibling.kill()
        sibling.wait()


def test_pool_runs_many_programs_in_order():
    sources = [f"assert {i} % 3 != 0" for i in range(12)] + ["while True: pass"]
    results = run_programs(sources, FAST, max_workers=4)
    assert [r.passed for r in results[:12]] == [i % 3 != 0 for i in range(12)]
    assert results[12].status == "timeout"


def test_default_isolation_is_namespaces_as_root():
    needs_namespaces()
    assert run_program("import os\nassert os.getpid() != 1 and os.getppid() == 1").passed


# --- which layout, and why ---------------------------------------------------------------------


def test_the_fallback_says_why_once_in_one_line(monkeypatch, caplog):
    monkeypatch.setattr(sandbox, "_mode", None)
    monkeypatch.setattr(sandbox, "PYTHON", "/nonexistent/python")  # the probe cannot start
    with caplog.at_level(logging.WARNING, logger=sandbox.__name__):
        assert [sandbox.isolation_mode() for _ in range(3)] == ["fallback"] * 3
    reason = sandbox.fallback_reason()
    assert reason and "\n" not in reason
    if IS_ROOT and shutil.which("unshare"):
        assert "/nonexistent/python" in reason  # the probe's own error, not a guess
    [record] = caplog.records
    assert record.getMessage().endswith(reason)


VENV_CHECK = """
import json
from pipeline.execution import sandbox
r = sandbox.run_program("import os, sys, tmp_venv_module; assert os.getppid() == 1; print(sys.prefix)")
print(json.dumps([sandbox.isolation_mode(), sandbox.fallback_reason(), r.status, r.stdout.strip(), r.stderr]))
"""


def test_namespaces_hold_with_the_interpreter_in_a_venv_under_tmp():
    # The private tmpfs over /tmp used to hide such a venv, so its probe failed and every
    # program silently ran in the fallback.
    needs_namespaces()
    root = Path(tempfile.mkdtemp(prefix="sandbox-venv-", dir="/tmp"))  # mode 0700, as mkdtemp makes it
    try:
        venv = root / "venv"
        base = os.path.realpath(sys.executable)
        subprocess.run([base, "-m", "venv", "--without-pip", str(venv)], check=True)
        [site] = venv.glob("lib/python*/site-packages")
        (site / "tmp_venv_module.py").write_text("")  # importable only through the venv's own dirs
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        out = subprocess.run([str(venv / "bin" / "python"), "-c", VENV_CHECK], env=env, capture_output=True, text=True)
        assert out.returncode == 0, out.stderr
        mode, reason, status, prefix, stderr = json.loads(out.stdout)
        assert (mode, reason) == ("namespaces", None)
        assert (status, prefix) == ("passed", str(venv)), stderr
    finally:
        shutil.rmtree(root)
