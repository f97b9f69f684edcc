"""The two DAG definitions (Snakemake and DVC) read into comparable job lists, and the comparison.

Both sides are reduced to the same facts per job: the command, the exact outputs, the params keys
(with their values) and the dependencies. Dependencies are compared as sets of *things*, not of
strings: a directory of source code stands for every file under it, a directory of results for
every output of other jobs under it. DVC cannot expand a list into deps, so where a stage reads a
list of tasks or models it depends on the whole folder; those few places are listed in COARSE and
allowed to be a superset of Snakemake's exact inputs -- nothing else is.
"""

from __future__ import annotations

import fnmatch
import json
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

#: (rule, dep under the results root, as a glob) where DVC may depend on a whole folder (module docstring)
COARSE = {
    ("pretrain", "data"),
    ("sft", "data"),
    ("rl", "data"),
    ("more_sft", "data"),
    ("analyze", "data"),
    ("analyze", "models"),
    ("evaluate", "models/*_from_*"),
    ("claims", "eval"),
    ("claims", "figures"),
}


def snakemake_jobs(root: Path, targets: list[str], configfile: str | None = None) -> list[dict]:
    cmd = [sys.executable, str(HERE / "snakemake_jobs.py"), str(root), *targets]
    cmd += ["--configfile", configfile] if configfile else []
    res = subprocess.run(cmd, cwd=root, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-3000:]
    jobs = split_grouped(json.loads(res.stdout))
    for job in jobs:
        job["input"] = sorted(_from_root(root, root / p) for p in job["input"])
    return jobs


def split_grouped(jobs: list[dict]) -> list[dict]:
    """A grouped job (one process over several tasks: ``eval.group_tasks``, rule ``evaluate_<protocol>``,
    and ``data.group_tasks``, rule ``prepare_tasks``) as the per-task jobs it stands for, each with the
    command, outputs, inputs and tracked params of its task alone: what dvc.yaml runs as one stage per
    task (and model)."""
    out = []
    for job in jobs:
        prefix, *each = job["cmd"].split(" --task ")
        if len(each) < 2:
            out.append(job)
            continue
        tasks = [e.split()[0] for e in each]
        for task, rest in zip(tasks, each):
            others = set(tasks) - {task}
            tracked = {k: v for k, v in job["params"]["tracked"].items() if k.split(".")[-1] not in others}
            folder = rest.split(" --out ")[1].split()[0]
            inputs = [i for i in job["input"] if not others & set(Path(i).parts)]
            out.append(
                {
                    **job,
                    "rule": job["rule"].split("_")[0],  # evaluate_d1 -> evaluate, prepare_tasks -> prepare
                    "cmd": f"{prefix} --task {rest}",
                    "input": inputs,
                    "output": [o for o in job["output"] if o == folder or o.startswith(folder + "/")],
                    "params": {**job["params"], "tracked": tracked},
                }
            )
    return out


def _from_root(root: Path, path: Path) -> str:
    """A path inside the project relative to its root; one outside it (data_dir) absolute."""
    path, root = Path(os.path.normpath(path)), root.resolve()
    return str(path.relative_to(root)) if path.is_relative_to(root) else str(path)


def dvc_stages(root: Path, dvcfile: str = "dvc.yaml") -> list[dict]:
    """Stages of one dvc.yaml: name, command, deps, params {key: value} and outs (paths from the root)."""
    from dvc.dependency.param import ParamsDependency
    from dvc.repo import Repo

    stages = []
    with Repo(str(root)) as repo:
        for s in repo.index.stages:
            if os.path.relpath(s.path, root) != dvcfile:  # each dvc.yaml's stages once
                continue
            wdir = Path(s.wdir).resolve()
            rel = lambda p, wdir=wdir: _from_root(root, wdir / p)
            params = {}
            for d in s.deps:
                if isinstance(d, ParamsDependency):
                    values = d.read_params()
                    params.update({k: values.get(k) for k in d.params})
            stages.append(
                {
                    "name": s.addressing.split(":")[-1],
                    "cmd": " ".join(s.cmd.split()),
                    "deps": sorted(rel(d.def_path) for d in s.deps if not isinstance(d, ParamsDependency)),
                    "params": params,
                    "outs": sorted(rel(o.def_path) for o in s.outs),
                }
            )
    return stages


def _under(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip("/") + "/")


def disagreements(smk: list[dict], dvc: list[dict], files: list[str], results: str) -> list[str]:
    """Every way the two DAGs differ, one line each (empty when they agree)."""
    msgs = []
    by_cmd = {s["cmd"]: s for s in dvc}
    for cmd in sorted({j["cmd"] for j in smk} ^ set(by_cmd)):
        side = "Snakemake" if cmd not in by_cmd else "DVC"
        msgs.append(f"only {side} runs: {cmd}")
    outputs = {o for j in smk for o in j["output"]} | {o for s in dvc for o in s["outs"]}

    def things(dep: str) -> set[str]:
        """What a dependency stands for: the outputs of other jobs under it, else the files under it."""
        produced = {o for o in outputs if _under(o, dep)}
        if produced:
            return produced
        inside = {f for f in files if _under(f, dep)}
        return inside or {dep}  # external data (e.g. data_dir) is compared as a path

    for job in smk:
        stage = by_cmd.get(job["cmd"])
        if stage is None:
            continue
        where = f"{job['rule']} / {stage['name']}"
        if not stage["name"].startswith(job["rule"]):
            msgs.append(f"{where}: stage name does not start with the rule name")
        if set(job["output"]) != set(stage["outs"]):
            msgs.append(f"{where}: outputs {sorted(job['output'])} != outs {stage['outs']}")
        tracked = job["params"].get("tracked", {})
        if tracked != stage["params"]:
            keys = sorted(set(tracked) ^ set(stage["params"])) or sorted(
                k for k in tracked if tracked[k] != stage["params"].get(k)
            )
            msgs.append(f"{where}: params differ at {keys}")
        smk_things = set().union(*(things(i) for i in job["input"])) if job["input"] else set()
        dvc_things = set()
        for dep in stage["deps"]:
            got = things(dep)
            rel = dep.removeprefix(results + "/")
            if any(rule == job["rule"] and fnmatch.fnmatch(rel, pattern) for rule, pattern in COARSE):
                wanted = {x for x in smk_things if _under(x, dep)}
                if not wanted <= got:
                    msgs.append(f"{where}: coarse dep {dep} misses {sorted(wanted - got)}")
                got = wanted  # a superset by design (DVC cannot expand lists): count what Snakemake names
            dvc_things |= got
        for x in sorted(smk_things - dvc_things):
            msgs.append(f"{where}: Snakemake input {x} is no DVC dep")
        for x in sorted(dvc_things - smk_things):
            msgs.append(f"{where}: DVC dep {x} is no Snakemake input")
    return msgs
