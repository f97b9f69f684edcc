"""The MLflow store travels with the project, and a stage run carries what the UI should show."""

import os
import shutil
import subprocess
import time

import pytest
import yaml
from mlflow.tracking import MlflowClient

from pipeline.core import mlflow_store, tracking
from pipeline.core.config import ROOT
from pipeline.core.mlflow_store import (
    LOCAL_FALLBACK,
    TrackingUnreachable,
    close_invocation,
    forget_stores,
    invocation_env,
    open_invocation,
)
from pipeline.core.tracking import StageRun

TRACKING = {
    "uri": "sqlite:///mlflow.db",
    "experiment": "t",
    "when_unreachable": "fail",
    "log_models": True,
    "system_metrics": 0,
    "rollout_samples_every": 1,
}
PARAMS = {"profile": "tiny", "tracking": TRACKING}


@pytest.fixture(autouse=True)
def fresh_stores():
    """Each test works in its own directory, where the relative sqlite URI names another file."""
    forget_stores()
    yield
    forget_stores()


@pytest.fixture
def finished(tmp_path, monkeypatch):
    """A project folder with one training run (model, inputs, log) and one evaluate run."""
    project = tmp_path / "a"
    project.mkdir()
    monkeypatch.chdir(project)
    monkeypatch.delenv("PIPELINE_INVOCATION_ID", raising=False)
    (project / "model").mkdir()
    (project / "model" / "config.json").write_text("{}")
    (project / "train.jsonl").write_text('{"prompt": "p"}\n')
    (project / "sft.log").write_text("a log line\n")
    tracking.set_stage_log(str(project / "sft.log"))
    with StageRun(PARAMS, "sft", {"steps": 3}, {"task": "x"}, run_name="sft") as run:
        run.log_metrics({"loss": 1.0}, 0)
        run.log_inputs({"x": project / "train.jsonl"})
        run.log_model(project / "model", "sft")
        run.log_table([{"step": 0, "completion": "c"}], "rollouts.json")
    tracking.set_stage_log(None)
    with StageRun(PARAMS, "evaluate", {}, run_name="evaluate") as ev:
        linked = ev.model_run_id(project / "model")
    return tmp_path, run.run_id, ev.run_id, linked


def _client():
    return MlflowClient("sqlite:///mlflow.db")


def test_a_moved_project_still_lists_every_artifact(finished, monkeypatch):
    tmp_path, run_id, _, _ = finished
    shutil.move(tmp_path / "a", tmp_path / "b")
    monkeypatch.chdir(tmp_path / "b")
    forget_stores()
    client = _client()
    assert {a.path for a in client.list_artifacts(run_id)} == {"logs", "rollouts.json"}
    assert [a.path for a in client.list_artifacts(run_id, "logs")] == ["logs/sft.log"]
    model_id = client.get_run(run_id).data.tags["logged_model_id"]
    assert [a.path for a in client.list_logged_model_artifacts(model_id)] == ["config.json"]
    assert not client.get_experiment_by_name("t").artifact_location.startswith(("/", "file:"))


def test_runs_link_models_inputs_and_parent(finished):
    _, run_id, _, linked = finished
    client = _client()
    run = client.get_run(run_id)
    assert linked == run_id  # the evaluate run finds the run that wrote its model
    assert [d.dataset.name for d in run.inputs.dataset_inputs] == ["x"]
    assert run.data.params == {"steps": "3"} and run.data.tags["task"] == "x"
    parent = client.get_run(run.data.tags["mlflow.parentRunId"])
    assert parent.data.tags["command"] and parent.info.end_time is not None
    assert client.get_experiment_by_name("t").tags["mlflow.note.content"].startswith("d1 / JustGRPO")


