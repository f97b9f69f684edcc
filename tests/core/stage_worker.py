"""A stand-in stage for the lifecycle tests: a tracked run logging a point every 50 ms until stopped.

    python tests/core/stage_worker.py <project dir>

Prints "ready" once 5 points are logged; runs at most 60 s.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from pipeline.core import lifecycle
from pipeline.core.tracking import StageRun
from pipeline.training.checkpoint import Resume
from tests.core.test_tracking import PARAMS

os.chdir(sys.argv[1])
lifecycle.install()
with StageRun(PARAMS, "rl", {}, resume=Resume("ckpt", "k", every=1)) as run:
    for step in range(1200):
        run.log_metrics({"loss": float(step)}, step)
        if step == 4:
            print("ready", flush=True)
        time.sleep(0.05)
