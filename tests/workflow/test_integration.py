"""The whole DAG through Snakemake (and DVC) on the micro config in .test/params.yaml, and the paper
profile selected by --configfile (a dry run: params.yaml untouched, its own results root).

Runs in a copy of the tracked files so the checkout's results/ and mlflow.db are untouched.
"""

import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from pipeline.core.checkout import copy_checkout
from pipeline.core.config import ROOT

MICRO = ROOT / ".test" / "params.yaml"

SMK = [sys.executable, "-m", "snakemake", "--cores", "2"]
# Rules call `python`: make it this interpreter even when the venv is not activated.
ENV = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}


def _run(cmd, cwd, timeout=900):  # a guard against hangs, not a time limit (busy CI machines are slow)
    res = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout, env=ENV)
    assert res.returncode == 0, f"{' '.join(map(str, cmd))} failed:\n{res.stdout[-3000:]}\n{res.stderr[-5000:]}"
    return res.stdout + res.stderr


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    dst = copy_checkout(ROOT, tmp_path_factory.mktemp("project"), MICRO)
    for cmd in (
        ["git", "init", "-q"],
        ["git", "add", "-A"],
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "snapshot"],
    ):
        subprocess.run(cmd, cwd=dst, check=True, capture_output=True)
    return dst


@pytest.fixture(scope="module")
def snakemake_run(project):
    return _run(SMK + ["results/table1.csv", "results/claims.csv"], project)


def test_dag_runs_end_to_end(project, snakemake_run):
    # its wall time is a measurement (benchmarks/stage_times.py), not an assertion
    table = (project / "results" / "table1.csv").read_text().splitlines()
    assert table[0] == "model,tiny_sudoku@16,tiny_sudoku@32,tiny_arithmetic@16,tiny_arithmetic@32"
    assert [r.split(",")[0] for r in table[1:]] == [
        "base",
        "+SFT",
        "+diffu-GRPO",
        "d1 (SFT + diffu-GRPO)",
        "more base training (= +diffu-GRPO compute)",
        "more SFT (= d1 compute)",
    ]
    assert (
        "holds" in (project / "results" / "claims.md").read_text()
        or "undecided" in (project / "results" / "claims.md").read_text()
    )
    assert (project / "results" / "eval" / "d1" / "sft" / "tiny_sudoku" / "L32" / "generations.jsonl").exists()
    # every stage ran in a process forked from the warm server (runtime.warm_start), one per job
    log = (project / "results" / "logs" / "warm_server.log").read_text()
    jobs = len(list((project / "results" / "benchmarks").rglob("*.tsv")))
    assert int(log.split(" stage processes forked")[0].split()[-1]) == jobs, log


def test_rerun_is_a_no_op(project, snakemake_run):
    out = _run(SMK + ["results/table1.csv"], project)
    assert "Nothing to be done" in out