def test_snakemake_parent_says_whether_every_job_finished(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PIPELINE_INVOCATION_ID", "snakemake-x")
    monkeypatch.setenv("PIPELINE_INVOCATION_TOOL", "snakemake")
    open_invocation(TRACKING["uri"], "t", "snakemake-x", "snakemake", command="snakemake all", planned_jobs=2)
    with StageRun(PARAMS, "prepare", {}):
        pass
    client = _client()
    exp = client.get_experiment_by_name("t").experiment_id
    (parent,) = client.search_runs([exp], "tags.invocation_id = 'snakemake-x'")
    assert parent.info.status == "RUNNING"  # a finished stage does not finish the invocation
    close_invocation(TRACKING["uri"], "t", "snakemake-x", ok=False)
    parent = client.get_run(parent.info.run_id)
    assert parent.info.status == "FAILED" and parent.data.tags["complete"] == "false"
    assert parent.data.tags["planned_jobs"] == "2" and parent.data.tags["command"] == "snakemake all"


def test_under_snakemake_a_stage_nests_under_onstarts_parent_without_searching_or_reaping(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PIPELINE_INVOCATION_ID", "snakemake-y")
    monkeypatch.setenv("PIPELINE_INVOCATION_TOOL", "snakemake")
    for key, value in invocation_env(TRACKING["uri"], "t", "snakemake-y", "snakemake").items():
        monkeypatch.setenv(key, value)

    def done_by_onstart(*args):
        raise AssertionError("onstart has looked up the experiment, reaped and opened the parent already")

    for name in ("ensure_experiment", "reap_dead_runs", "find_or_open_parent"):
        monkeypatch.setattr(mlflow_store, name, done_by_onstart)
    monkeypatch.setattr(subprocess, "run", done_by_onstart)  # no git: the commit came with the environment
    with StageRun(PARAMS, "prepare", {}) as run:
        pass
    tags = _client().get_run(run.run_id).data.tags
    assert tags["mlflow.parentRunId"] == os.environ[mlflow_store.PARENT_ENV]
    assert tags["git_commit"] == os.environ[mlflow_store.COMMIT_ENV]


def test_training_runs_sample_system_metrics(tmp_path, monkeypatch):
    """MLflow logs a sample per interval (none for a run shorter than one)."""
    monkeypatch.chdir(tmp_path)
    params = {**PARAMS, "tracking": {**TRACKING, "system_metrics": 0.3}}
    with StageRun(params, "rl", {}, system_metrics=True) as run:
        time.sleep(1.0)
    metrics = _client().get_run(run.run_id).data.metrics
    assert "system/cpu_utilization_percentage" in metrics and "system/system_memory_usage_megabytes" in metrics


def test_an_unreachable_server_fails_in_seconds_or_falls_back_to_a_local_store(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    dead = {**TRACKING, "uri": "http://127.0.0.1:9"}  # nothing listens on the discard port
    t0 = time.time()
    with pytest.raises(TrackingUnreachable, match="when_unreachable: local"):
        StageRun({**PARAMS, "tracking": dead}, "prepare", {}).__enter__()
    assert time.time() - t0 < 10
    with StageRun({**PARAMS, "tracking": {**dead, "when_unreachable": "local"}}, "prepare", {}) as run:
        run.log_metrics({"n": 1.0})
    assert run.uri == LOCAL_FALLBACK and (tmp_path / "mlflow-local.db").exists()


def test_a_stage_reports_an_unreachable_server_in_one_line(tmp_path, monkeypatch):
    import pipeline.__main__ as dispatcher

    monkeypatch.chdir(tmp_path)
    params = yaml.safe_load((ROOT / ".test" / "params.yaml").read_text())
    params["tracking"]["uri"] = "http://127.0.0.1:9"
    (tmp_path / "p.yaml").write_text(yaml.safe_dump(params))
    with pytest.raises(SystemExit) as exit_:
        dispatcher.main(["prepare", "--params", "p.yaml", "--task", "tiny_sudoku", "--out", "d"])
    assert str(exit_.value.code).startswith("error: tracking.uri http://127.0.0.1:9 is unreachable")
    assert not (tmp_path / "d").exists()


def test_a_run_splits_its_job_time_into_startup_phases_work_and_close(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with StageRun(PARAMS, "evaluate", {}) as run:
        with run.phase("load_model"):
            time.sleep(0.2)
        time.sleep(0.3)  # the work
    m = _client().get_run(run.run_id).data.metrics
    assert m["time/load_model_s"] >= 0.2 and m["time/work_s"] >= 0.3
    assert m["time/startup_s"] > 0  # this test process started before the run opened
    parts = sum(m[f"time/{k}_s"] for k in ("startup", "open", "load_model", "close", "work"))
    assert parts == pytest.approx(m["time/total_s"], rel=1e-6)
    assert m["time/overhead_frac"] == pytest.approx(1 - m["time/work_s"] / m["time/total_s"], rel=1e-6)
    assert "time/work_s" not in run._history.get(0, {})  # wall times stay out of the metrics files
