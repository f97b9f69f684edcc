"""One prepare job over several tasks (data.group_tasks) writes what one job per task writes, with a
log and an MLflow run per task."""

from __future__ import annotations

import sqlite3
import subprocess
import sys

import pytest

from pipeline.core.config import ROOT

MICRO = ROOT / ".test" / "params.yaml"
TASKS = ["tiny_sudoku", "tiny_arithmetic"]
SPLITS = ("train", "validation", "test")


def _prepare(project, *args):
    cmd = [sys.executable, "-m", "pipeline", "prepare", "--params", str(MICRO), *args]
    env = {"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}
    return subprocess.run(cmd, cwd=project, capture_output=True, text=True, timeout=300, env=env)


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    project = tmp_path_factory.mktemp("project")
    grouped = [a for t in TASKS for a in ("--task", t, "--out", f"grouped/{t}", "--log", f"logs/grouped/{t}.log")]
    res = _prepare(project, *grouped)
    assert res.returncode == 0, res.stderr[-3000:]
    res = _prepare(project, "--task", TASKS[1], "--out", f"alone/{TASKS[1]}", "--log", "logs/alone.log")
    assert res.returncode == 0, res.stderr[-3000:]
    return project


def test_a_task_in_a_grouped_job_gets_the_splits_of_its_own_job(project):
    for split in SPLITS:
        grouped, alone = (project / d / TASKS[1] / f"{split}.jsonl" for d in ("grouped", "alone"))
        assert grouped.read_bytes() == alone.read_bytes() and grouped.stat().st_size > 0
    assert all((project / "grouped" / TASKS[0] / f"{s}.jsonl").exists() for s in SPLITS)


def test_each_task_has_its_own_log_and_run(project):
    for task in TASKS:
        log = (project / "logs" / "grouped" / f"{task}.log").read_text()
        assert f"[prepare] {task}/train" in log and not any(f"[prepare] {t}/" in log for t in TASKS if t != task)
    db = sqlite3.connect(project / "mlflow.db")
    names = [n for (n,) in db.execute("select name from runs where name like 'prepare/%' order by start_time")]
    assert names == [f"prepare/{t}" for t in [*TASKS, TASKS[1]]]


def test_unpaired_outputs_are_refused_in_one_line(tmp_path):
    res = _prepare(tmp_path, "--task", TASKS[0], "--task", TASKS[1], "--out", "only/one")
    assert res.returncode != 0 and res.stderr.strip().splitlines() == [
        "error: 2 --task, 1 --out and 0 --log: give one --out (and one --log, or none) per --task, in the same order"
    ]
