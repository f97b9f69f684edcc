"""workflow/Snakefile and dvc.yaml describe the same DAG: same stages, commands, deps and outs."""
import pytest

from pipeline.core.config import ROOT
from tests.helpers import covered, dvc_stages, snakemake_jobs


@pytest.fixture(scope="module")
def graphs():
    return snakemake_jobs(ROOT, ["results/table1.csv", "flexibility_trap", "results/reference/d1_llada_instruct.csv"]), dvc_stages(ROOT)


def test_same_commands(graphs):
    smk, dvc = graphs
    assert sorted(j["cmd"] for j in smk) == sorted(s["cmd"] for s in dvc)


def test_same_stage_names_deps_and_outs(graphs):
    smk, dvc = graphs
    by_cmd = {s["cmd"]: s for s in dvc}
    for job in smk:
        stage = by_cmd[job["cmd"]]
        assert stage["name"].split("@")[0].startswith(job["rule"])
        for out in job["output"]:
            assert covered(out, stage["outs"]), f"{job['rule']}: output {out} not an out of {stage['name']}"
        for out in stage["outs"]:
            assert any(covered(o, [out]) for o in job["output"]), f"{stage['name']}: out {out} unknown to Snakemake"
        for dep in job["input"]:
            assert covered(dep, stage["deps"]), f"{job['rule']}: input {dep} not a dep of {stage['name']}"
        for dep in stage["deps"]:
            assert any(covered(i, [dep]) for i in job["input"]), f"{stage['name']}: dep {dep} unknown to Snakemake"
