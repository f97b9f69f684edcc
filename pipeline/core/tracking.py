"""MLflow tracking: one run per stage execution, nested under one parent run per invocation.

* The store is the sqlite file named by ``tracking.uri``; Snakemake's ``onstart`` creates it
  once (``init_store``) before jobs fan out, because concurrent first use of a new sqlite store
  races on table creation.
* The invocation is identified by ``PIPELINE_INVOCATION_ID`` (set by the Snakefile's onstart) or,
  under ``dvc repro``, by the dvc process that spawned the stage. The first stage of an invocation
  creates the parent run; later ones find it by tag.
* Every write goes through one file lock, so parallel Snakemake jobs never see "database is locked".
* Metrics are buffered and written in batches (``log_batch``), not one request per value.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import subprocess
import time
from pathlib import Path

from pipeline.core.config import params_hash

INVOCATION_ENV = "PIPELINE_INVOCATION_ID"


def _sqlite_path(uri: str) -> Path | None:
    return Path(uri[len("sqlite:///") :]) if uri.startswith("sqlite:///") else None


@contextlib.contextmanager
def _locked(uri: str):
    db = _sqlite_path(uri)
    lock_path = (db.parent if db else Path(".")) / ".mlflow.lock"
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def init_store(uri: str, experiment: str) -> None:
    """Create the store and experiment if missing. Cheap no-op when the sqlite file exists."""
    db = _sqlite_path(uri)
    if db is not None and db.exists():
        return
    from mlflow.tracking import MlflowClient

    with _locked(uri):
        client = MlflowClient(uri)
        if client.get_experiment_by_name(experiment) is None:
            client.create_experiment(experiment, artifact_location=_artifact_root(uri))


def _artifact_root(uri: str) -> str | None:
    """Artifacts beside the sqlite file (MLflow's default is relative to whatever the cwd is)."""
    db = _sqlite_path(uri)
    return (db.parent.resolve() / "mlartifacts").as_uri() if db else None


def _invocation_id() -> tuple[str, str]:
    """(id, tool) of the running invocation."""
    if os.environ.get(INVOCATION_ENV):
        return os.environ[INVOCATION_ENV], os.environ.get("PIPELINE_INVOCATION_TOOL", "snakemake")
    pid = os.getpid()
    for _ in range(8):  # walk up: stage -> shell -> dvc
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            break
        argv = cmdline.split()
        if "repro" in argv and any(Path(a).name == "dvc" for a in argv[:3]):
            start = stat.rsplit(")", 1)[1].split()[19]
            return f"dvc-{pid}-{start}", "dvc"
        pid = int(stat.rsplit(")", 1)[1].split()[1])
        if pid <= 1:
            break
    return f"manual-{os.getpid()}-{int(time.time())}", "manual"


def git_commit() -> str:
    try:
        return (
            subprocess.run(
                ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, timeout=5
            ).stdout.strip()
            or "unknown"
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def _flatten(d: dict, prefix: str = "") -> dict:
    out = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(_flatten(v, key + "."))
        else:
            out[key] = v
    return out


class StageRun:
    """``with StageRun(params, "sft", section, tags) as run: run.log_metrics({...}, step)``."""

    def __init__(
        self,
        params: dict,
        stage: str,
        section: dict,
        tags: dict | None = None,
        run_name: str | None = None,
        flush_every: int = 500,
    ):
        self.uri, self.experiment = params["tracking"]["uri"], params["tracking"]["experiment"]
        self.stage, self.section = stage, section
        self.tags = {
            "stage": stage,
            "profile": params["profile"],
            "git_commit": git_commit(),
            "params_hash": params_hash(section),
            **(tags or {}),
        }
        self.run_name = run_name or stage
        self.flush_every = flush_every
        self._buffer: list = []

    def __enter__(self) -> StageRun:
        from mlflow.tracking import MlflowClient

        init_store(self.uri, self.experiment)
        self.client = MlflowClient(self.uri)
        inv_id, tool = _invocation_id()
        with _locked(self.uri):
            exp = self.client.get_experiment_by_name(self.experiment)
            self.exp_id = (
                exp.experiment_id
                if exp
                else self.client.create_experiment(self.experiment, artifact_location=_artifact_root(self.uri))
            )
            found = self.client.search_runs([self.exp_id], f"tags.invocation_id = '{inv_id}'", max_results=1)
            if found:
                self.parent_id = found[0].info.run_id
                self.client.update_run(self.parent_id, status="RUNNING")
            else:
                parent = self.client.create_run(
                    self.exp_id,
                    run_name=f"{tool} {time.strftime('%Y-%m-%d %H:%M:%S')}",
                    tags={"invocation_id": inv_id, "tool": tool, "git_commit": self.tags["git_commit"]},
                )
                self.parent_id = parent.info.run_id
            run = self.client.create_run(
                self.exp_id,
                run_name=self.run_name,
                tags={
                    **{k: str(v) for k, v in self.tags.items()},
                    "mlflow.parentRunId": self.parent_id,
                    "invocation_id_child": inv_id,
                },
            )
            self.run_id = run.info.run_id
            self.client.log_batch(self.run_id, params=self._param_entities())
        return self

    def _param_entities(self):
        from mlflow.entities import Param

        flat = _flatten(self.section)
        return [Param(k, str(v)[:6000]) for k, v in flat.items()]

    def log_metrics(self, metrics: dict, step: int = 0) -> None:
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        self._buffer += [Metric(k, float(v), now, step) for k, v in metrics.items() if v is not None]
        if len(self._buffer) >= self.flush_every:
            self.flush()

    def flush(self) -> None:
        while self._buffer:
            chunk, self._buffer = self._buffer[:900], self._buffer[900:]
            with _locked(self.uri):
                self.client.log_batch(self.run_id, metrics=chunk)

    def log_artifact(self, path: str | Path, artifact_path: str | None = None) -> None:
        with _locked(self.uri):
            self.client.log_artifact(self.run_id, str(path), artifact_path)

    def __exit__(self, exc_type, exc, tb) -> None:
        self.flush()
        status = "FAILED" if exc_type else "FINISHED"
        with _locked(self.uri):
            self.client.set_terminated(self.run_id, status)
            self.client.update_run(self.parent_id, status=status)


class NullRun:
    """Stands in for StageRun where nothing should be tracked (library use, tests)."""

    def log_metrics(self, metrics: dict, step: int = 0) -> None:
        pass

    def log_artifact(self, path, artifact_path=None) -> None:
        pass

    def __enter__(self) -> NullRun:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        pass


def stage_run(enabled: bool, *args, **kwargs) -> StageRun | NullRun:
    """A StageRun on the main process of a multi-process stage, a NullRun on the others (one MLflow
    run per stage execution, not one per process)."""
    return StageRun(*args, **kwargs) if enabled else NullRun()
