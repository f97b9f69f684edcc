# Shared setup: the selected profile (validated before any rule runs), its paths, code dependencies,
# the MLflow store.
import os
import sys
import uuid
from pathlib import Path

import yaml
from snakemake.utils import min_version, update_config

min_version("8.0")


# The configuration is the profile this invocation selected: params.yaml (tiny) unless --configfile
# names another (e.g. profiles/paper/params.yaml). Snakemake merges a --configfile over a configfile:
# directive, which would mix two profiles, so the directive applies only when none is given.
if not workflow.overwrite_configfiles:

    configfile: "params.yaml"


sys.path.insert(0, str(Path(workflow.basedir).parent))  # import the package from this checkout
from pipeline.core.config import RL_SECTION_ONLY, ParamsError, params_hash, validate_params
from pipeline.rl import run_for_task
from pipeline.training.compute import control_objective


def _typed(value):
    """A --config value as YAML would read it: Snakemake leaves nested values as strings ('10')."""
    if isinstance(value, dict):
        return {k: _typed(v) for k, v in value.items()}
    return yaml.safe_load(value) if isinstance(value, str) and value.strip() else value


update_config(config, _typed(dict(workflow.config_settings.config)))


def selected_params_file():
    """The params file the stages read: the selected profile's file, or -- when --config overrides
    or several --configfile merge into something no file holds -- a snapshot of the merged
    configuration under .snakemake/params/, named by its hash so equal settings share one file."""
    files = [os.path.relpath(f) for f in workflow.overwrite_configfiles] or ["params.yaml"]
    if len(files) == 1 and yaml.safe_load(Path(files[0]).read_text()) == config:
        return files[0]
    snapshot = Path(".snakemake/params") / f"{params_hash(config)}.yaml"
    if not snapshot.exists():
        snapshot.parent.mkdir(parents=True, exist_ok=True)
        snapshot.write_text(yaml.safe_dump(dict(config), sort_keys=False))
    return str(snapshot)


PARAMS = selected_params_file()
# what an invalid value is blamed on: the command line when it set anything, else the file(s)
_FILES = " + ".join(os.path.relpath(f) for f in workflow.overwrite_configfiles) or "params.yaml"
if workflow.config_settings.config:
    SOURCE = f"--config on the command line (over {_FILES})"
else:
    SOURCE = _FILES
try:
    validate_params(config, SOURCE)
except ParamsError as err:
    sys.exit(f"error: {err}")

# The store this invocation's parent run goes to. A dead tracking server: one line now, not minutes of
# retries in every job (each stage makes the same check, and the same fallback under when_unreachable).
TRACKING_URI = config["tracking"]["uri"]
if not workflow.dryrun:
    from pipeline.core.mlflow_store import TrackingUnreachable, usable_uri

    try:
        TRACKING_URI = usable_uri(config["tracking"])
    except TrackingUnreachable as err:
        sys.exit(f"error: {err}")

R = config["paths"]["results"]  # this profile's results root: every output lies under it
RL_METHODS = list(config["rl"]["methods"])

