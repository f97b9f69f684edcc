"""A stage told to stop (SIGTERM), or whose orchestrator died, ends its run KILLED with every metric
point it logged; its exit status says it was terminated."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from mlflow.tracking import MlflowClient

from pipeline.core.config import ROOT
from pipeline.core.processes import ORCHESTRATOR_ENV, process_id

WORKER = Path(__file__).with_name("stage_worker.py")


def _start(project: Path, env: dict) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, str(WORKER), str(project)],
        env={**env, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout.readline().strip() == "ready"
    return proc


def _the_run(project: Path):
    client = MlflowClient(f"sqlite:///{project / 'mlflow.db'}")
    exp = client.get_experiment_by_name("t").experiment_id
    (run,) = client.search_runs([exp], "tags.stage = 'rl'")
    return run, [m.step for m in client.get_metric_history(run.info.run_id, "loss")]


def _env() -> dict:
    return {k: v for k, v in os.environ.items() if not k.startswith("PIPELINE_")}


def test_sigterm_ends_the_run_killed_with_every_point(tmp_path):
    proc = _start(tmp_path, _env())
    time.sleep(0.3)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 143
    run, steps = _the_run(tmp_path)
    assert (run.info.status, run.data.tags["ended_by"]) == ("KILLED", "SIGTERM")
    assert steps == list(range(len(steps))) and len(steps) >= 5  # nothing lost, nothing twice


def test_a_stage_stops_when_its_orchestrator_dies(tmp_path):
    orchestrator = subprocess.Popen(["sleep", "120"])
    try:
        proc = _start(tmp_path, {**_env(), ORCHESTRATOR_ENV: process_id(orchestrator.pid)})
        orchestrator.kill()
        orchestrator.wait()
        t0 = time.time()
        assert proc.wait(timeout=30) == 143
        assert time.time() - t0 < 10
    finally:
        orchestrator.kill()
    run, _ = _the_run(tmp_path)
    assert run.info.status == "KILLED"
