# Shared setup: params (validated before any rule runs), code dependencies, MLflow store.
import os
import sys
import uuid
from pathlib import Path

from snakemake.utils import min_version

min_version("8.0")


configfile: "params.yaml"


sys.path.insert(0, str(Path(workflow.basedir).parent))  # import the package from this checkout
from pipeline.config import ParamsError, validate_params
from pipeline.rl import METHODS

try:
    validate_params(config)
except ParamsError as err:
    sys.exit(f"error: {err}")

# Source files each stage runs; declared as inputs so a code change reruns exactly the stages it touches.
# dvc.yaml lists the same entries as deps (tests/test_dag_agreement.py checks both).
COMMON_CODE = [
    "pipeline/registry.py",
    "pipeline/__init__.py",
    "pipeline/cli.py",
    "pipeline/config.py",
    "pipeline/data.py",
    "pipeline/hub.py",
    "pipeline/progress.py",
    "pipeline/runtime.py",
    "pipeline/tracking.py",
    "workflow/schemas/params.schema.yaml",
]
STAGE_CODE = {
    "prepare": ["pipeline/prepare.py", "pipeline/tasks", "pipeline/execution"],
    "pretrain": ["pipeline/pretrain.py", "pipeline/model", "pipeline/training", "pipeline/tasks", "pipeline/execution"],
    "sft": ["pipeline/sft.py", "pipeline/model", "pipeline/training", "pipeline/tasks", "pipeline/execution"],
    "rl": ["pipeline/rl", "pipeline/numerics.py", "pipeline/sampling", "pipeline/model", "pipeline/training",
           "pipeline/tasks", "pipeline/execution"],
    "evaluate": ["pipeline/evaluate.py", "pipeline/evaluation.py", "pipeline/effective_tokens.py",
                 "pipeline/numerics.py", "pipeline/sampling", "pipeline/model", "pipeline/training",
                 "pipeline/tasks", "pipeline/execution"],
    "table": ["pipeline/table.py"],
    "reference": ["pipeline/reference.py", "pipeline/paper_numbers.py", "pipeline/paper_numbers.yaml",
                  "pipeline/effective_tokens.py", "pipeline/tasks", "pipeline/execution"],
    "analyze": ["pipeline/analyze.py", "pipeline/analysis", "pipeline/evaluation.py", "pipeline/effective_tokens.py",
                "pipeline/numerics.py", "pipeline/sampling", "pipeline/model", "pipeline/training",
                "pipeline/tasks", "pipeline/execution"],
}


def code(stage):
    """Files of COMMON_CODE + STAGE_CODE[stage], directories expanded to their source files."""
    files = []
    for entry in COMMON_CODE + STAGE_CODE[stage]:
        p = Path(entry)
        files += sorted(str(f) for f in p.rglob("*.py")) if p.is_dir() else [entry]
    return files


def baselines_dir():
    """d1's published generations under data.data_dir (the reference row's input)."""
    return str(Path(config["data"]["data_dir"] or "MISSING-data.data_dir") / "d1_eval_baselines")


def section(name, *keys):
    """A params section (or some of its keys): rules list it under params: so changing it reruns the rule."""
    cfg = config[name]
    return {k: cfg[k] for k in keys} if keys else cfg


def analysis_models(name):
    """Model directories an analysis reads (analysis.<name>.model or .models)."""
    cfg = config["analysis"][name]
    return [f"results/models/{m}" for m in cfg.get("models", [cfg.get("model")])]


RL_SHARED = [k for k, v in config["rl"].items() if not isinstance(v, dict)]
EVAL_DECODING = ["gen_lengths", "block_length", "sampler", "batch_size"]


wildcard_constraints:
    task="|".join(config["data"]["tasks"]),
    method="|".join(METHODS),
    init="base|sft",
    protocol="|".join(config["eval"]["protocols"]),


onstart:
    # One parent MLflow run per invocation: stages find it through this id. The store is created
    # here, once, because concurrent first use of a new sqlite store races on table creation.
    os.environ.setdefault("PIPELINE_INVOCATION_ID", f"snakemake-{uuid.uuid4().hex[:12]}")
    os.environ.setdefault("PIPELINE_INVOCATION_TOOL", "snakemake")
    from pipeline.tracking import init_store

    init_store(config["tracking"]["uri"], config["tracking"]["experiment"])
