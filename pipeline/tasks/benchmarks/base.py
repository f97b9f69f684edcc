"""What the four paper benchmarks (GSM8K, MATH-500, Countdown, Sudoku) share.

Options every benchmark takes (task params, e.g. ``get_task("math500", protocol=...)``):

``data_dir``
    A folder laid out like ``../shared/data`` (``gsm8k/test.jsonl`` ...). When None
    the data come from the sources the papers load (HF hub via ``datasets``, or
    d1's GitHub files); without a network that fails at once with an error that
    names ``data_dir``.
``protocol``
    ``"d1"`` (default) or ``"justgrpo"``: which paper's prompts, rewards and
    scorer to use. JustGRPO only covers GSM8K and MATH-500. A constructor option
    rather than a ``mode`` because it changes the reward and the scorer too, not
    just the prompt; ``mode`` keeps its base meaning ("eval" or "rl").
``paper_code_bugs``
    False (default): d1's reward bugs fixed (see :mod:`pipeline.tasks.grading.d1_rewards`).
    True: the rewards behave as the released d1 code does.

Prompts. d1 never sends a system role: both its eval (``eval/gsm8k.py``) and its
RL data (``diffu-grpo/data_utils.py``) put the instructions and the question into
one user message. ``system_prompt(mode)`` returns that instruction block and
``messages`` folds it into the user turn the way d1 does. At eval time d1 also
*prefills* the assistant turn with ``<reasoning>`` (``add_reasoning=True``);
:meth:`PaperTask.generation_prefix` says what the caller must append after the
chat template. Completions passed to ``reward``/``score`` are the generated text
after that prefix, as d1 stores them.
"""
from __future__ import annotations

import json
import random
from pathlib import Path

from pipeline.core.hub import hub_unavailable
from pipeline.tasks.base import Task

MODES = ("eval", "rl")
PROTOCOLS = ("d1", "justgrpo")

#: d1's RL instruction block (``diffu-grpo/data_utils.py`` SYSTEM_PROMPT), verbatim.
D1_RL_FORMAT_PROMPT = """
Respond in the following format:
<reasoning>
...
</reasoning>
<answer>
...
</answer>
"""


class DataUnavailable(RuntimeError):
    """The split cannot be loaded: no ``data_dir`` file and no reachable hub."""


class PaperTask(Task):
    """Base of the paper benchmarks: options, d1 message layout, data access helpers."""

    protocols: tuple[str, ...] = ("d1",)

    def __init__(self, data_dir=None, protocol: str = "d1", paper_code_bugs: bool = False, **options):
        super().__init__(data_dir, **options)
        if protocol not in self.protocols:
            raise ValueError(f"{self.name}: protocol {protocol!r} not supported; use one of {self.protocols}")
        self.protocol = protocol
        self.paper_code_bugs = bool(paper_code_bugs)

    # ---------------------------------------------------------------- prompts

    def user_content(self, example: dict, mode: str) -> str:
        """The single user message d1 sends (instructions + question)."""
        return self.system_prompt(mode) + "\n\n" + example["prompt"]

    def messages(self, example: dict, mode: str = "eval") -> list[dict]:
        _check_mode(mode)
        return [{"role": "user", "content": self.user_content(example, mode)}]

    def generation_prefix(self, mode: str = "eval") -> str:
        """Text appended after the chat template, before generating: d1's eval prefill."""
        _check_mode(mode)
        return "<reasoning>" if self.protocol == "d1" and mode == "eval" else ""

    # ------------------------------------------------------------------- data

    def _local(self, relpath: str) -> Path | None:
        """Path of ``relpath`` under ``data_dir``; None when no data_dir was given."""
        if self.data_dir is None:
            return None
        path = self.data_dir / relpath
        if not path.exists():
            raise FileNotFoundError(f"{self.name}: {path} not found (data_dir={self.data_dir})")
        return path

    def _hub(self, what: str, *args, **kwargs) -> list[dict]:
        """Rows from ``datasets.load_dataset(*args, **kwargs)``, or a DataUnavailable naming data_dir."""
        hint = (f"{self.name}: no data_dir given and {what} could not be loaded; pass "
                f"data_dir=<folder laid out like ../shared/data> to read local files")
        why = hub_unavailable()  # datasets would retry for minutes offline
        if why:
            raise DataUnavailable(f"{hint} ({why})")
        try:
            from datasets import load_dataset
        except ImportError as err:
            raise DataUnavailable(hint + " (the `datasets` package is not installed)") from err
        try:
            return [dict(row) for row in load_dataset(*args, **kwargs)]
        except Exception as err:  # offline, unknown repo, ...: one clear message
            raise DataUnavailable(f"{hint} ({type(err).__name__}: {err})") from err

    def _check_split(self, split: str) -> None:
        if split not in self.splits:
            raise ValueError(f"{self.name}: unknown split {split!r}; splits are {self.splits}")


def _check_mode(mode: str) -> None:
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")


def read_jsonl(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def take(examples: list[dict], n: int | None, seed: int) -> list[dict]:
    """All examples, or ``n`` of them drawn with ``seed`` (kept in their original order)."""
    if n is None or n >= len(examples):
        return examples
    keep = sorted(random.Random(seed).sample(range(len(examples)), n))
    return [examples[i] for i in keep]