# Source files each stage runs; declared as inputs so a code change reruns exactly the stages it
# touches. dvc.yaml lists the same entries (tests/workflow/test_dag_agreement.py checks both, and
# that every pipeline module a stage imports is covered).
STAGE_CODE = {
    "prepare": ["pipeline/stages/prepare.py", "pipeline/tasks", "pipeline/execution"],
    # training stages score checkpoints (training/selection.py) by decoding: decoding/ and sampling/
    "pretrain": [
        "pipeline/stages/pretrain.py",
        "pipeline/model",
        "pipeline/training",
        "pipeline/decoding",
        "pipeline/sampling",
        "pipeline/tasks",
        "pipeline/execution",
    ],
    "sft": [
        "pipeline/stages/sft.py",
        "pipeline/model",
        "pipeline/training",
        "pipeline/decoding",
        "pipeline/sampling",
        "pipeline/tasks",
        "pipeline/execution",
    ],
    "rl": [
        "pipeline/stages/rl.py",
        "pipeline/rl",
        "pipeline/sampling",
        "pipeline/model",
        "pipeline/training",
        "pipeline/decoding",
        "pipeline/tasks",
        "pipeline/execution",
    ],
    "evaluate": [
        "pipeline/stages/evaluate.py",
        "pipeline/rl/__init__.py",
        "pipeline/decoding",
        "pipeline/sampling",
        "pipeline/model",
        "pipeline/training",
        "pipeline/tasks",
        "pipeline/execution",
    ],
    "table": ["pipeline/stages/table.py", "pipeline/reports"],
    "claims": ["pipeline/stages/claims.py", "pipeline/flexibility_trap/__init__.py", "pipeline/reports"],
    "reference": [
        "pipeline/stages/reference.py",
        "pipeline/reports",
        "pipeline/decoding",
        "pipeline/tasks",
        "pipeline/execution",
    ],
    "analyze": [
        "pipeline/stages/analyze.py",
        "pipeline/flexibility_trap",
        "pipeline/rl/__init__.py",
        "pipeline/decoding",
        "pipeline/sampling",
        "pipeline/model",
        "pipeline/training",
        "pipeline/tasks",
        "pipeline/execution",
    ],
}
# What every stage runs: the dispatcher, the shared layer and the stage plumbing. (Params validation
# also reads the schema and the components' OPTIONS, but a valid configuration runs the same code
# whatever they say, so they are not dependencies.)
COMMON_CODE = ["pipeline/__main__.py", "pipeline/core", "pipeline/stages/__init__.py"]


def code(stage):
    """Files of COMMON_CODE + STAGE_CODE[stage], directories expanded to their tracked source files."""
    files = set()
    for entry in COMMON_CODE + STAGE_CODE[stage]:
        p = Path(entry)
        if p.is_dir():
            files |= {str(f) for f in p.rglob("*") if f.is_file() and f.suffix in (".py", ".yaml")}
        else:
            files.add(entry)
    return sorted(files)


def _key_sorted(value):
    """``value`` with every mapping's keys in sorted order: Snakemake compares a job's params by their
    text, and a section merged from ``--config`` arrives reordered, which read as a change."""
    if isinstance(value, dict):
        return {k: _key_sorted(value[k]) for k in sorted(value)}
    return [_key_sorted(v) for v in value] if isinstance(value, list) else value


def tracked(*keys):
    """The params a job reads, as {dotted key: value}. Rules pass it as ``params: tracked=...`` so that
    changing any of them reruns the job; dvc.yaml lists the same keys (the agreement test compares)."""
    out = {}
    for key in keys:
        value = config
        for part in key.split("."):
            value = value[part]
        out[key] = _key_sorted(value)
    return out


def job_resources(stage):
    """A stage's resources.<stage> over resources.default, as Snakemake resources (SLURM reads them)."""
    res = {**config["resources"]["default"], **config["resources"].get(stage, {})}
    return {"gpu": res["gpus"], "cpus_per_task": res["cpus"], "mem_mb": res["mem_mb"], "runtime": res["runtime"]}


def data_root(files):
    """The prepared-data folder holding ``files`` (<results>/data/<task>/<split>.jsonl)."""
    first = files if isinstance(files, str) else files[0]
    return os.path.dirname(os.path.dirname(first))


RUNS = config["rl"]["runs"]


def run_tasks(run):
    """The tasks an RL run trains on: all of rl.tasks for 'all', else that one task."""
    return config["rl"]["tasks"] if run == "all" else [run]


def model_for_task(model, task):
    """The model directory that answers ``task``: an RL model is one directory per run under
    <results>/models/<method>_from_<init>/ (the run rl.run_for_task names); base and sft are single
    directories. The evaluate stage resolves the same run (io.model_for_run)."""
    if "_from_" not in model:
        return f"{R}/models/{model}"
    return f"{R}/models/{model}/{run_for_task(config['rl'], task)}"


def evaluate_tracked(protocol, tasks):
    """The params an evaluation of ``tasks`` under ``protocol`` reads (eval.group_tasks only schedules)."""
    keys = ["eval.gen_lengths", "eval.block_length", "eval.sampler", "eval.batch_size"]
    keys += [f"eval.protocols.{protocol}", f"sampling.{config['eval']['sampler']}"]
    return tracked(*keys, *(f"data.tasks.{t}" for t in tasks))


