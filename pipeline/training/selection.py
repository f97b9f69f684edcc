"""Checkpoints every N steps and the choice of one, declared in params (``<stage>.select``) and made on
the validation split held out of training (``pipeline.tasks.splits``) -- never on the test set.

d1 reports, per task, the best checkpoint by test accuracy (evaluated every 100 steps from step 600);
choosing on the test set inflates the number it reports. Here each checkpoint is scored by greedy
decoding of ``n_problems`` validation problems per task (LLaDA's low-confidence sampler, the eval
settings given in ``select``); the best one's weights are kept on disk and become the stage's output,
and ``<out>/selection.json`` records every score. The main process scores; the others wait.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from pipeline.core.atomic import atomic_path
from pipeline.decoding.problems import evaluate_length
from pipeline.sampling import Decoding, get_sampler
from pipeline.tasks import read_prepared
from pipeline.training.checkpoint import load_trainable_state, trainable_state


class CheckpointSelection:
    """``maybe(step, model)`` after every optimizer step; ``finish(model)`` loads the chosen weights."""

    @classmethod
    def for_stage(
        cls, select: dict | None, tasks: dict, data_dir, tokenizer, out_dir, procs, work_dir=None
    ) -> CheckpointSelection:
        """The selection a stage declares: its validation split is read only when ``select`` is set."""
        validation = read_prepared(data_dir, tasks, "validation") if select else {}
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
        self.validation = {t: rows[: select["n_problems"]] for t, rows in validation.items()} if select else {}
        self.dir = Path(out_dir)
        self.best_file = Path(work_dir or out_dir) / "best_checkpoint.pt"
        self.scores: list[dict] = []
        self.best: tuple[float, int] | None = None

    def state_dict(self) -> dict:
        """What a resumed stage needs (the best weights stay in ``best_file``; a kill after a newer best
        was written is harmless: the resumed run recomputes that step and writes the same weights)."""
        return {"scores": list(self.scores), "best": self.best}

    def load_state_dict(self, state: dict) -> None:
        self.scores, self.best = list(state["scores"]), state["best"]

    def score(self, model) -> dict[str, float]:
        """Mean validation accuracy (%) per task at the selection's decoding settings."""
        s = self.select
        spec = Decoding(
            int(model.config.mask_token_id),
            s["gen_length"],
            s["block_length"],
            steps=round(s["steps_ratio"] * s["gen_length"]),
        )
        was_training = model.training
        model.eval()
        out = {}
        for name, rows in self.validation.items():
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
        model.train(was_training)
        return out

    def maybe(self, step: int, model, run) -> None:
        if not self.select or (step + 1) % self.select["every"]:
            return
        if self.procs.is_main:
            per_task = self.score(self.procs.accelerator.unwrap_model(model))
            value = sum(per_task.values()) / len(per_task)
            self.scores.append({"step": step + 1, "validation_accuracy": value, **per_task})
            run.log_metrics({"validation_accuracy": value}, step)
            if self.best is None or value > self.best[0]:
                self.best = (value, step + 1)
                with atomic_path(self.best_file) as tmp:
                    torch.save(trainable_state(model), tmp)
        self.procs.wait()

    def finish(self, model) -> None:
        """Load the best checkpoint's weights into ``model`` (main process) and record the choice."""
        if not self.select or not self.procs.is_main or self.best is None:
            return
        load_trainable_state(model, torch.load(self.best_file))
        self.best_file.unlink()
        self.dir.mkdir(parents=True, exist_ok=True)
        (self.dir / "selection.json").write_text(
            json.dumps(
                {
                    "chosen_step": self.best[1],
                    "validation_accuracy": self.best[0],
                    "on": "validation split",
                    "checkpoints": self.scores,
                },
                indent=2,
            )
            + "\n"
        )
