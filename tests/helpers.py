"""Helpers of the DAG tests and benchmarks: a throwaway copy of the project, and the two DAG
definitions (Snakemake and DVC) read into comparable job lists."""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path


class Recorder:
    """Wraps a model and keeps every input it was called with (to count and inspect forwards)."""

    def __init__(self, model):
        self.model, self.inputs = model, []
        self.config = model.config

    def __call__(self, x, attention_mask=None, **kwargs):
        self.inputs.append(x.clone())
        return self.model(x, attention_mask=attention_mask, **kwargs)


def run_few_rl_steps(tiny, method_name: str, rl: dict):
    """A few ``run_rl`` steps of ``method_name`` on a copy of the tiny model, tiny_arithmetic prompts.

    The reward depends on completion length so groups have reward spread (non-zero advantages).
    Returns (method, parameters before, model after).
    """
    import copy

    import torch

    from pipeline.rl import get_method
    from pipeline.rl.loop import run_rl
    from pipeline.tasks import get_task
    from pipeline.core.tracking import NullRun
    from pipeline.training.batches import EncodedExamples

    model, tok = copy.deepcopy(tiny[0]), tiny[1]
    task = get_task("tiny_arithmetic", seed=0)
    enc = EncodedExamples(tok, {"tiny_arithmetic": task}, {"tiny_arithmetic": task.load("train", 20)},
                          target_format=None, mode="rl")
    method = get_method(method_name, rl, tok.mask_token_id, tok.eos_token_id)
    before = [p.detach().clone() for p in model.parameters()]
    task.reward = lambda completion, ex: float(len(completion) % 3)
    run_rl(model, tok, method, enc, rl, NullRun(), torch.device("cpu"))
    return method, before, model


def copy_project(src: Path, dst: Path, params: Path | None = None) -> Path:
    """Copy the project's tracked (and untracked, not ignored) files; optionally swap params.yaml."""
    files = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=src,
                           capture_output=True, text=True, check=True).stdout.split()
    for f in files:
        if (src / f).is_file():
            (dst / f).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src / f, dst / f)
    if params is not None:
        shutil.copy(params, dst / "params.yaml")
    return dst


def snakemake_jobs(root: Path, targets: list[str]) -> list[dict]:
    """Jobs of a forced dry run: rule, inputs, outputs (logs excluded) and the shell command."""
    res = subprocess.run([sys.executable, "-m", "snakemake", "-n", "-p", "--forceall", "--cores", "1", *targets],
                         cwd=root, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-3000:]
    jobs, job = [], None
    for line in res.stdout.splitlines() + res.stderr.splitlines():
        if m := re.match(r"^(?:local)?rule (\w+):$", line):
            job = {"rule": m.group(1), "input": [], "output": []}
        elif job is not None and (m := re.match(r"^\s+(input|output): (.*)$", line)):
            job[m.group(1)] = [p.strip() for p in m.group(2).split(",")]
        elif job is not None and line.startswith("Shell command: "):
            job["cmd"] = line[len("Shell command: "):].strip()
            if job["cmd"] != "None":  # aggregate rules (all, flexibility_trap) run nothing
                jobs.append(job)
            job = None
    return jobs


def dvc_stages(root: Path) -> list[dict]:
    from dvc.dependency.param import ParamsDependency
    from dvc.repo import Repo

    with Repo(str(root)) as repo:  # params deps are compared separately: Snakemake tracks them via params:
        return [{"name": s.addressing, "cmd": s.cmd.strip(),
                 "deps": [d.def_path for d in s.deps if not isinstance(d, ParamsDependency)],
                 "outs": [o.def_path for o in s.outs]} for s in repo.index.stages]


def covered(path: str, by: list[str]) -> bool:
    """``path`` equals one of ``by`` or lies inside one of them (a directory)."""
    return any(path == b or path.startswith(b.rstrip("/") + "/") for b in by)
