"""One evaluate job over several tasks (eval.group_tasks) writes what one job per task writes: the
same generations and metrics, a log and an MLflow run per task, and the process start counted once."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys

import pytest

from pipeline.core.config import ROOT, load_params
from pipeline.model import io
from pipeline.stages import prepare

MICRO = ROOT / ".test" / "params.yaml"
TASKS = ["tiny_sudoku", "tiny_arithmetic"]


def _evaluate(project, *args):
    cmd = [sys.executable, "-m", "pipeline", "evaluate", "--params", str(MICRO), "--protocol", "d1"]
    cmd += ["--model", "results/models/base", "--data", "results/data", *args]
    env = {"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}
    return subprocess.run(cmd, cwd=project, capture_output=True, text=True, timeout=300, env=env)


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    project = tmp_path_factory.mktemp("project")
    for task in TASKS:
        prepare.main(["--params", str(MICRO), "--task", task, "--out", str(project / "results" / "data" / task)])
    model, tok = io.build_scratch(load_params(MICRO)["model"])
    io.save(model, tok, project / "results" / "models" / "base")
    grouped = [a for t in TASKS for a in ("--task", t, "--out", f"grouped/{t}", "--log", f"logs/grouped/{t}.log")]
    res = _evaluate(project, *grouped)
    assert res.returncode == 0, res.stderr[-3000:]
    res = _evaluate(project, "--task", TASKS[1], "--out", f"alone/{TASKS[1]}", "--log", "logs/alone.log")
    assert res.returncode == 0, res.stderr[-3000:]
    return project


def test_a_task_in_a_grouped_job_decodes_as_in_its_own_job(project):
    for L in load_params(MICRO)["eval"]["gen_lengths"]:
        grouped, alone = project / "grouped" / TASKS[1] / f"L{L}", project / "alone" / TASKS[1] / f"L{L}"
        assert (grouped / "generations.jsonl").read_text() == (alone / "generations.jsonl").read_text()
        drop = lambda m: {k: v for k, v in m.items() if k != "seconds"}
        metrics = [json.loads((d / "metrics.json").read_text()) for d in (grouped, alone)]
        assert drop(metrics[0]) == drop(metrics[1]) and metrics[0]["task"] == TASKS[1]


def test_each_task_has_its_own_log_and_run_and_the_start_counts_once(project):
    for task in TASKS:
        log = (project / "logs" / "grouped" / f"{task}.log").read_text()
        assert f"base/{task}/L" in log and not any(f"base/{t}/L" in log for t in TASKS if t != task)
    db = sqlite3.connect(project / "mlflow.db")
    runs = db.execute(
        "select r.name, m.value from runs r join metrics m on r.run_uuid = m.run_uuid"
        " where m.key = 'time/startup_s' order by r.start_time"
    ).fetchall()
    assert [name for name, _ in runs] == [f"evaluate/d1/base/{t}" for t in [*TASKS, TASKS[1]]]
    first, second, alone = (v for _, v in runs)
    assert second < first and second < alone  # the second run starts where the first ended


def test_unpaired_tasks_and_outputs_are_refused_in_one_line(project):
    res = _evaluate(project, "--task", TASKS[0], "--task", TASKS[1], "--out", "x")
    assert res.returncode != 0 and "give one --out (and one --log, or none) per --task" in res.stderr
    assert not (project / "x").exists()
