"""MLflow tracking of one stage execution: a child run under the invocation's parent run
(``pipeline.core.mlflow_store``), holding the stage's params, metrics, artifacts and log.

What a run carries, so that it is worth opening in the UI:
* tags: stage, profile, git commit, params hash, the stage's own (task, model, method, ...);
  a training run tags ``trained_model`` (its output path), and an evaluate run's ``model_run_id`` names the latest
  finished run that wrote its model (looked up in the store: outputs stay free of run ids);
* metrics, buffered and written in batches (``log_batch``) at least every ``FLUSH_S`` seconds; a
  training stage also appends each point to a write-ahead log in its checkpoint directory, so a
  point is never lost to a kill and a resumed stage continues the same run (``resume``);
* artifacts: whatever the stage logs, plus the stage's log file at the end;
* training runs: the saved model as an MLflow logged model (``log_model``), the training files as
  dataset inputs (``log_inputs``) and MLflow's system metrics (CPU, memory, GPU).
"""

from __future__ import annotations

import json
import resource
import sys
import time
from pathlib import Path

from pipeline.core.config import params_hash
from pipeline.core.lifecycle import Interrupted
from pipeline.core.metric_log import MetricLog
from pipeline.core.mlflow_store import (
    git_commit,
    init_store,
    invocation,
    locked,
    stage_parent,
    usable_uri,
)
from pipeline.core.processes import process_id
from pipeline.core.stage_time import StageClock

FLUSH_S = 10.0  # at most this long between a metric point and its write to the store

_stage_log: str | None = None  # the stage's log file (runtime.setup tees stderr into it)


def set_stage_log(path: str | None) -> None:
    global _stage_log
    _stage_log = path


def _flatten(d: dict, prefix: str = "") -> dict:
    out = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(_flatten(v, key + "."))
        else:
            out[key] = v
    return out


def _say(text: str) -> None:
    print(f"[{time.strftime('%Y-%m-%d %H:%M:%S')}] {text}", file=sys.stderr, flush=True)


