"""The import rules of docs/architecture.md: a module imports only from its own layer or below, the
library never imports a stage, and benchmarks never import the tests."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

LAYER = {
    "core": 0,
    "model": 1,
    "execution": 1,
    "sampling": 2,
    "tasks": 2,
    "decoding": 3,
    "training": 3,
    "rl": 3,
    "flexibility_trap": 4,
    "reports": 4,
    "stages": 5,
}
# The params validator (core) reads the registries of rl, sampling and tasks -- their light __init__
# modules only -- to build the schema; nothing else in core looks up.
ALLOWED_UP = {("pipeline/core/config.py", m) for m in ("pipeline.rl", "pipeline.sampling", "pipeline.tasks")}


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
    return found


def _package(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if parts[0] == "pipeline" and len(parts) > 1 else None


@pytest.mark.parametrize("path", sorted((ROOT / "pipeline").rglob("*.py")), ids=lambda p: str(p.relative_to(ROOT)))
def test_imports_go_down_the_layers(path):
    rel = str(path.relative_to(ROOT))
    own = rel.split("/")[1]
    if own not in LAYER:  # pipeline/__init__.py, pipeline/__main__.py (the dispatcher)
        return
    for module in _imports(path):
        pkg = _package(module)
        if pkg in LAYER and LAYER[pkg] > LAYER[own] and (rel, module) not in ALLOWED_UP:
            pytest.fail(f"{rel} (layer {own}) imports {module} (layer {pkg}, above it)")


def test_benchmarks_do_not_import_the_tests():
    for path in (ROOT / "benchmarks").glob("*.py"):
        assert not any(m == "tests" or m.startswith("tests.") for m in _imports(path)), path


def test_stages_without_a_model_start_without_torch():
    """prepare, table, claims and reference import neither torch nor transformers (about 6 s of
    every such job's start); MLflow is imported when their run opens."""
    import subprocess
    import sys

    code = (
        "import sys, pipeline.__main__, pipeline.stages.prepare, pipeline.stages.table, "
        "pipeline.stages.claims, pipeline.stages.reference; "
        "print(sorted(m for m in ('torch', 'transformers', 'mlflow') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
