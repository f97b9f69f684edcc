"""The MLflow store of a project: where it lives, how it stays portable, and one parent run per
invocation (a ``snakemake`` or ``dvc repro`` call) under which every stage's run is nested.

* The store is the sqlite file named by ``tracking.uri`` (relative to the project root).
  Artifacts live beside it in ``mlartifacts/`` and the experiment records that location as a
  *relative* path, so a copied or moved project still shows every artifact: open the store from
  the project root (``make mlflow``). MLflow itself would write an absolute ``file://`` URI.
* Every write goes through one file lock, so parallel Snakemake jobs never see "database is locked".
* The invocation is identified by ``PIPELINE_INVOCATION_ID`` (set by the Snakefile's ``onstart``,
  which also opens the parent run with the command line and closes it in ``onsuccess``/``onerror``)
  or, under ``dvc repro``, by the dvc process that spawned the stage (no end hook: each stage's
  end updates the parent's end time, and its ``complete`` tag stays "unknown").
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from pipeline.core.processes import alive, dvc_process, orchestrator, process_id

# MLflow's usage telemetry would try the network from every stage (and the machines may be offline)
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

INVOCATION_ENV = "PIPELINE_INVOCATION_ID"
# exported by the Snakefile's onstart beside the invocation's id (invocation_env), so that a short stage
# job neither looks them up nor starts git: 10-15 ms of a 1 s claims job
PARENT_ENV = "PIPELINE_PARENT_RUN"  # the parent run's id
EXPERIMENT_ENV = "PIPELINE_EXPERIMENT_ID"  # the experiment's id
COMMIT_ENV = "PIPELINE_GIT_COMMIT"  # the commit the invocation started from
ARTIFACT_DIR = "mlartifacts"
DESCRIPTION = (
    "d1 / JustGRPO reproduction: one parent run per `snakemake` or `dvc repro` invocation, one child run "
    "per stage job (prepare, pretrain, sft, rl, evaluate, table, claims, analyze). Filter with "
    "tags.stage = 'rl' and compare the reward curves; see README 'Compare runs'."
)


#: where a stage logs when ``tracking.uri`` is unreachable and ``tracking.when_unreachable: local``
LOCAL_FALLBACK = "sqlite:///mlflow-local.db"


class TrackingUnreachable(RuntimeError):
    """``tracking.uri`` cannot be used; the message says what to do."""


def unreachable(uri: str) -> str | None:
    """Why the store at ``uri`` cannot be used right now (checked within seconds), or None."""
    from pipeline.core.hub import PROBE_TIMEOUT_S, reachable

    if uri.startswith(("http://", "https://")):
        return None if reachable(uri) else f"no connection within {PROBE_TIMEOUT_S:.0f} s"
    db = sqlite_path(uri)
    folder = (db.parent if db else Path(uri.removeprefix("file:"))).resolve()
    while not folder.exists():  # the store may not exist yet: its first existing ancestor must be writable
        folder = folder.parent
    return None if os.access(folder, os.W_OK) else f"{folder} is not writable"


def usable_uri(tracking: dict) -> str:
    """``tracking.uri`` if it can be used; else the local fallback (``when_unreachable: local``) or
    TrackingUnreachable, instead of MLflow retrying for minutes and failing with five tracebacks."""
    uri = tracking["uri"]
    why = unreachable(uri)
    if why is None:
        return uri
    if tracking["when_unreachable"] == "local":
        print(f"[tracking] {uri} is unreachable ({why}): logging to {LOCAL_FALLBACK} instead", file=sys.stderr)
        return LOCAL_FALLBACK
    raise TrackingUnreachable(
        f"tracking.uri {uri} is unreachable ({why}); start the server (README 'Tracking server'), set "
        f"tracking.uri to a reachable store, or set tracking.when_unreachable: local to log to {LOCAL_FALLBACK}"
    )


def sqlite_path(uri: str) -> Path | None:
    return Path(uri[len("sqlite:///") :]) if uri.startswith("sqlite:///") else None


@contextlib.contextmanager
def locked(uri: str):
    db = sqlite_path(uri)
    lock_path = (db.parent if db else Path(".")) / ".mlflow.lock"
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _portable_root(uri: str, experiment_id: str) -> str | None:
    """The experiment's artifact location as a path relative to the working directory (the project
    root, like the sqlite path itself); None when the store is not a relative sqlite file."""
    db = sqlite_path(uri)
    if db is None or db.is_absolute():
        return None
    return str(Path(os.path.normpath(db.parent / ARTIFACT_DIR)) / experiment_id)


def ensure_experiment(client, uri: str, name: str) -> str:
    """The experiment's id, creating it (portable artifact root, description) when missing. Call under
    ``locked``."""
    exp = client.get_experiment_by_name(name)
    if exp is not None:
        return exp.experiment_id
    exp_id = client.create_experiment(name)
    root = _portable_root(uri, exp_id)
    if root is not None:  # MLflow resolves any location to an absolute URI; store the relative one
        with contextlib.closing(sqlite3.connect(sqlite_path(uri))) as con:
            con.execute("UPDATE experiments SET artifact_location = ? WHERE experiment_id = ?", (root, int(exp_id)))
            con.commit()
    client.set_experiment_tag(exp_id, "mlflow.note.content", DESCRIPTION)
    return exp_id


def init_store(uri: str, experiment: str) -> None:
    """Create the store and experiment if missing. Cheap no-op when the sqlite file exists."""
    db = sqlite_path(uri)
    if db is not None and db.exists():
        return
    from mlflow.tracking import MlflowClient

    with locked(uri):
        ensure_experiment(MlflowClient(uri), uri, experiment)


def open_for_forks(uri: str, experiment: str) -> None:
    """Build the store in the warm server, so that every stage it forks finds it built: MLflow keeps one
    store per URI string in a process, and building it (engine, schema check against the file) is 20 ms
    of each short job's opening. Creates the store if missing. Its connections are closed before any
    fork (a sqlite connection must not cross one): each fork opens its own."""
    from mlflow.tracking import MlflowClient

    init_store(uri, experiment)
    engine = getattr(MlflowClient(uri)._tracking_client.store, "engine", None)  # a server's store has none
    if engine is not None:
        engine.dispose()


def warm_connection(uri: str, experiment: str) -> None:
    """In a warm fork waiting for its job: open this process's pooled connection to the store and run the
    reads a stage's run opening makes (the experiment, a run with its inputs), so that their SQL is
    compiled and the sqlite file's schema read before the job comes: the run then opens in about half
    the time (README "Where a stage job's time goes"). Reads only, never under the write lock; any error
    is left for the job itself to meet."""
    try:
        from mlflow.tracking import MlflowClient

        client = MlflowClient(uri)
        exp = client.get_experiment_by_name(experiment)
        runs = client.search_runs([exp.experiment_id], max_results=1) if exp is not None else []
        if runs:
            client.get_run(runs[0].info.run_id)
    except Exception:  # a warm-up only: the job meets the same error and reports it
        pass


def forget_stores() -> None:
    """Drop MLflow's stores and engines built in this process: a relative sqlite URI names another
    file after a chdir (a warm fork in another directory, tests)."""
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore
    from mlflow.tracking._tracking_service.registry import TrackingStoreRegistry

    TrackingStoreRegistry._get_store_with_resolved_uri.cache_clear()
    SqlAlchemyStore._engine_map.clear()


def cache_schema_head() -> None:
    """Compute the head of MLflow's schema migrations once for this process and its forks (the warm
    server calls it). Every sqlite store MLflow opens checks the file's schema against that head, which
    it finds by loading its ~70 alembic migration scripts: 30 ms of each short job's 60-100 ms opening,
    for a value the installed MLflow fixes. A no-op if MLflow no longer has the private function."""
    import functools

    from mlflow.store.db import utils

    head = getattr(utils, "_get_latest_schema_revision", None)
    if head is not None and not hasattr(head, "cache_info"):
        utils._get_latest_schema_revision = functools.cache(head)
        utils._get_latest_schema_revision()


def invocation() -> tuple[str, str, str]:
    """(id, tool, command line) of the running invocation."""
    if os.environ.get(INVOCATION_ENV):
        return os.environ[INVOCATION_ENV], os.environ.get("PIPELINE_INVOCATION_TOOL", "snakemake"), ""
    dvc = dvc_process()
    if dvc is not None:
        pid, start, cmdline = dvc
        return f"dvc-{pid}-{start}", "dvc", cmdline
    return f"manual-{os.getpid()}-{int(time.time())}", "manual", " ".join(sys.argv)


def reap_dead_runs(client, exp_id: str) -> int:
    """Mark KILLED every RUNNING run whose process (tag ``process``) died on this host without ending
    it (SIGKILL, out of memory, a killed orchestrator); its parent loses ``complete``. Call under ``locked``."""
    reaped = 0
    for run in client.search_runs([exp_id], "attributes.status = 'RUNNING'", max_results=5000):
        proc = run.data.tags.get("process")
        if not proc or alive(proc) is not False:
            continue
        client.set_tag(run.info.run_id, "ended_by", "its process died; marked KILLED by the next invocation")
        if "invocation_id" in run.data.tags:  # a parent: its orchestrator died, so not every job finished
            client.set_tag(run.info.run_id, "complete", "false")
        client.set_terminated(run.info.run_id, "KILLED")
        parent_id = run.data.tags.get("mlflow.parentRunId")
        if parent_id:
            client.set_tag(parent_id, "complete", "false")
            parent = client.get_run(parent_id)
            # a dvc parent is dated by each stage's end, so it may read FINISHED after a killed stage
            if alive(parent.data.tags.get("process", "?:0:?")) is False:
                client.set_terminated(parent_id, "KILLED")
        reaped += 1
    return reaped


def git_commit() -> str:
    """The checkout's short commit id: the invocation's (``COMMIT_ENV``) or git's answer."""
    if os.environ.get(COMMIT_ENV):
        return os.environ[COMMIT_ENV]
    try:
        return (
            subprocess.run(
                ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, timeout=5
            ).stdout.strip()
            or "unknown"
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def find_parent(client, exp_id: str, inv_id: str) -> str | None:
    """The run id of invocation ``inv_id``'s parent run, or None before its first stage."""
    found = client.search_runs([exp_id], f"tags.invocation_id = '{inv_id}'", max_results=1)
    return found[0].info.run_id if found else None


def find_or_open_parent(client, exp_id: str, inv_id: str, tool: str, tags: dict | None = None) -> str:
    """The parent run of invocation ``inv_id``, created (with ``tags``) when missing. Call under ``locked``."""
    found = find_parent(client, exp_id, inv_id)
    if found:
        return found
    base = {
        "invocation_id": inv_id,
        "tool": tool,
        "git_commit": git_commit(),
        "complete": "unknown",
        "process": orchestrator() or process_id(),
    }
    run = client.create_run(
        exp_id,
        run_name=f"{tool} {time.strftime('%Y-%m-%d %H:%M:%S')}",
        tags={**base, **{k: str(v) for k, v in (tags or {}).items()}},
    )
    return run.info.run_id


def stage_parent(client, uri: str, experiment: str, inv_id: str, tool: str, tags: dict) -> tuple[str, str]:
    """(experiment id, parent run id) a stage's run nests under. Under Snakemake, onstart has reaped the
    dead runs, opened the parent and exported both ids (``invocation_env``); DVC and hand-run stages
    have no start hook, so each looks up the experiment, reaps and finds or opens the parent itself
    (27 ms of queries). Call under ``locked``."""
    if os.environ.get(INVOCATION_ENV) == inv_id and os.environ.get(PARENT_ENV) and os.environ.get(EXPERIMENT_ENV):
        return os.environ[EXPERIMENT_ENV], os.environ[PARENT_ENV]
    exp_id = ensure_experiment(client, uri, experiment)
    reap_dead_runs(client, exp_id)
    return exp_id, find_or_open_parent(client, exp_id, inv_id, tool, tags)


def open_invocation(uri: str, experiment: str, inv_id: str, tool: str, **tags) -> tuple[str, str]:
    """Create the parent run of an invocation up front (Snakemake's onstart): command line, profile,
    params hash and the number of planned jobs as tags. Returns (experiment id, parent run id)."""
    from mlflow.tracking import MlflowClient

    init_store(uri, experiment)
    client = MlflowClient(uri)
    with locked(uri):
        exp_id = ensure_experiment(client, uri, experiment)
        reap_dead_runs(client, exp_id)
        return exp_id, find_or_open_parent(client, exp_id, inv_id, tool, tags)


def invocation_env(uri: str, experiment: str, inv_id: str, tool: str, **tags) -> dict[str, str]:
    """Open the invocation (``open_invocation``) and return what its stage jobs inherit: the
    experiment's and the parent's ids and the commit (``stage_parent``, ``git_commit``)."""
    exp_id, parent_id = open_invocation(uri, experiment, inv_id, tool, **tags)
    return {EXPERIMENT_ENV: exp_id, PARENT_ENV: parent_id, COMMIT_ENV: git_commit()}


def close_invocation(uri: str, experiment: str, inv_id: str, ok: bool) -> None:
    """End the invocation's parent run (Snakemake's onsuccess/onerror): FINISHED and complete=true only
    when every planned job finished."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient(uri)
    with locked(uri):
        run_id = find_parent(client, ensure_experiment(client, uri, experiment), inv_id)
        if run_id is None:  # no stage ran
            return
        client.set_tag(run_id, "complete", "true" if ok else "false")
        client.set_terminated(run_id, "FINISHED" if ok else "FAILED")
