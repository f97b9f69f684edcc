"""Shared pieces of the tiny synthetic tasks: seeded generation into train/test splits."""

from __future__ import annotations

import random
import re

from pipeline.tasks.base import Task


class TinyTask(Task):
    """A generated task. Test problems are drawn first from a separate seed stream and
    train problems that coincide with a test problem are skipped, so the splits never overlap.

    Options (params ``tasks.<name>``): ``seed`` (base seed of the generator), ``n_test`` (size of
    the test split, held out of train) plus task-specific
    ranges documented on each subclass.
    """

    #: how many attempts per requested example before giving up (generators reject some draws)
    max_tries_per_example = 50
    #: the shape of a well-formed answer: a regex the whole <answer> content matches
    answer_shape = r".+"

    def well_formed(self, completion: str) -> bool:
        """Exactly one <answer>...</answer> block, whose content has the task's shape (a wrong answer
        may be well formed; ``<answer>2-8-88</answer></answer>`` is not)."""
        if completion.count("<answer>") != 1 or completion.count("</answer>") != 1:
            return False
        answer = self.extract_answer(completion)
        return answer is not None and re.fullmatch(self.answer_shape, answer) is not None

    def make(self, rng: random.Random, split: str) -> dict | None:
        """Draw one example of ``split`` (with ``prompt``, ``answer``, ``completion``) or None to reject;
        a task may keep some problems for one split only (see TinySudoku, which also generates its own
        validation split: ``splits`` names it)."""
        raise NotImplementedError

    def load(self, split: str, n: int | None = None, seed: int = 0) -> list[dict]:
        if split not in self.splits:
            raise ValueError(f"{self.name}: unknown split {split!r}; known: {', '.join(self.splits)}")
        if n is None:
            raise ValueError(f"{self.name}: generated tasks need an explicit number of examples")
        base = int(self.options.get("seed", 0)) + 1000 * seed
        n_test = int(self.options.get("n_test", 0)) if split != "test" else 0
        test = self._draw(
            random.Random(f"{self.name}-test-{base}"), n_test or (n if split == "test" else 0), set(), "test"
        )
        if split == "test":
            return test
        held_out = {ex["prompt"] for ex in test}
        return self._draw(random.Random(f"{self.name}-{split}-{base}"), n, held_out, split)

    def _draw(self, rng: random.Random, n: int, exclude: set[str], split: str) -> list[dict]:
        out: list[dict] = []
        tries = 0
        while len(out) < n:
            tries += 1
            if tries > self.max_tries_per_example * max(n, 1):
                raise RuntimeError(f"{self.name}: could not draw {n} distinct examples; widen the ranges")
            ex = self.make(rng, split)
            if ex is None or ex["prompt"] in exclude:
                continue
            ex["id"] = len(out)
            out.append(ex)
        return out
