"""JustGRPO's code grading, shared by HumanEval and MBPP: extraction, reward, pass@1.

Source: LeapLabTHU/JustGRPO (arXiv 2601.15165). Its ``eval.py`` builds the prompts and
scores with ``utils/code_exec.py``; its code-RL reward is ``data/code.py`` (format reward +
pass rate) over ``data/local_sandbox.py`` (per-test execution). The search index's copy of
the upstream repository holds ``eval.py`` only; the other three files were read from the
fork duterscmy/JustGRPO (commit 9adeb42), whose ``eval.py`` matches upstream's.

Score (:func:`pass_at_1`; pass@1 with one greedy sample, as ``eval.py``):
    code = content of the first ```` ```python\\n ... ``` ```` block, stripped; the whole
    completion when there is none. The program ``prefix + code + "\\n" + "\\n".join(tests)``
    runs once with a 3 s limit; the score is 1.0 if it runs to the end, else 0.0.

Reward (:func:`reward`; ``data/code.py::reward_code``), in [0, 2]:
    reward = format + pass_rate, where
    format = 1.0 when the completion is [text without ```] ```` ```python\\n ```` [code
             without ```] ```` ``` ```` [one optional "\\n"] and the code parses
             (``ast.parse``); 0.5 when it has that shape but does not parse; 0.0 otherwise
             (so any text after the closing fence, or a second block, gives 0);
    pass_rate = only when format == 1.0 and the code contains none of
             ``UNSAFE_SUBSTRINGS`` (JustGRPO's ``should_execute`` blocklist), the fraction
             of ``tests`` for which ``prefix + code + "\\n" + test`` runs to the end within
             1 s, each test in a fresh process; else 0.

Deviations, all forced by applying an RL reward written for AceCode to these benchmarks or
by our sandbox:
  * JustGRPO computes the reward on AceCode-Hard (lists of asserts) and never on
    HumanEval/MBPP. Here MBPP's tests are its three asserts; HumanEval's single
    ``check(candidate)`` is one test, so its pass rate is 0 or 1.
  * The HumanEval prefix (its original prompt, which carries imports such as
    ``from typing import List``) is prepended in the reward as ``eval.py`` does in scoring.
  * Programs run in :mod:`pipeline.execution.sandbox` (separate processes, OS-level
    isolation) instead of ``exec`` under JustGRPO's ``reliability_guard``, which disables
    ``os.kill``, ``subprocess`` etc. A program that calls those fails there and may pass
    here; the call is contained either way. Like JustGRPO's ``exec(code, {})`` the program
    is not run as ``__main__``, so an ``if __name__ == "__main__":`` block is skipped.
  * Time limits count from the start of the program's code, not of its process.

Examples carry ``prefix`` (source placed before the model's code) and ``tests`` (test
snippets run after it); the prompts and the task class are in :mod:`pipeline.tasks.benchmarks.code`.
"""

from __future__ import annotations

import ast

from pipeline.execution.sandbox import Limits, run_programs

EVAL_TIMEOUT_S = 3.0  # eval.py: evaluate_functional_correctness(..., timeout=3.0)
TEST_TIMEOUT_S = 1.0  # local_sandbox.py: get_successful_tests(max_execution_time=1.0)
FENCE_OPEN, FENCE = "```python\n", "```"

# local_sandbox.py should_execute: code containing any of these gets pass rate 0.
UNSAFE_SUBSTRINGS = (
    "threading",
    "multiprocess",
    "multiprocessing",
    "import os",
    "from os",
    "shutil",
    "import torch",
    "from torch",
    "import sklearn",
    "from sklearn",
)


def first_python_block(text: str) -> str | None:
    """Content of the first ```python block (unstripped); None without a closed one."""
    start = text.find(FENCE_OPEN)
    if start < 0:
        return None
    end = text.find(FENCE, start + len(FENCE_OPEN))
    return None if end < 0 else text[start + len(FENCE_OPEN) : end]


def eval_code(completion: str) -> str:
    """Code that scoring runs: the first python block stripped, or the whole completion."""
    block = first_python_block(completion)
    return completion if block is None else block.strip()


def format_reward(completion: str) -> float:
    """1.0 / 0.5 / 0.0 format score of ``data/code.py::get_code_format_reward``."""
    opening = completion.find(FENCE)
    if opening < 0 or not completion.startswith(FENCE_OPEN, opening):
        return 0.0  # no fence, or the first ``` does not open a python block
    body_start = opening + len(FENCE_OPEN)
    closing = completion.find(FENCE, body_start)
    if closing < 0 or completion[closing + len(FENCE) :] not in ("", "\n"):
        return 0.0
    try:
        ast.parse(completion[body_start:closing].strip())
    except Exception:  # SyntaxError, ValueError (NUL bytes), RecursionError ...
        return 0.5
    return 1.0


def pass_at_1(completions: list[str], examples: list[dict], max_workers: int | None = None) -> list[float]:
    """Score of each completion (1.0 if its program runs to the end), all programs run in parallel."""
    programs = [ex["prefix"] + eval_code(c) + "\n" + "\n".join(ex["tests"]) for c, ex in zip(completions, examples)]
    results = run_programs(programs, Limits(timeout=EVAL_TIMEOUT_S), run_as_main=False, max_workers=max_workers)
    return [float(r.passed) for r in results]


def reward(completions: list[str], examples: list[dict], max_workers: int | None = None) -> list[float]:
    """JustGRPO's format + pass-rate reward of each completion; all tests run in parallel."""
    rewards, jobs = [], []  # jobs: (completion index, program) for every test to run
    for i, (completion, ex) in enumerate(zip(completions, examples)):
        fmt = format_reward(completion)
        rewards.append(fmt)
        code = first_python_block(completion)
        if fmt == 1.0 and not any(s in code for s in UNSAFE_SUBSTRINGS):
            jobs += [(i, ex["prefix"] + code + "\n" + test) for test in ex["tests"]]
    results = run_programs(
        [p for _, p in jobs], Limits(timeout=TEST_TIMEOUT_S), run_as_main=False, max_workers=max_workers
    )
    passed = [0] * len(completions)
    for (i, _), result in zip(jobs, results):
        passed[i] += result.passed
    # Count first, divide once: 3 x (1/3) would fall short of 1.0 in floating point.
    return [r + p / len(ex["tests"]) for r, p, ex in zip(rewards, passed, examples)]
