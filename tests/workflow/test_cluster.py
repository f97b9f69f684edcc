"""The SLURM workflow profile parses, and a dry run of the paper profile lists every job with the
resources its stage's params ask for."""

import re
import subprocess
import sys

from pipeline.core.config import ROOT, load_params


def test_slurm_dry_run_lists_every_paper_job_with_its_resources():
    cmd = [
        sys.executable,
        "-m",
        "snakemake",
        "-n",
        "results/paper/table1.csv",
        "--configfile",
        "profiles/paper/params.yaml",
        "--workflow-profile",
        "profiles/slurm",
    ]
    res = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
    out = res.stdout + res.stderr
    assert res.returncode == 0, out[-3000:]
    jobs = re.findall(r"^rule (\w+):\n(?:.*\n)*?\s+resources: (.*)$", out, re.M)
    stats = out.split("Job stats:")[1].split("total")[0]
    counts = {line.split()[0]: int(line.split()[1]) for line in stats.splitlines()[3:] if line.strip()}
    assert len(jobs) == sum(counts.values()) and counts["rl"] == 8 and counts["evaluate"] == 16
    resources = load_params(ROOT / "profiles" / "paper" / "params.yaml")["resources"]
    for rule, line in jobs:
        got = dict(kv.split("=", 1) for kv in line.split(", "))
        want = {**resources["default"], **resources.get(rule, {})}
        assert got["slurm_partition"] == "gpu", rule
        assert (int(got["gpu"]), int(got["cpus_per_task"]), int(got["mem_mb"]), int(got["runtime"])) == (
            want["gpus"],
            want["cpus"],
            want["mem_mb"],
            want["runtime"],
        ), rule
