"""Process start times, which every stage run's ``time/startup_s`` is measured from."""

import subprocess
import sys
import time

import pytest

from pipeline.core import processes


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc")
def test_a_process_start_is_placed_to_the_clock_tick_not_to_the_boot_seconds_whole_second():
    before = time.time()
    child = subprocess.Popen(
        [sys.executable, "-c", "import time, sys; print(time.time()); sys.stdin.read()"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        first_statement = float(child.stdout.readline())
        start = processes.started_at(child.pid)
    finally:
        child.communicate("")
    # a tick is 10 ms; /proc/stat's whole-second btime used to put this up to 1 s before `before`
    assert before - 0.02 <= start <= first_statement


def test_a_forked_stage_counts_its_job_from_the_commands_start(monkeypatch):
    command = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE)
    try:
        monkeypatch.setenv(processes.CALLER_ENV, processes.process_id(command.pid))
        assert processes.job_started_at() == pytest.approx(processes.started_at(command.pid), abs=1e-3)
        monkeypatch.delenv(processes.CALLER_ENV)
        assert processes.job_started_at() == pytest.approx(processes.started_at(), abs=1e-3)
    finally:
        command.communicate(b"")
