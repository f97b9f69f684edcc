"""workflow/Snakefile and dvc.yaml describe the same DAG -- same commands, outputs, dependencies and
params keys -- for every profile; and the comparison itself catches the drift it is there for."""

import ast
import copy
from pathlib import Path

import pytest

from pipeline.core.checkout import project_files
from pipeline.core.config import ROOT, load_params
from tests.workflow.dag import disagreements, dvc_stages, snakemake_jobs

PROFILES = {"tiny": ("params.yaml", "dvc.yaml"), "paper": ("profiles/paper/params.yaml", "profiles/paper/dvc.yaml")}


@pytest.fixture(scope="module", params=list(PROFILES))
def graphs(request):
    params_file, dvcfile = PROFILES[request.param]
    configfile = None if params_file == "params.yaml" else params_file
    results = load_params(ROOT / params_file)["paths"]["results"]
    return (snakemake_jobs(ROOT, ["everything"], configfile), dvc_stages(ROOT, dvcfile), project_files(ROOT), results)


def test_snakemake_and_dvc_agree(graphs):
    smk, dvc, files, results = graphs
    assert len(smk) > 20 and all(o.startswith(results + "/") for j in smk for o in j["output"])
    assert disagreements(smk, dvc, files, results) == []


def test_every_profile_runs_the_projects_dvc_yaml():
    """A copy, not a link: DVC reads committed revisions (``dvc exp show``) without following links."""
    for name, (_, dvcfile) in PROFILES.items():
        path = ROOT / dvcfile
        assert not path.is_symlink(), f"{dvcfile} is a link; replace it with a copy of dvc.yaml"
        assert path.read_bytes() == (ROOT / "dvc.yaml").read_bytes(), f"{name}: run `cp dvc.yaml {dvcfile}`"


def _drift(graphs, stage_prefix, change):
    smk, dvc, files, results = copy.deepcopy(graphs)
    stage = next(s for s in dvc if s["name"].startswith(stage_prefix))
    change(stage)
    return disagreements(smk, dvc, files, results)


def test_the_comparison_fails_on_drift(graphs):
    """Each kind of drift the old test let through is now reported."""
    results = graphs[3]
    # a params key DVC does not track (old test: params never compared)
    assert any(
        "params differ at ['eval.batch_size']" in m
        for m in _drift(graphs, "evaluate_table1", lambda s: s["params"].pop("eval.batch_size"))
    )
    # a directory dependency wider than what the stage reads (old test: any directory covered)
    assert any("DVC dep pipeline/rl/" in m for m in _drift(graphs, "table", lambda s: s["deps"].append("pipeline")))
    assert any(
        "DVC dep " + results + "/data/" in m
        for m in _drift(graphs, "evaluate_table1", lambda s: s["deps"].append(results + "/data"))
    )
    # a code dependency missing on the DVC side, and an output only one side knows
    assert any("is no DVC dep" in m for m in _drift(graphs, "sft", lambda s: s["deps"].remove("pipeline/training")))
    assert any("outputs" in m for m in _drift(graphs, "reference", lambda s: s["outs"].pop()))


# ----------------------------------------------------------------------- code dependencies


def _module_file(module: str) -> Path | None:
    base = ROOT / Path(*module.split("."))
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.exists():
            return path
    return None


def _imports(path: Path) -> set[str]:
    """pipeline modules ``path`` imports anywhere, except inside the params validator's functions
    (validation reads every registry, but a valid configuration runs the same code whatever it says)."""
    tree = ast.parse(path.read_text())
    skip = set()
    if path == ROOT / "pipeline" / "core" / "config.py":
        skip = {id(n) for f in tree.body if isinstance(f, ast.FunctionDef) for n in ast.walk(f)}
    found = set()
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("pipeline"):
            found.add(node.module)
            found |= {f"{node.module}.{a.name}" for a in node.names}
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("pipeline")}
    return found


def import_closure(module: str) -> set[str]:
    """Files of every pipeline module ``module`` reaches by imports (packages' __init__ included)."""
    seen, todo = set(), [module]
    while todo:
        mod = todo.pop()
        parts = mod.split(".")
        for i in range(1, len(parts) + 1):  # importing a.b.c runs a/__init__ and a/b/__init__ too
            path = _module_file(".".join(parts[:i]))
            if path is not None and path not in seen:
                seen.add(path)
                todo += sorted(_imports(path))
    return {str(p.relative_to(ROOT)) for p in seen}


def test_every_module_a_stage_imports_is_a_dependency_of_its_rule(graphs):
    smk = graphs[0]
    missing = {}
    for job in smk:
        needed = import_closure(f"pipeline.stages.{job['rule']}") - {"pipeline/__init__.py"}
        lacking = needed - set(job["input"])
        if lacking:
            missing[job["rule"]] = sorted(lacking)
    assert not missing, f"stages import modules their rule does not depend on: {missing}"


def test_registries_are_dynamically_loaded_and_covered():
    """Stages load components by name, which imports nothing statically: the packages of every
    registry a stage resolves are dependencies as whole directories (rl/, sampling/, tasks/)."""
    closure = import_closure("pipeline.stages.evaluate")
    assert "pipeline/sampling/__init__.py" in closure and "pipeline/tasks/__init__.py" in closure
