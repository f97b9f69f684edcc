"""What the paper benchmarks share (GSM8K, MATH-500, Countdown, Sudoku, s1K; HumanEval and
MBPP add :mod:`pipeline.tasks.benchmarks.code`).

Options every benchmark takes (task params, e.g. ``get_task("math500", protocol=...)``):

``data_dir``
    A folder laid out like ``../shared/data`` (``gsm8k/test.jsonl`` ...). When None
    the data come from the sources the papers load (HF hub, or d1's GitHub files);
    without a network that fails at once with an error that names ``data.data_dir``.
``cache_dir``
    Where ``datasets`` keeps its Arrow copies (the stages pass
    ``<paths.results>/cache/datasets``; None: ``datasets``' own default).
``protocol``
    ``"d1"`` (default) or ``"justgrpo"``: which paper's prompts, rewards and
    scorer to use. JustGRPO only covers GSM8K and MATH-500 (and the code
    benchmarks, which d1 lacks). A constructor option rather than a ``mode``
    because it changes the reward and the scorer too, not just the prompt;
    ``mode`` keeps its base meaning ("eval" or "rl").
``paper_code_bugs``
    False (default): d1's reward bugs fixed (see :mod:`pipeline.tasks.grading.d1_rewards`).
    True: the rewards behave as the released d1 code does.

Loading. Local files and hub sources both go through ``datasets.load_dataset``
(:meth:`PaperTask._read`, :meth:`PaperTask._hub`): one reader and one cache for
both, so a local copy in the hub's row format is parsed the way the hub copy is.
Rows come back as plain Python dicts (``Dataset.to_list``), in file order.

Protocols. Each benchmark declares ``protocols = {name: Protocol subclass}``; the
constructor builds the chosen one once (``task.protocol``, its name in
``task.protocol_name``) and the prompt and grading methods delegate to it, so no
method asks which paper it is serving. :class:`D1Protocol` and
:class:`JustGRPOProtocol` hold what each paper does the same way on every benchmark.

Prompts. d1 never sends a system role: both its eval (``eval/gsm8k.py``) and its
RL data (``diffu-grpo/data_utils.py``) put the instructions and the question into
one user message. ``system_prompt(mode)`` returns that instruction block and
``messages`` folds it into the user turn the way d1 does. At eval time d1 also
*prefills* the assistant turn with ``<reasoning>`` (``add_reasoning=True``);
:meth:`PaperTask.generation_prefix` says what the caller must append after the
chat template (:meth:`D1Protocol.generation_prefix`). Completions passed to
``reward``/``score`` are the generated text after that prefix, as d1 stores them.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import ClassVar

from pipeline.core.data import DataFileError, read_jsonl
from pipeline.core.hub import hub_unavailable
from pipeline.tasks.base import Task, extract_xml_answer

MODES = ("eval", "rl")

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


class Protocol:
    """One paper's way of posing and grading a benchmark: prompts, answer extraction, reward, score.

    Built once per task from the task's options; ``mode`` is "eval" or "rl" (already checked).
    Defaults are the plain ones of :class:`pipeline.tasks.base.Task`.
    """

    def __init__(self, paper_code_bugs: bool = False):
        self.paper_code_bugs = paper_code_bugs

    def system_prompt(self, mode: str) -> str | None:
        """Instruction block sent with the question (inside the user turn), or None."""
        return None

    def user_content(self, example: dict, mode: str) -> str:
        """The single user message."""
        return example["prompt"]

    def generation_prefix(self, mode: str) -> str:
        return ""

    def filter_train(self, rows: list[dict]) -> list[dict]:
        """Source rows of the train split this protocol trains on (all of them unless it drops some)."""
        return rows

    def extract_answer(self, completion: str) -> str | None:
        return extract_xml_answer(completion)

    def reward(self, completion: str, example: dict) -> float:
        raise NotImplementedError

    def score(self, completion: str, example: dict) -> float:
        return float(self.reward(completion, example) >= 1.0)

    def reward_batch(self, completions: list[str], examples: list[dict]) -> list[float]:
        return [self.reward(c, ex) for c, ex in zip(completions, examples)]

    def score_batch(self, completions: list[str], examples: list[dict]) -> list[float]:
        return [self.score(c, ex) for c, ex in zip(completions, examples)]


class D1Protocol(Protocol):
    """d1's layout: its instruction block and the question in one user turn, ``<reasoning>``
    prefilled at eval time."""

    def user_content(self, example: dict, mode: str) -> str:
        return self.system_prompt(mode) + "\n\n" + example["prompt"]

    def generation_prefix(self, mode: str) -> str:
        return "<reasoning>" if mode == "eval" else ""


class JustGRPOProtocol(Protocol):
    """JustGRPO's layout: the question alone (the default ``user_content``), no prefill; its
    rewards are +1/-1 and the score counts the +1s."""

    def score(self, completion: str, example: dict) -> float:
        return float(self.reward(completion, example) > 0)


class PaperTask(Task):
    """Base of the paper benchmarks: options, protocol choice, data access helpers."""

    #: protocol name -> class; the constructor's ``protocol`` default picks one when none is given
    protocols: ClassVar[dict[str, type[Protocol]]] = {}

    def __init__(self, data_dir=None, protocol: str = "d1", paper_code_bugs: bool = False, cache_dir=None, **options):
        super().__init__(data_dir, **options)
        self.cache_dir = str(cache_dir) if cache_dir else None
        if protocol not in self.protocols:
            raise ValueError(f"{self.name}: protocol {protocol!r} not supported; use one of {tuple(self.protocols)}")
        self.protocol_name = protocol
        self.paper_code_bugs = bool(paper_code_bugs)
        self.protocol: Protocol = self.protocols[protocol](**self._protocol_options())

    def _protocol_options(self) -> dict:
        """Keyword arguments the protocol class is built with."""
        return {"paper_code_bugs": self.paper_code_bugs}

    # ------------------------------------------------------ prompts and grading

    def system_prompt(self, mode: str = "eval") -> str | None:
        return self.protocol.system_prompt(mode)

    def user_content(self, example: dict, mode: str) -> str:
        """The single user message the protocol sends (d1: instructions + question)."""
        return self.protocol.user_content(example, mode)

    def messages(self, example: dict, mode: str = "eval") -> list[dict]:
        _check_mode(mode)
        return [{"role": "user", "content": self.user_content(example, mode)}]

    def generation_prefix(self, mode: str = "eval") -> str:
        """Text appended after the chat template, before generating: d1's eval prefill."""
        _check_mode(mode)
        return self.protocol.generation_prefix(mode)

    def extract_answer(self, completion: str) -> str | None:
        return self.protocol.extract_answer(completion)

    def reward(self, completion: str, example: dict) -> float:
        return self.protocol.reward(completion, example)

    def score(self, completion: str, example: dict) -> float:
        return self.protocol.score(completion, example)

    def reward_batch(self, completions: list[str], examples: list[dict]) -> list[float]:
        return self.protocol.reward_batch(completions, examples)

    def score_batch(self, completions: list[str], examples: list[dict]) -> list[float]:
        return self.protocol.score_batch(completions, examples)

    # ------------------------------------------------------------------- data

    def _local(self, *relpaths: str) -> Path | None:
        """The first of ``relpaths`` that exists under ``data_dir``; None when no data_dir was given."""
        if self.data_dir is None:
            return None
        for relpath in relpaths:
            if (self.data_dir / relpath).exists():
                return self.data_dir / relpath
        missing = " or ".join(str(self.data_dir / r) for r in relpaths)
        raise FileNotFoundError(f"{self.name}: {missing} not found (data_dir={self.data_dir})")

    def _read(self, path: Path, required: tuple[str, ...], **kwargs) -> list[dict]:
        """Rows of a local data file, read by ``datasets``' builder for its format, each carrying the
        ``required`` source fields. A JSONL file is checked line by line first, so a bad line is
        reported as ``file:line`` before ``datasets`` parses it (its exception names neither)."""
        fix = f"restore the original file (its source is named in {type(self).__module__.replace('.', '/')}.py)"
        if path.name.endswith((".jsonl", ".jsonl.gz")):
            read_jsonl(path, required, fix)
        rows = self._load_dataset(builder_for(path), data_files=str(path), split="train", **kwargs)
        missing = [k for k in required if rows and k not in rows[0]]  # other formats: whole columns
        if missing:
            raise DataFileError(f"{path}: no column {', '.join(map(repr, missing))}; {fix}")
        return rows

    def _hub(self, what: str, *args, **kwargs) -> list[dict]:
        """Rows from ``datasets.load_dataset(*args, **kwargs)``, or a DataUnavailable naming data.data_dir."""
        hint = (
            f"{self.name}: no data_dir given and {what} could not be loaded; set data.data_dir "
            f"(task option data_dir) to a folder laid out like ../shared/data to read local files"
        )
        why = hub_unavailable()  # asked first: datasets would retry for minutes offline
        if why:
            raise DataUnavailable(f"{hint} ({why})")
        try:
            return self._load_dataset(*args, **kwargs)
        except ImportError as err:
            raise DataUnavailable(hint + " (the `datasets` package is not installed)") from err
        except Exception as err:  # offline, unknown repo, ...: one clear message
            raise DataUnavailable(f"{hint} ({type(err).__name__}: {err})") from err

    def _load_dataset(self, *args, **kwargs) -> list[dict]:
        # looked up on the module at call time, so tests can watch (or forbid) every load
        import datasets

        return datasets.load_dataset(*args, cache_dir=self.cache_dir, **kwargs).to_list()

    def _check_split(self, split: str) -> None:
        if split not in self.splits:
            raise ValueError(f"{self.name}: unknown split {split!r}; splits are {self.splits}")


def _check_mode(mode: str) -> None:
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")


#: ``datasets`` builder per file suffix (compressed files: the suffix before ``.gz``)
BUILDERS = {".jsonl": "json", ".json": "json", ".csv": "csv", ".parquet": "parquet"}


def builder_for(path: Path) -> str:
    suffix = Path(path.name.removesuffix(".gz")).suffix
    if suffix not in BUILDERS:
        raise ValueError(f"{path}: no datasets builder for {suffix!r} files; known: {', '.join(BUILDERS)}")
    return BUILDERS[suffix]


def take(examples: list[dict], n: int | None, seed: int) -> list[dict]:
    """All examples, or ``n`` of them drawn with ``seed`` (kept in their original order)."""
    if n is None or n >= len(examples):
        return examples
    keep = sorted(random.Random(seed).sample(range(len(examples)), n))
    return [examples[i] for i in keep]
