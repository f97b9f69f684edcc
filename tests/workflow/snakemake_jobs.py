"""Print the jobs of a forced Snakemake dry run as JSON: rule, inputs, outputs, params, shell command.

Run as a script (``python tests/workflow/snakemake_jobs.py ROOT [--configfile F] TARGET...``) so the
workflow is parsed in a fresh interpreter. The Snakemake API is used instead of parsing ``-n -p``
output because the printout has no params.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def jobs(root: Path, targets: list[str], configfile: str | None) -> list[dict]:
    from snakemake.api import SnakemakeApi
    from snakemake.settings.enums import Quietness
    from snakemake.settings.types import ConfigSettings, DAGSettings, OutputSettings, ResourceSettings

    with SnakemakeApi(OutputSettings(quiet={Quietness.ALL})) as api:
        wf_api = api.workflow(
            resource_settings=ResourceSettings(cores=1),
            config_settings=ConfigSettings(configfiles=[Path(configfile)] if configfile else []),
            snakefile=root / "workflow" / "Snakefile",
            workdir=root,
        )
        wf_api.dag(dag_settings=DAGSettings(targets=set(targets), forceall=True))
        wf = wf_api._workflow
        wf._prepare_dag(forceall=True, ignore_incomplete=True, lock_warn_only=True, nolock=True)
        wf._build_dag()
        out = []
        for job in wf.dag.jobs:
            if not job.rule.shellcmd:  # aggregate rules (all, flexibility_trap, everything) run nothing
                continue
            out.append(
                {
                    "rule": job.rule.name,
                    "cmd": " ".join(job.shellcmd.split()),
                    "input": sorted(map(str, job.input)),
                    "output": sorted(map(str, job.output)),
                    "params": {k: v for k, v in job.params.items()},
                }
            )
        return out


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("root", type=Path)
    ap.add_argument("targets", nargs="+")
    ap.add_argument("--configfile")
    args = ap.parse_args()
    print(json.dumps(jobs(args.root.resolve(), args.targets, args.configfile), default=str))
