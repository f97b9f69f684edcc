"""SIGKILL a real training stage (``python -m pipeline pretrain``) at a random step, rerun the same
command, then check what a user would: the model is bit-identical to an uninterrupted run's, the
store holds one run for the stage (FINISHED, attempt 2, no RUNNING leftovers) and exactly one
metric point per step, and the killed invocation's parent says it was killed."""

from __future__ import annotations

import os
import random
import subprocess
import sys
import time
from pathlib import Path

import yaml
from mlflow.tracking import MlflowClient

from pipeline.core.config import ROOT
from pipeline.core.mlflow_store import forget_stores
from pipeline.stages import prepare, pretrain

STEPS = 30
ENV = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}


def _project(path: Path) -> list[str]:
    """A micro project in ``path`` (prepared data, 30 pretrain steps, a checkpoint every 3); the
    pretrain command's arguments."""
    params = yaml.safe_load((ROOT / ".test" / "params.yaml").read_text())
    params["pretrain"].update(steps=STEPS, checkpoint_every=3)
    params["tracking"]["system_metrics"] = 0
    path.mkdir()
    (path / "params.yaml").write_text(yaml.safe_dump(params))
    for task in params["pretrain"]["tasks"]:
        prepare.main(
            ["--params", str(path / "params.yaml"), "--task", task, "--out", str(path / "results/data" / task)]
        )
    return ["--params", "params.yaml", "--data", "results/data", "--out", "results/models/base", "--metrics",
            "results/metrics/base.json"]  # fmt: skip


def _in(path: Path, fn, argv):
    here = os.getcwd()
    os.chdir(path)
    forget_stores()  # the relative sqlite URI names another file here
    try:
        fn(argv)
    finally:
        os.chdir(here)
        forget_stores()


def test_killed_stage_resumes_with_one_run_and_one_point_per_step(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("PIPELINE_INVOCATION_ID", raising=False)
    monkeypatch.delenv("PIPELINE_ORCHESTRATOR", raising=False)
    a, b = tmp_path / "uninterrupted", tmp_path / "killed"
    argv = _project(a)
    _project(b)
    _in(a, pretrain.main, argv)

    kill_after = random.randrange(4, STEPS - 4)  # logged steps before the kill
    wal = b / "results/checkpoints/base/metrics.wal"
    proc = subprocess.Popen([sys.executable, "-m", "pipeline", "pretrain", *argv], cwd=b, env=ENV)
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None:
        if wal.exists() and wal.read_text().count('"step"') > kill_after:
            break
        time.sleep(0.01)
    proc.kill()
    assert proc.wait() == -9, "the stage ended before it could be killed"
    assert not (b / "results/models/base").exists()  # no half output
    capsys.readouterr()
    _in(b, pretrain.main, argv)  # the same command again
    assert "[checkpoint] resuming from results/checkpoints/base/state.pt" in capsys.readouterr().out

    ref, got = (p / "results/models/base/model.safetensors" for p in (a, b))
    assert ref.read_bytes() == got.read_bytes(), f"killed after {kill_after} steps: weights differ"
    assert (a / "results/metrics/base.csv").read_text() == (b / "results/metrics/base.csv").read_text()
    assert not (b / "results/checkpoints/base").exists()  # removed once the output was complete

    client = MlflowClient(f"sqlite:///{b / 'mlflow.db'}")
    exp = client.get_experiment_by_name(yaml.safe_load((b / "params.yaml").read_text())["tracking"]["experiment"])
    runs = client.search_runs([exp.experiment_id], "tags.stage = 'pretrain'")
    assert [(r.info.status, r.data.tags["attempt"]) for r in runs] == [("FINISHED", "2")]
    assert "ended_by" not in runs[0].data.tags  # the first attempt's end is not this run's
    steps = [m.step for m in client.get_metric_history(runs[0].info.run_id, "loss")]
    assert sorted(steps) == list(range(STEPS)), f"killed after {kill_after} steps"
    everything = client.search_runs([exp.experiment_id])
    assert not [r for r in everything if r.info.status == "RUNNING"]
    (killed,) = [r for r in everything if f":{proc.pid}:" in r.data.tags.get("process", "")]
    assert "invocation_id" in killed.data.tags  # the killed process's parent run ...
    assert (killed.info.status, killed.data.tags["complete"]) == ("KILLED", "false")  # ... says so
