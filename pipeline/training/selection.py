"""Checkpoints every N steps and the choice of one, declared in params (``<stage>.select``) and made on
the validation split held out of training (``pipeline.tasks.splits``) -- never on the test set.

d1 reports, per task, the best checkpoint by test accuracy (evaluated every 100 steps from step 600);
choosing on the test set inflates the number it reports. Here each checkpoint is scored by greedy
decoding of ``n_problems`` validation problems per task (LLaDA's low-confidence sampler, the eval
settings given in ``select``); the best one's weights are kept on disk and become the stage's output,
and ``<out>/selection.json`` records every score. The main process scores; the others wait.

With ``stop_at`` ({task: validation accuracy %}) the rule is a quality target instead: training stops
at the first scored step where every named task reaches its target, and the output is that step's
weights or the previous scored step's, whichever is closer to the targets (mean absolute gap), so a
check that overshoots by most of a jump is not kept; only the named tasks are scored. The tiny base
uses it: its Sudoku accuracy rises in a jump whose timing is the seed's (and the CPU's rounding), so
a fixed 1000 steps caught seeds 0 / 1 / 2 at 58.8 / 32.5 / 50.0%, while a target defines the base by
what it can do. A run that never reaches the target ends at ``steps`` and says so. With ``near``
the checks come every ``near.every`` steps once every task is within ``near.within`` points of its
target (one number, or task -> points): a jump gains many points between coarse checks, and the kept
check is then far from the target.

With ``stop_each`` (a task-expert model, ``model.experts``) each named task stops on its own: at the
first check where it reaches its target its rows leave the batch, so its network gets no more
updates, while the other tasks train on; training ends when every task has stopped (a task without a
target trains to the last step). As with one stop, the network keeps that check's weights or its
previous check's, whichever is closer to its target (Countdown can gain 8 points in 25 steps).

``min_format`` (% of validation answers well formed) is part of a target: a check reaches it, and an
earlier check may be kept, only when that share of its answers is well formed too (a network stopped
early in its schedule answered in the task's format only 93% of the time). Each task's base is then
defined by its own quality, whatever the order and the steps at which the tasks were learned.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from pipeline.core.atomic import atomic_path
from pipeline.core.config import for_task, scored_tasks
from pipeline.core.data import prompt_ids
from pipeline.decoding.problems import evaluate_length
from pipeline.sampling import Decoding, get_sampler
from pipeline.tasks import read_prepared
from pipeline.training.checkpoint import load_trainable_state, trainable_state


def near_within(near: dict, task: str) -> float:
    """``near.within`` for ``task`` (a task a map does not name: 0, checked sooner only once it has
    reached its target)."""
    return float(for_task(near["within"], task, 0))


class CheckpointSelection:
    """``maybe(step, model)`` after every optimizer step; ``finish(model)`` loads the chosen weights."""

    @classmethod
    def for_stage(
        cls, select: dict | None, tasks: dict, data_dir, tokenizer, out_dir, procs, work_dir=None
    ) -> CheckpointSelection:
        """The selection a stage declares: its validation split is read only when ``select`` is set."""
        scored = {t: tasks[t] for t in scored_tasks(select, tasks)}
        validation = read_prepared(data_dir, scored, "validation") if scored else {}
        return cls(select, tasks, validation, tokenizer, out_dir, procs, work_dir)

    def __init__(
        self,
        select: dict | None,
        tasks: dict,
        validation: dict[str, list[dict]],
        tokenizer,
        out_dir: str | Path,
        procs,
        work_dir: str | Path | None = None,
    ):
        """``out_dir`` receives selection.json; ``work_dir`` (default ``out_dir``) keeps the best weights
        while training: the stage's checkpoint directory, which outlives a killed attempt."""
        self.select, self.tasks, self.tokenizer, self.procs = select, tasks, tokenizer, procs
        self.stop_at = dict((select or {}).get("stop_at") or {})
        named = self.stop_at or validation  # a target scores only the tasks it names
        self.validation = {t: validation[t][: select["n_problems"]] for t in named} if select else {}
        self.dir = Path(out_dir)
        self.best_file = Path(work_dir or out_dir) / "best_checkpoint.pt"
        self.scores: list[dict] = []
        self.best: tuple[float, int] | None = None  # (validation accuracy, step) of the best checkpoint
        self.kept: tuple[float, int] | None = None  # stop_at: (gap to the targets, step) of the check kept
        self.stopped: int | None = None  # stop_at: the step that reached every target
        self.each = bool((select or {}).get("stop_each"))
        self.finished: dict[str, int] = {}  # stop_each: task -> the step its target was reached at
        self.near_tasks: set[str] = set()  # stop_each: tasks within near.within of their target (checked sooner)
        self.previous: dict[str, tuple[float, int]] = {}  # stop_each: task -> (value, step) of its last check,
        # whose network's weights are in previous_file(task)
        self.kept_each: dict[str, int] = {}  # stop_each: task -> the step whose weights its network keeps
        self.network_of: dict[str, int] = {}  # stop_each: task -> index of the expert network running it
        self.every = (select or {}).get("every")  # steps between checks: select.near's once near the targets
        self.min_format = (select or {}).get("min_format") or 0.0
        self.formats: dict[str, float] = {}  # task -> format rate (%) of its last scored check
        # best_file holds the weights of ``best`` (or of ``kept``)

    def state_dict(self) -> dict:
        """What a resumed stage needs (the best weights stay in ``best_file``; a kill after a newer best
        was written is harmless: the resumed run recomputes that step and writes the same weights)."""
        return {
            "scores": list(self.scores),
            "best": self.best,
            "kept": self.kept,
            "stopped": self.stopped,
            "every": self.every,
            "finished": dict(self.finished),
            "near_tasks": sorted(self.near_tasks),
            "previous": dict(self.previous),
            "kept_each": dict(self.kept_each),
        }

    def load_state_dict(self, state: dict) -> None:
        self.scores, self.best, self.kept = list(state["scores"]), state["best"], state.get("kept")
        self.stopped, self.every = state.get("stopped"), state.get("every", self.every)
        self.finished = dict(state.get("finished", {}))
        self.near_tasks = set(state.get("near_tasks", []))
        self.previous = {t: tuple(v) for t, v in state.get("previous", {}).items()}
        self.kept_each = dict(state.get("kept_each", {}))

    def score(self, model, only: set[str] | None = None) -> dict[str, float]:
        """Mean validation accuracy (%) per task (of ``only``, default all) at the selection's decoding settings."""
        s = self.select
        spec = Decoding(
            int(model.config.mask_token_id),
            s["gen_length"],
            s["block_length"],
            steps=round(s["steps_ratio"] * s["gen_length"]),
            stop_id=self.tokenizer.eos_token_id,  # the same text, without decoding blocks after an answer's end
        )
        was_training = model.training
        model.eval()
        out = {}
        for name, rows in self.validation.items():
            if name in self.finished or (only is not None and name not in only):  # a stopped task no longer changes
                continue
            metrics, _ = evaluate_length(
                model,
                self.tokenizer,
                self.tasks[name],
                rows,
                get_sampler("low_confidence"),
                spec,
                s["batch_size"],
                desc=f"select/{name}",
            )
            out[name] = metrics["accuracy"]
            self.formats[name] = metrics["format_rate"]
        model.train(was_training)
        return out

    def _save(self, model) -> None:
        with atomic_path(self.best_file) as tmp:
            torch.save(trainable_state(model), tmp)

    def _formed(self, task: str) -> bool:
        """Whether ``task``'s last scored check answered well formed at least ``min_format`` % of the time."""
        return self.formats.get(task, 100.0) >= self.min_format

    def _toward_targets(self, per_task: dict[str, float], step: int, model) -> bool:
        """stop_at: whether every target is reached at ``step``; keeps in ``kept`` (gap, step) the
        check whose weights are the output, the previous one's when it was closer."""
        formed = all(self._formed(t) for t in self.stop_at)
        reached = formed and all(per_task[t] >= target for t, target in self.stop_at.items())
        near = self.select.get("near")
        if near and all(per_task[t] >= target - near_within(near, t) for t, target in self.stop_at.items()):
            self.every = near["every"]
        gap = sum(abs(per_task[t] - target) for t, target in self.stop_at.items()) / len(self.stop_at)
        line = ", ".join(f"{t} {per_task[t]:.1f}/{target:g}" for t, target in self.stop_at.items())
        if reached and self.kept is not None and self.kept[0] < gap:
            line += f": reached; step {self.kept[1]} was closer, its weights are kept"
        elif reached or formed:
            self.kept = (gap, step)
            if reached:
                line += ": reached"
            else:  # keep this check's weights: the one that reaches may overshoot by more
                self._save(model)
        else:
            self.kept = None  # malformed answers: this check is no candidate
            line += f" (well-formed answers under {self.min_format:g}%)"
        print(f"[select] step {step}: validation {line}")
        return reached

    def previous_file(self, task: str) -> Path:
        return self.best_file.with_name(f"previous_{task}.pt")

    def kept_file(self, task: str) -> Path:
        """stop_each: the weights a stopped task's network keeps, loaded back by ``finish``."""
        return self.best_file.with_name(f"kept_{task}.pt")

    def _network(self, model, task: str) -> torch.nn.Module:
        """The expert network that runs ``task``'s rows (routed by its prompt's keyword)."""
        if task not in self.network_of:
            ids = torch.tensor([prompt_ids(self.tokenizer, self.tasks[task], self.validation[task][0], "eval")])
            self.network_of[task] = int(model.expert_of(ids)[0])
        return model.networks()[self.network_of[task]]

    def _each_toward_targets(self, per_task: dict[str, float], step: int, model) -> None:
        """stop_each: the tasks that reach their target at ``step`` stop (``finished``), each network
        keeping this check's weights or its previous check's, whichever is closer to its target."""
        near = self.select.get("near")
        parts = []
        for t, value in per_task.items():
            parts.append(f"{t} {value:.1f}/{self.stop_at[t]:g}")
            network, target = self._network(model, t), self.stop_at[t]
            if not self._formed(t):
                parts[-1] += f" (format {self.formats[t]:.1f}%)"
                self.previous.pop(t, None)  # no candidate to keep
            elif value >= target:
                self.finished[t], self.kept_each[t] = step, step
                parts[-1] += ": reached, stops"
                before = self.previous.get(t)
                if before is not None and abs(before[0] - target) < value - target:
                    network.load_state_dict(torch.load(self.previous_file(t)))
                    self.kept_each[t] = before[1]
                    parts[-1] += f"; step {before[1]} ({before[0]:.1f}) was closer, its weights are kept"
                # finish() puts these back: a stopped network gets no updates, but under ema_decay the
                # trainer swaps the raw weights back in after the check and the average drifts to them
                with atomic_path(self.kept_file(t)) as tmp:
                    torch.save(network.state_dict(), tmp)
                self.previous_file(t).unlink(missing_ok=True)
            else:
                with atomic_path(self.previous_file(t)) as tmp:
                    torch.save(network.state_dict(), tmp)
                self.previous[t] = (value, step)
            if near and t not in self.finished and value >= self.stop_at[t] - near_within(near, t):
                self.near_tasks.add(t)
            else:
                self.near_tasks.discard(t)
        # near tasks alone are checked every near.every steps; the others at select.every
        self.every = near["every"] if self.near_tasks else self.select["every"]
        print(f"[select] step {step}: validation " + ", ".join(parts))

    def due(self, step: int) -> bool:
        """Whether a check comes after ``step``."""
        if self.each and set(self.finished) >= set(self.stop_at):  # nothing left to score
            return False
        return bool(self.select) and (step + 1) % self.every == 0

    def maybe(self, step: int, model, run) -> bool:
        """Score after ``step`` when due; True when a ``stop_at`` target is met (every process agrees)."""
        if not self.due(step):
            return False
        reached = False
        if self.procs.is_main:
            only = None if not self.each or (step + 1) % self.select["every"] == 0 else set(self.near_tasks)
            unwrapped = self.procs.accelerator.unwrap_model(model)
            per_task = self.score(unwrapped, only)
            value = sum(per_task.values()) / len(per_task)
            formats = {f"format/{t}": self.formats[t] for t in per_task if t in self.formats}
            self.scores.append({"step": step + 1, "validation_accuracy": value, **per_task, **formats})
            run.log_metrics({"validation_accuracy": value, **{f"validation/{t}": a for t, a in per_task.items()}}, step)
            if self.stop_at and self.each:
                self._each_toward_targets(per_task, step + 1, unwrapped)
                reached = set(self.finished) >= set(self.tasks)  # a task without a target trains to the end
            elif self.stop_at:
                reached = self._toward_targets(per_task, step + 1, model)
            elif self.best is None or value > self.best[0]:
                self.best = (value, step + 1)
                self._save(model)
        # the main process decides for all: only its values are nonzero in the mean
        main, world = self.procs.is_main, self.procs.world
        flags = {f"done/{t}": float(self.finished.get(t, 0) if main else 0) for t in self.stop_at} if self.each else {}
        agreed = self.procs.mean({"stop": float(reached), "every": float(self.every if main else 0), **flags})
        reached, self.every = agreed["stop"] > 0, round(agreed["every"] * world)
        if self.each:  # the step each stopped task stopped at
            self.finished = {t: round(agreed[f"done/{t}"] * world) for t in self.stop_at if agreed[f"done/{t}"]}
        if reached:
            self.stopped = step + 1
        return reached

    def finish(self, model) -> None:
        """Load the chosen weights into ``model`` (main process) and record the choice: the best
        checkpoint, or under ``stop_at`` the step that reached the targets or the one before it."""
        if not self.select or not self.procs.is_main:
            return
        if self.stop_at and self.each:
            unwrapped = self.procs.accelerator.unwrap_model(model)
            for t in self.finished:
                self._network(unwrapped, t).load_state_dict(torch.load(self.kept_file(t)))
                self.kept_file(t).unlink()
            record = {"rule": "stop_each", "targets": self.stop_at, "reached": set(self.finished) >= set(self.stop_at)}
            record |= {"stopped_at": self.finished, "kept_step": self.kept_each, "chosen_step": self.stopped or "last"}
            if not record["reached"]:
                left = sorted(set(self.stop_at) - set(self.finished))
                print(f"[select] stop_each: {left} not reached by the last step")
        elif self.stop_at:
            record = {"rule": "stop_at", "targets": self.stop_at, "reached": self.stopped is not None}
            if self.stopped is None:
                print(f"[select] stop_at {self.stop_at} not reached by the last step: its weights are the output")
                record["chosen_step"] = "last"
            else:
                record["chosen_step"] = self.kept[1]
                if self.kept[1] != self.stopped:
                    load_trainable_state(model, torch.load(self.best_file))
            self.best_file.unlink(missing_ok=True)
        elif self.best is None:
            return
        else:
            load_trainable_state(model, torch.load(self.best_file))
            self.best_file.unlink()
            record = {"rule": "best", "chosen_step": self.best[1], "validation_accuracy": self.best[0]}
        self.dir.mkdir(parents=True, exist_ok=True)
        record |= {"on": "validation split", "checkpoints": self.scores}
        (self.dir / "selection.json").write_text(json.dumps(record, indent=2) + "\n")