class StageRun:
    """``with StageRun(params, "sft", section, tags) as run: run.log_metrics({...}, step)``.

    ``system_metrics``: sample CPU/memory (and GPU) into the run while it is open, every
    ``tracking.system_metrics`` seconds (training stages).
    ``metrics_out``: also write every logged metric to ``<path>.csv`` (one row per step: the curves
    ``dvc plots`` draws) and the last value of each to ``<path>.json`` (``dvc metrics``).
    ``resume``: the stage's :class:`pipeline.training.checkpoint.Resume`. Its directory keeps the run id
    and a write-ahead log of every metric point; a rerun of the same request reopens that run, sends
    the points the store missed, and drops the points the resumed loop recomputes (same step, same key).
    """

    def __init__(
        self,
        params: dict,
        stage: str,
        section: dict,
        tags: dict | None = None,
        run_name: str | None = None,
        flush_every: int = 500,
        system_metrics: bool = False,
        metrics_out: str | Path | None = None,
        resume=None,
    ):
        self.cfg = params["tracking"]
        self.uri, self.experiment = self.cfg["uri"], self.cfg["experiment"]
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
        self.system_metrics = self.cfg["system_metrics"] if system_metrics else 0  # sampling interval, s
        self._buffer: list = []
        self._monitor = None
        self.metrics_out = Path(metrics_out) if metrics_out else None
        self._history: dict[int, dict] = {}
        self.resume = resume
        self._log: MetricLog | None = None  # the write-ahead log (with ``resume``)
        self._recorded: dict[str, int] = {}  # key -> last step an earlier attempt recorded
        self._last_flush = time.time()

    def __enter__(self) -> StageRun:
        self.clock = StageClock()  # startup: from the process's start to here
        from mlflow.tracking import MlflowClient

        self._t0 = time.time()
        self.uri = usable_uri(self.cfg)
        init_store(self.uri, self.experiment)
        self.client = MlflowClient(self.uri)
        inv_id, self.tool, command = invocation()
        with locked(self.uri):
            self.exp_id, self.parent_id = stage_parent(
                self.client,
                self.uri,
                self.experiment,
                inv_id,
                self.tool,
                {"command": command, "profile": self.tags["profile"]},
            )
            self.run_id = self._continue_run() or self._create_run(inv_id)
        if self.system_metrics:
            from mlflow.system_metrics.system_metrics_monitor import SystemMetricsMonitor

            self._monitor = SystemMetricsMonitor(
                self.run_id, sampling_interval=self.system_metrics, tracking_uri=self.uri
            )
            self._monitor.start()
        self.clock.mark("open", self.clock.t_open)
        _say(f"start {self.run_name} (MLflow run {self.run_id})")
        return self

    def phase(self, part: str):
        """``with run.phase("load_model"): ...``: time a part of the job that is not its work
        (see pipeline.core.stage_time)."""
        return self.clock.phase(part)

    def _create_run(self, inv_id: str) -> str:
        run = self.client.create_run(
            self.exp_id,
            run_name=self.run_name,
            tags={
                **{k: str(v) for k, v in self.tags.items()},
                "mlflow.parentRunId": self.parent_id,
                "invocation_id_child": inv_id,
                "process": process_id(),
                "attempt": "1",
            },
        )
        self.client.log_batch(run.info.run_id, params=self._param_entities())
        if self.resume is not None:
            self.resume.dir.mkdir(parents=True, exist_ok=True)
            (self.resume.dir / "run.json").write_text(json.dumps({"run_id": run.info.run_id, "key": self.resume.key}))
            self._log = MetricLog(self.resume.dir / "metrics.wal", fresh=True)
        return run.info.run_id

    def _continue_run(self) -> str | None:
        """The run of an earlier attempt at this same request (killed or failed), reopened; None if none."""
        info_file = self.resume.dir / "run.json" if self.resume is not None else None
        if info_file is None or not info_file.exists():
            return None
        info = json.loads(info_file.read_text())
        if info.get("key") != self.resume.key:
            return None
        from mlflow.exceptions import MlflowException

        try:
            old = self.client.get_run(info["run_id"])
        except MlflowException:  # the store was replaced since: start a new run
            return None
        run_id = old.info.run_id
        attempt = int(old.data.tags.get("attempt", "1")) + 1
        self.client.update_run(run_id, status="RUNNING")
        if "ended_by" in old.data.tags:  # how the earlier attempt ended; this one ends on its own terms
            self.client.delete_tag(run_id, "ended_by")
        for k, v in {"mlflow.parentRunId": self.parent_id, "process": process_id(), "attempt": attempt}.items():
            self.client.set_tag(run_id, k, str(v))
        self._replay(run_id)
        _say(f"continuing MLflow run {run_id} (attempt {attempt})")
        return run_id

    def _replay(self, run_id: str) -> None:
        """Send the write-ahead log's unsent points; remember every recorded (key, step)."""
        from mlflow.entities import Metric

        self._log = MetricLog(self.resume.dir / "metrics.wal", fresh=False)
        for e in self._log.points:
            self._history.setdefault(e["step"], {}).update(e["metrics"])
        self._recorded = self._log.last_steps()
        unsent = [Metric(k, v, e["time"], e["step"]) for e in self._log.unsent() for k, v in e["metrics"].items()]
        for i in range(0, len(unsent), 900):
            self.client.log_batch(run_id, metrics=unsent[i : i + 900])
        self._log.mark_sent()

    def _param_entities(self):
        from mlflow.entities import Param

        flat = _flatten(self.section)
        return [Param(k, str(v)[:6000]) for k, v in flat.items()]

    def log_metrics(self, metrics: dict, step: int = 0) -> None:
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        # a resumed loop recomputes the steps after its checkpoint: an earlier attempt recorded them
        kept = {k: float(v) for k, v in metrics.items() if v is not None and step > self._recorded.get(k, -1)}
        if not kept:
            return
        self._buffer += [Metric(k, v, now, step) for k, v in kept.items()]
        self._history.setdefault(step, {}).update(kept)
        if self._log is not None:
            self._log.append(step, now, kept)
        if len(self._buffer) >= self.flush_every or time.time() - self._last_flush >= FLUSH_S:
            self.flush()

    def flush(self) -> None:
        while self._buffer:
            chunk, self._buffer = self._buffer[:900], self._buffer[900:]
            with locked(self.uri):
                self.client.log_batch(self.run_id, metrics=chunk)
        self._last_flush = time.time()
        if self._log is not None:
            self._log.mark_sent()

    def set_tags(self, tags: dict) -> None:
        with locked(self.uri):
            for k, v in tags.items():
                self.client.set_tag(self.run_id, k, str(v))

    def log_artifact(self, path: str | Path, artifact_path: str | None = None) -> None:
        with locked(self.uri):
            self.client.log_artifact(self.run_id, str(path), artifact_path)

    def log_table(self, rows: list[dict], artifact_file: str) -> None:
        """Rows as an MLflow table artifact (the UI's artifact view shows it as a table)."""
        if rows:
            with locked(self.uri):
                self.client.log_table(self.run_id, {k: [r[k] for r in rows] for k in rows[0]}, artifact_file)

    def log_inputs(self, files: dict[str, str | Path], context: str = "train") -> None:
        """Each ``name -> jsonl file`` as a dataset input of the run (name, path, content digest)."""
        import hashlib

        from mlflow.data.meta_dataset import MetaDataset
        from mlflow.data.sources import LocalArtifactDatasetSource
        from mlflow.entities import DatasetInput, InputTag

        inputs = []
        for name, path in files.items():
            digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]
            ds = MetaDataset(LocalArtifactDatasetSource(str(path)), name=name, digest=digest)
            inputs.append(DatasetInput(ds._to_mlflow_entity(), tags=[InputTag("mlflow.data.context", context)]))
        with locked(self.uri):
            self.client.log_inputs(self.run_id, datasets=inputs)

    def log_model(self, model_dir: str | Path, name: str) -> None:
        """Tag the run with the saved model's path (evaluate runs link back through it) and, with
        ``tracking.log_models``, copy the directory into the store as an MLflow logged model of the run."""
        model_id = None
        if self.cfg["log_models"]:
            from mlflow.entities import LoggedModelStatus

            with locked(self.uri):
                lm = self.client.create_logged_model(
                    self.exp_id,
                    name=name.replace("/", "-"),
                    source_run_id=self.run_id,
                    params={"stage": self.stage, **self.tags},
                )
                self.client.log_model_artifacts(lm.model_id, str(model_dir))
                self.client.finalize_logged_model(lm.model_id, LoggedModelStatus.READY)
            model_id = lm.model_id
        self.set_tags({"trained_model": str(Path(model_dir)), **({"logged_model_id": model_id} if model_id else {})})

    def model_run_id(self, model_dir: str | Path) -> str | None:
        """The latest finished run of this experiment that wrote ``model_dir`` (None: made elsewhere)."""
        with locked(self.uri):
            found = self.client.search_runs(
                [self.exp_id],
                f"tags.trained_model = '{Path(model_dir)}' and attributes.status = 'FINISHED'",
                max_results=1,
                order_by=["attributes.start_time DESC"],
            )
        return found[0].info.run_id if found else None

    def __exit__(self, exc_type, exc, tb) -> None:
        t_close = time.time()
        if self._monitor is not None:
            self._monitor.finish()
        self.flush()
        if self.metrics_out is not None and not exc_type:
            write_curves(self.metrics_out, self._history)
        status = "FINISHED"
        if exc_type is not None:
            status = "KILLED" if issubclass(exc_type, (Interrupted, KeyboardInterrupt)) else "FAILED"
        _say(f"end {self.run_name}: {status} in {time.time() - self._t0:.1f}s")
        if self._log is not None:
            self._log.close()
        with locked(self.uri):
            if status == "KILLED":
                self.client.set_tag(self.run_id, "ended_by", getattr(exc, "why", "interrupt"))
            if _stage_log and Path(_stage_log).exists():
                self.client.log_artifact(self.run_id, _stage_log, "logs")
            self.clock.mark("close", t_close)
            self._log_times()
            StageClock.ended()
            self.client.set_terminated(self.run_id, status)
            if self.tool != "snakemake":  # no end hook: the last stage to end dates the parent
                parent = self.client.get_run(self.parent_id)
                sticky = parent.info.status if parent.info.status in ("FAILED", "KILLED") else status
                self.client.set_terminated(self.parent_id, sticky)
                if status != "FINISHED":  # one stage did not finish: neither did the invocation
                    self.client.set_tag(self.parent_id, "complete", "false")

    def _log_times(self) -> None:
        # straight to the store, not into the metrics files: wall times differ between reruns
        from mlflow.entities import Metric

        summary, now = self.clock.summary(), int(time.time() * 1000)
        names = {k: f"time/{k}" if k == "overhead_frac" else f"time/{k}_s" for k in summary}
        metrics = [Metric(names[k], v, now, 0) for k, v in summary.items()]
        # the process's own peak (Linux: KiB): under the warm server Snakemake's benchmark sees only the caller
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        self.client.log_batch(self.run_id, metrics=[*metrics, Metric("memory/peak_rss_mb", peak_mb, now, 0)])
        _say(StageClock.line(summary))


