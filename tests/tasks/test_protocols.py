"""Protocols are objects chosen once at construction; the benchmarks never branch on the protocol name."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import pipeline.tasks.benchmarks as benchmarks
from pipeline.core.registry import options_schema
from pipeline.tasks import TASKS, get_task
from pipeline.tasks.benchmarks import gsm8k, math500
from pipeline.tasks.benchmarks.base import Protocol

PAPER_TASKS = ("gsm8k", "math500", "countdown", "sudoku", "humaneval", "mbpp")
DECLARED = {
    ("gsm8k", "d1"): gsm8k.D1GSM8K,
    ("gsm8k", "justgrpo"): gsm8k.JustGRPOGSM8K,
    ("math500", "d1"): math500.D1MATH500,
    ("math500", "justgrpo"): math500.JustGRPOMATH500,
}
# Hand-made examples, so these tests need no data folder.
EXAMPLES = {
    "gsm8k": {
        "id": 0,
        "prompt": "Tom has 3 apples and buys 4. How many?",
        "answer": "7",
        "solution": "3+4=<<3+4=7>>7\n#### 7",
    },
    "math500": {
        "id": 0,
        "prompt": "What is $\\frac{1}{2}+\\frac{1}{4}$?",
        "answer": "\\frac{3}{4}",
        "solution": "Add them: $\\boxed{\\frac{3}{4}}$.",
    },
}


class Recorder(Protocol):
    """A protocol whose every answer names the method, to show the task asks nothing else."""

    def system_prompt(self, mode):
        return f"system {mode}"

    def user_content(self, example, mode):
        return f"user {mode} {example['id']}"

    def generation_prefix(self, mode):
        return f"prefix {mode}"

    def extract_answer(self, completion):
        return f"extracted {completion}"

    def reward(self, completion, example):
        return 7.0

    def score(self, completion, example):
        return 0.25


@pytest.mark.parametrize("name,protocol", sorted(DECLARED))
def test_the_declared_protocol_class_is_built_once(name, protocol):
    task = get_task(name, protocol=protocol, paper_code_bugs=True)
    assert type(task.protocol) is DECLARED[(name, protocol)] is task.protocols[protocol]
    assert task.protocol_name == protocol and task.protocol.paper_code_bugs is True


@pytest.mark.parametrize("name,protocol", sorted(DECLARED))
def test_prompts_rewards_and_scores_come_from_the_protocol(name, protocol):
    task, ex = get_task(name, protocol=protocol), EXAMPLES[name]
    completions = [
        "<reasoning>\nok\n</reasoning>\n<answer>\n\\boxed{7}\n</answer>",
        "no idea",
        f"The answer is $\\boxed{{{ex['answer']}}}$.",
    ]
    for mode in ("eval", "rl"):
        assert task.system_prompt(mode) == task.protocol.system_prompt(mode)
        assert task.messages(ex, mode) == [{"role": "user", "content": task.protocol.user_content(ex, mode)}]
        assert task.generation_prefix(mode) == task.protocol.generation_prefix(mode)
    for c in completions:
        assert task.extract_answer(c) == task.protocol.extract_answer(c)
        assert task.reward(c, ex) == task.protocol.reward(c, ex)
        assert task.score(c, ex) == task.protocol.score(c, ex)

    task.protocol = Recorder()  # swapped in: everything the task answers must now be the recorder's
    assert task.system_prompt("rl") == "system rl"
    assert task.messages(ex, "eval") == [{"role": "user", "content": "user eval 0"}]
    assert task.generation_prefix("eval") == "prefix eval"
    assert task.extract_answer("x") == "extracted x"
    assert task.reward("x", ex) == 7.0 and task.score("x", ex) == 0.25
    assert task.reward_batch(["x", "y"], [ex, ex]) == [7.0, 7.0]
    assert task.score_batch(["x", "y"], [ex, ex]) == [0.25, 0.25]


def test_the_two_protocols_pose_the_question_differently():
    ex = EXAMPLES["math500"]
    d1, jg = get_task("math500"), get_task("math500", protocol="justgrpo")
    assert d1.messages(ex, "eval")[0]["content"] == math500.EVAL_PROMPT + "\n\n" + ex["prompt"]
    assert jg.messages(ex, "eval")[0]["content"] == ex["prompt"] + math500.JUSTGRPO_SUFFIX
    assert (d1.generation_prefix("eval"), jg.generation_prefix("eval")) == ("<reasoning>", "")
    g = get_task("gsm8k", protocol="justgrpo")
    assert g.messages(EXAMPLES["gsm8k"], "rl") == [{"role": "user", "content": EXAMPLES["gsm8k"]["prompt"]}]
    assert g.reward("so \\boxed{7}", EXAMPLES["gsm8k"]) == 1.0 and g.reward("8", EXAMPLES["gsm8k"]) == -1.0


@pytest.mark.parametrize("name", PAPER_TASKS)
def test_options_schema_lists_exactly_the_declared_protocols(name):
    schema = options_schema(TASKS, name)["properties"]["protocol"]
    task = get_task(name)
    assert schema["enum"] == list(task.protocols)
    assert task.protocol_name == schema["default"]  # the constructor default is the documented one
    assert type(task.protocol) is task.protocols[task.protocol_name]


def test_unsupported_protocol_names_the_supported_ones():
    with pytest.raises(ValueError, match=r"sudoku: protocol 'justgrpo' not supported; use one of \('d1',\)"):
        get_task("sudoku", protocol="justgrpo")


def test_no_benchmark_module_branches_on_the_protocol_name():
    sources = sorted(Path(benchmarks.__file__).parent.glob("*.py"))
    assert len(sources) >= 8
    branching = re.compile(r"""[=!]=\s*["'](d1|justgrpo)["']|["'](d1|justgrpo)["']\s*[=!]=""")
    offenders = [f"{p.name}: {m.group(0)}" for p in sources for m in branching.finditer(p.read_text())]
    assert offenders == []
