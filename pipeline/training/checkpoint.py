"""Resumable training: the whole state of a training loop, saved every ``checkpoint_every`` steps, so a
killed stage (preempted, out of memory, out of time) resumes where it stopped and, on CPU, ends
with bit-identical parameters and metrics to an uninterrupted run.

* **What is saved**: the trainable weights (all of them, or LoRA's adapters), the optimizer and
  scheduler, every random stream (python, numpy, torch, CUDA, and the loop's own generators) and
  the loop's position (step, data sampler, counters). Frozen weights are not: they are the stage's
  input, which the fingerprint pins.
* **Atomic**: one file, ``<dir>/state.pt``, written under a temporary name and renamed, so a kill
  mid-write leaves the previous checkpoint whole and a half-written one is never loaded.
* **Fingerprinted**: the checkpoint records a hash of what the stage was asked to do (its params
  section, its arguments, its input files' sizes and times, the package's code). A rerun with
  anything changed starts afresh instead of resuming a different run.
* **Outside the outputs**: ``<results>/checkpoints/<model>``, because Snakemake and DVC delete a
  job's declared outputs before rerunning it. The stage removes the directory once its output is
  complete. The same directory holds the MLflow run's id and write-ahead metric log
  (:class:`pipeline.core.tracking.StageRun`), so a resumed stage continues its run.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
from pathlib import Path

import numpy as np
import torch

STATE = "state.pt"
PACKAGE = Path(__file__).resolve().parents[1]  # pipeline/


def checkpoint_dir(model_dir: str | Path) -> Path:
    """``<results>/checkpoints/<model>`` for ``<results>/models/<model>``; ``<dir>.ckpt`` elsewhere."""
    p = Path(model_dir)
    for parent in p.parents:
        if parent.name == "models":
            return parent.parent / "checkpoints" / p.relative_to(parent)
    return p.with_name(p.name + ".ckpt")


def _stat_files(path: Path) -> list:
    files = sorted(f for f in path.rglob("*") if f.is_file()) if path.is_dir() else [path]
    return [(str(f), f.stat().st_size, f.stat().st_mtime_ns) for f in files if f.exists()]


def fingerprint(section: dict, arguments: dict, inputs: list[str | Path]) -> str:
    """Hash of a stage's request: params section, arguments, input files (size and mtime), code."""
    code = hashlib.sha256()
    for f in sorted(PACKAGE.rglob("*.py")):
        code.update(f.read_bytes())
    blob = {
        "section": section,
        "arguments": arguments,
        "inputs": [_stat_files(Path(p)) for p in inputs],
        "code": code.hexdigest(),
    }
    return hashlib.sha256(json.dumps(blob, sort_keys=True, default=str).encode()).hexdigest()[:16]


def rng_state() -> dict:
    """The global random streams (a LoRA dropout or an unseeded draw uses them)."""
    state = {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def trainable_state(model) -> dict[str, torch.Tensor]:
    return {n: p.detach().cpu().clone() for n, p in model.named_parameters() if p.requires_grad}


def load_trainable_state(model, state: dict[str, torch.Tensor]) -> None:
    params = dict(model.named_parameters())
    missing = sorted(set(state) ^ {n for n, p in params.items() if p.requires_grad})
    if missing:
        raise ValueError(f"checkpoint does not match the model's trainable tensors: {missing[:5]}")
    with torch.no_grad():
        for name, value in state.items():
            params[name].copy_(value)


def loop_state(model, optimizer, sampler: random.Random, generator: torch.Generator, selection, counter) -> dict:
    """What every training loop carries from one step to the next: the trainable weights, the optimizer,
    the data sampler, the loop's generator, the global streams, checkpoint selection and the compute
    counter. Each loop adds its own (the scheduler, running averages, logged samples)."""
    return {
        "model": trainable_state(model),
        "optimizer": optimizer.state_dict(),
        "sampler": sampler.getstate(),
        "generator": generator.get_state(),
        "global_rng": rng_state(),
        "selection": selection.state_dict() if selection is not None else None,
        "token_rows": counter.count,
    }


def restore_loop_state(saved: dict, model, optimizer, sampler, generator, selection, counter) -> int:
    """Put ``loop_state``'s part of a checkpoint back; the step to continue from."""
    load_trainable_state(model, saved["model"])
    optimizer.load_state_dict(saved["optimizer"])
    sampler.setstate(saved["sampler"])
    generator.set_state(saved["generator"])
    set_rng_state(saved["global_rng"])
    if selection is not None:
        selection.load_state_dict(saved["selection"])
    counter.count = saved["token_rows"]
    return saved["step"] + 1


class Resume:
    """A training stage's checkpoint directory: ``load()`` at the start, ``save(step, state)`` after each
    optimizer step that is ``due(step)``, ``clear()`` once the stage's output is complete.

    ``every``: steps between checkpoints (0: never save; an existing matching checkpoint is still
    not loaded, so 0 means "always start afresh"). Only the main process writes; every process
    loads the same file, so a multi-process run resumes consistently.
    """

    def __init__(self, directory: str | Path, key: str, every: int, is_main: bool = True):
        self.dir, self.key, self.every, self.is_main = Path(directory), key, int(every), is_main

    @classmethod
    def for_output(cls, out: str | Path, section: dict, arguments: dict, inputs: list, is_main: bool) -> Resume:
        key = fingerprint(section, arguments, inputs)
        return cls(checkpoint_dir(out), key, section.get("checkpoint_every", 0), is_main)

    def load(self) -> dict | None:
        """The last complete checkpoint of this same request, or None (starting afresh, and saying why)."""
        path = self.dir / STATE
        if not self.every or not path.exists():
            return None
        state = torch.load(path, weights_only=False)
        if state.get("key") != self.key:
            print(f"[checkpoint] {path} is from other params, inputs or code: starting afresh")
            return None
        print(f"[checkpoint] resuming from {path}: {state['step'] + 1} steps done")
        return state

    def due(self, step: int) -> bool:
        return bool(self.every) and (step + 1) % self.every == 0

    def save(self, step: int, state: dict) -> None:
        """Write the state after 0-based ``step`` (temp file, fsync, rename)."""
        if not self.is_main:
            return
        self.dir.mkdir(parents=True, exist_ok=True)
        tmp = self.dir / f".{STATE}.partial"
        with open(tmp, "wb") as f:
            torch.save({**state, "key": self.key, "step": step}, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.dir / STATE)

    def clear(self) -> None:
        """Remove the directory: the output it led to is complete (only the main process deletes)."""
        if self.is_main and self.dir.exists():
            shutil.rmtree(self.dir)