def write_curves(path: Path, history: dict[int, dict]) -> None:
    """``<path>.csv``: step + one column per metric (blank where a step lacks it); ``<path>.json``: the
    last logged value of each metric."""
    import csv

    from pipeline.core.atomic import atomic_paths

    keys = sorted({k for row in history.values() for k in row})
    last = {k: history[s][k] for s in sorted(history) for k in history[s]}
    with atomic_paths(path.with_suffix(".csv"), path.with_suffix(".json")) as (csv_file, json_file):
        with csv_file.open("w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["step", *keys])
            for step in sorted(history):
                w.writerow([step, *(history[step].get(k, "") for k in keys)])
        json_file.write_text(json.dumps(last, indent=2, sort_keys=True) + "\n")


class NullRun:
    """Stands in for StageRun where nothing should be tracked (library use, tests)."""

    def log_metrics(self, metrics: dict, step: int = 0) -> None:
        pass

    def phase(self, part: str):
        from contextlib import nullcontext

        return nullcontext()

    def log_artifact(self, path, artifact_path=None) -> None:
        pass

    def log_table(self, rows, artifact_file) -> None:
        pass

    def log_inputs(self, files, context="train") -> None:
        pass

    def log_model(self, model_dir, name) -> None:
        pass

    def set_tags(self, tags) -> None:
        pass

    def model_run_id(self, model_dir) -> None:
        return None

    def __enter__(self) -> NullRun:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        pass


def stage_run(enabled: bool, *args, **kwargs) -> StageRun | NullRun:
    """A StageRun on the main process of a multi-process stage, a NullRun on the others (one MLflow
    run per stage execution, not one per process)."""
    return StageRun(*args, **kwargs) if enabled else NullRun()