def test_changing_one_rl_param_reruns_only_rl_evaluate_table(project, snakemake_run):
    params = yaml.safe_load((project / "params.yaml").read_text())
    params["rl"]["methods"]["diffu_grpo"]["beta"] = 0.0
    (project / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    out = _run(SMK + ["-n", "results/table1.csv", "results/claims.csv"], project)
    stats = out.split("Job stats:")[1].split("total")[0]
    counts = {line.split()[0]: int(line.split()[1]) for line in stats.splitlines()[3:] if line.strip()}
    # 2 diffu-GRPO models and their 2 equal-compute controls, each evaluated on both tasks in one job
    # (eval.group_tasks); the table and the claims
    assert counts == {"rl": 2, "more_sft": 2, "evaluate_d1": 4, "table": 1, "claims": 1}


def test_mlflow_has_one_run_per_stage_under_one_parent(project, snakemake_run):
    db = sqlite3.connect(project / "mlflow.db")
    rows = db.execute(
        "select r.run_uuid, t.value from runs r join tags t on r.run_uuid = t.run_uuid where t.key = 'stage'"
    ).fetchall()
    stages = sorted(v for _, v in rows)
    assert stages.count("evaluate") == 12 and stages.count("rl") == 2 and stages.count("table") == 1
    parents = {p for (p,) in db.execute("select value from tags where key = 'mlflow.parentRunId'")}
    assert len(parents) == 1
    metrics = {k for (k,) in db.execute("select distinct key from metrics")}
    assert {"loss", "reward", "accuracy", "accuracy_L16"} <= metrics


def test_mlflow_runs_carry_artifacts_models_and_links(project, snakemake_run):
    """What the UI shows, read through the MLflow client from the project root (the store is relative)."""
    code = """
import json
from mlflow.tracking import MlflowClient
c = MlflowClient("sqlite:///mlflow.db")
exp = c.get_experiment_by_name("dllm-rl").experiment_id
ev = c.search_runs([exp], "tags.stage = 'evaluate' and tags.model = 'sft' and tags.task = 'tiny_sudoku'")[0]
rl = c.search_runs([exp], "tags.stage = 'rl' and tags.init = 'base'")[0]
parent = c.get_run(rl.data.tags["mlflow.parentRunId"])
print(json.dumps({
    "eval_artifacts": sorted(a.path for a in c.list_artifacts(ev.info.run_id, "L16"))
    + [a.path for a in c.list_artifacts(ev.info.run_id, "logs")],
    "accuracy_by_length": [m.step for m in c.get_metric_history(ev.info.run_id, "accuracy")],
    "linked": ev.data.tags["model_run_id"]
    == c.search_runs([exp], "tags.trained_model = 'results/models/sft'")[0].info.run_id,
    "rl_model": [a.path for a in c.list_logged_model_artifacts(rl.data.tags["logged_model_id"])],
    "rl_rollouts": sorted(a.path for a in c.list_artifacts(rl.info.run_id)),
    "rl_inputs": sorted(d.dataset.name for d in rl.inputs.dataset_inputs),
    "system": any(k.startswith("system/") for k in rl.data.metrics),
    "parent": [parent.info.status, parent.data.tags["complete"], parent.data.tags["command"]],
}))
"""
    got = json.loads(
        subprocess.run([sys.executable, "-c", code], cwd=project, capture_output=True, text=True, check=True).stdout
    )
    assert got["eval_artifacts"] == ["L16/generations.jsonl", "L16/metrics.json", "logs/tiny_sudoku.log"]
    assert got["accuracy_by_length"] == [16, 32] and got["linked"]
    assert "model.safetensors" in got["rl_model"] and "config.json" in got["rl_model"]
    assert "rollouts.json" in got["rl_rollouts"] and "logs" in got["rl_rollouts"]
    assert got["rl_inputs"] == ["tiny_arithmetic", "tiny_sudoku"]  # system metrics: test_tracking (runs here are short)
    assert got["parent"][:2] == ["FINISHED", "true"] and "snakemake" in got["parent"][2]


def test_dvc_metrics_and_plots_show_a_snakemake_run(project, snakemake_run):
    dvc = str(Path(sys.executable).parent / "dvc")
    metrics = _run([dvc, "metrics", "show"], project)
    assert "results/table1.json" in metrics and "results/metrics/diffu_grpo_from_base/all.json" in metrics
    plots = _run([dvc, "plots", "show", "--json"], project)
    assert '"results/metrics/diffu_grpo_from_base/all.csv"' in plots and '"reward"' in plots


def test_report_holds_the_table(project, snakemake_run):
    _run([*SMK, "--report", "report.html", "results/table1.csv", "results/claims.csv"], project)
    html = (project / "report.html").read_text()
    assert "table1.csv" in html and "claims.md" in html and "paired difference" in html


def test_a_bad_command_line_value_is_blamed_on_the_command_line(project):
    res = subprocess.run(
        [*SMK, "-n", "--config", 'sft={"steps": "ten"}'], cwd=project, capture_output=True, text=True, env=ENV
    )
    assert res.returncode != 0
    assert "invalid --config on the command line (over params.yaml): sft.steps: 'ten'" in res.stdout + res.stderr


def test_an_unreachable_tracking_server_stops_the_invocation_at_once(project):
    t0 = time.time()
    res = subprocess.run(
        [*SMK, "results/table1.csv", "--config", 'tracking={"uri": "http://127.0.0.1:9"}'],
        cwd=project,
        capture_output=True,
        text=True,
        env=ENV,
    )
    assert res.returncode != 0 and time.time() - t0 < 60
    assert "error: tracking.uri http://127.0.0.1:9 is unreachable" in res.stderr
    assert "Traceback" not in res.stderr


def test_lint_is_clean(project):
    res = subprocess.run(
        [sys.executable, "-m", "snakemake", "--lint"], cwd=project, capture_output=True, text=True, timeout=120
    )
    assert res.returncode == 0 and "Congratulations" in res.stdout + res.stderr, res.stdout + res.stderr


def test_dvc_repro_runs_the_same_stages_and_second_run_is_a_no_op(tmp_path_factory, project, snakemake_run):
    """dvc repro on its own copy (DVC keeps its own lock file): one evaluate cell's chain -- every kind of
    training stage, then an evaluation -- then nothing. (The whole table-1 chain is listed, not run:
    the DAG agreement test checks its commands equal Snakemake's, and DVC runs stages one at a time.)
    DVC starts every stage as a fresh process; Snakemake forked them from the warm server: the same
    generations, token for token."""
    dst = copy_checkout(ROOT, tmp_path_factory.mktemp("dvc_project"), MICRO)
    subprocess.run(["git", "init", "-q"], cwd=dst, check=True)
    dvc = [str(Path(sys.executable).parent / "dvc"), "repro"]
    listed = _run([*dvc, "table@table1", "--dry", "--force"], dst)  # a fresh checkout: every command, nothing run
    assert "Running stage 'table@table1'" in listed and not (dst / "results" / "models").exists()
    cell = "evaluate_table1@diffu_grpo_from_sft-tiny_sudoku"
    first = _run([*dvc, cell], dst, timeout=1200)
    for stage in ("prepare@tiny_sudoku", "pretrain", "sft", "rl@diffu_grpo-sft-all", cell):
        assert f"Running stage '{stage}'" in first
    metrics = dst / "results/eval/d1/diffu_grpo_from_sft/tiny_sudoku/L16/metrics.json"
    assert json.loads(metrics.read_text())["task"] == "tiny_sudoku"
    for L in (16, 32):
        generations = f"results/eval/d1/diffu_grpo_from_sft/tiny_sudoku/L{L}/generations.jsonl"
        assert (dst / generations).read_text() == (project / generations).read_text()
    second = _run([*dvc, cell], dst, timeout=300)
    assert "Running stage" not in second


def test_paper_profile_is_selected_without_touching_params_yaml(project):
    before = (project / "params.yaml").read_bytes()
    out = _run(SMK + ["-n", "-p", "results/paper/table1.csv", "--configfile", "profiles/paper/params.yaml"], project)
    assert "--params profiles/paper/params.yaml --task gsm8k --out results/paper/data/gsm8k" in out
    assert "--params params.yaml" not in out and " results/models/" not in out  # nothing of the tiny profile
    assert (project / "params.yaml").read_bytes() == before


def test_command_line_overrides_reach_the_stages(project):
    """--config values are merged into a snapshot the stages read, named by its hash."""
    out = _run(SMK + ["-n", "-p", "--forceall", "results/models/sft", "--config", 'sft={"steps": 3}'], project)
    snapshot = next(
        p for p in (project / ".snakemake" / "params").glob("*.yaml") if f"--params .snakemake/params/{p.name}" in out
    )
    assert yaml.safe_load(snapshot.read_text())["sft"]["steps"] == 3


def test_dag_labels_name_the_task(project):
    dot = _run([*SMK, "--dag", "dot", "results/table1.csv"], project)
    assert 'label = "evaluate_d1\\nmodel: base"' in dot  # one job over the model's tasks (eval.group_tasks)
    assert 'label = "prepare_tasks"' in dot  # one job over every task (data.group_tasks)