def grouped_evaluations():
    """eval.group_tasks: protocol -> (models, tasks) of the tables under it, one job per model over
    every task (one process start instead of one per task)."""
    groups = {}
    for spec in config["tables"].values():
        models, tasks = groups.setdefault(spec["protocol"], ({}, {}))
        models.update(dict.fromkeys(spec["models"]))
        tasks.update(dict.fromkeys(spec["tasks"]))
    return {p: (list(m), list(t)) for p, (m, t) in groups.items()} if config["eval"]["group_tasks"] else {}


def analysis_models(name):
    """Model directories an analysis reads (analysis.<name>.model or .models, for each of its tasks)."""
    cfg = config["analysis"][name]
    names = cfg.get("models", [cfg.get("model")])
    return sorted({model_for_task(m, t) for m in names for t in cfg["tasks"]})


def baselines_dir():
    """d1's published generations under data.data_dir (the reference row's input)."""
    return str(Path(config["data"]["data_dir"] or "MISSING-data.data_dir") / "d1_eval_baselines")


# the rl keys an RL job reads: those a method may override, and the section's tasks and seed
RL_SHARED = [f"rl.{k}" for k in config["rl"] if k not in RL_SECTION_ONLY or k in ("tasks", "seed")]


wildcard_constraints:
    task="|".join(config["data"]["tasks"]),
    dataset="|".join(config["data"]["tasks"]),
    method="|".join(RL_METHODS),
    init="|".join(config["rl"]["start_from"]),
    run="|".join(RUNS),
    protocol="|".join(config["eval"]["protocols"]),


_INVOCATION = {}  # the id onstart opened, for onsuccess/onerror to close; the warm server


onstart:
    # The warm server first: its imports overlap the invocation's opening (pipeline.warm). Only
    # for jobs on this host: a cluster job elsewhere could not reach it, one here must not run in it.
    if config["runtime"]["warm_start"] and workflow.local_exec:
        from pipeline.warm import start_server

        _INVOCATION["warm"] = start_server(
            f"{R}/logs/warm_server.log", store=(TRACKING_URI, config["tracking"]["experiment"])
        )
    # One parent MLflow run per invocation (Snakemake calls this only when there are jobs to run),
    # opened here with the command line (stages find it through PIPELINE_INVOCATION_ID) and closed by
    # onsuccess/onerror. The store is created here, once, because concurrent first use of a new
    # sqlite store races on table creation.
    # Its id, the experiment's and the commit go to the stages too, which then neither look them up nor
    # reap dead runs (done here).
    # Stages watch the orchestrator's process and stop when it dies (pipeline.core.lifecycle).
    _INVOCATION["id"] = os.environ.setdefault("PIPELINE_INVOCATION_ID", f"snakemake-{uuid.uuid4().hex[:12]}")
    os.environ.setdefault("PIPELINE_INVOCATION_TOOL", "snakemake")
    from pipeline.core.mlflow_store import invocation_env
    from pipeline.core.processes import ORCHESTRATOR_ENV, process_id

    os.environ.setdefault(ORCHESTRATOR_ENV, process_id())
    os.environ.update(
        invocation_env(
            TRACKING_URI,
            config["tracking"]["experiment"],
            _INVOCATION["id"],
            "snakemake",
            command=" ".join(sys.argv),
            profile=config["profile"],
            params_file=PARAMS,
            params_hash=params_hash(config),
            planned_jobs=len(workflow.dag),  # jobs this invocation has to run
        )
    )


def close_invocation(ok):
    """End the parent run onstart opened: FINISHED and complete only when every planned job finished."""
    from pipeline.core.mlflow_store import close_invocation

    if "warm" in _INVOCATION:
        from pipeline.warm import stop_server

        stop_server(_INVOCATION.pop("warm"))
    if "id" in _INVOCATION:
        close_invocation(TRACKING_URI, config["tracking"]["experiment"], _INVOCATION["id"], ok=ok)


onsuccess:
    close_invocation(ok=True)


onerror:
    close_invocation(ok=False)


CLAIM_REPORTS = {"claims": "main", "claims_full": "full"}  # <results>/<report>.md -> the claims stage's --scope


def claim_scope(report):
    """The params section a claims report decides: claims (make reproduce's) or claims.full (every claim)."""
    return config["claims"] if report == "claims" else config["claims"]["full"]
