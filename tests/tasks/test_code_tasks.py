"""HumanEval and MBPP under JustGRPO's protocol, on the real data in ../shared/data.

Reference solutions must pass (through the same sandboxed scorer a model's completion
goes through), prompts must have JustGRPO's shape, and the reward must follow the formula
documented in pipeline/tasks/grading/code.py on hand-made completions.
"""

from __future__ import annotations

import pytest

from pipeline.tasks import get_task
from pipeline.tasks.benchmarks.base import DataUnavailable
from pipeline.tasks.grading.code import format_reward

# MBPP test tasks whose reference code does not pass JustGRPO's scorer, with the reason.
MBPP_REFERENCE_EXCEPTIONS = {
    367: "its asserts use trees built by test_setup_code, which JustGRPO's scorer never runs",
    123: "the reference takes about 3 s of CPU, JustGRPO's whole limit; passes on fast CPUs only",
}
MBPP_ALWAYS_FAILS = {367}


def fenced(code: str, before: str = "Here is the solution:\n", after: str = "") -> str:
    return f"{before}```python\n{code}\n```{after}"


@pytest.fixture(scope="module")
def humaneval(data_dir):
    task = get_task("humaneval", data_dir=data_dir)
    return task, task.load("test")


@pytest.fixture(scope="module")
def mbpp(data_dir):
    task = get_task("mbpp", data_dir=data_dir)
    return task, {ex["id"]: ex for ex in task.load("test")}


# ------------------------------------------------------------------ reference solutions


def test_every_humaneval_canonical_solution_passes(humaneval):
    task, examples = humaneval
    assert len(examples) == 164 and len({ex["id"] for ex in examples}) == 164
    # As a model would write it: the whole function (prompt + body) in one fenced block.
    scores = task.score_batch([fenced(ex["prefix"] + ex["answer"]) for ex in examples], examples)
    assert [ex["id"] for ex, s in zip(examples, scores) if s != 1.0] == []


def test_humaneval_unfenced_body_is_run_as_is(humaneval):
    # With no ```python block eval.py runs the raw completion after the prompt: the classic
    # HumanEval completion format (an indented body) passes, and stripping would break it.
    task, examples = humaneval
    sample = examples[:8]
    assert task.score_batch([ex["answer"] for ex in sample], sample) == [1.0] * 8


def test_mbpp_reference_code_passes_except_documented_tasks(mbpp):
    task, by_id = mbpp
    assert sorted(by_id) == list(range(11, 511))
    assert all(len(ex["tests"]) == 3 for ex in by_id.values())
    examples = list(by_id.values())
    scores = task.score_batch([fenced(ex["answer"]) for ex in examples], examples)
    failed = {ex["id"] for ex, s in zip(examples, scores) if s != 1.0}
    assert MBPP_ALWAYS_FAILS <= failed <= set(MBPP_REFERENCE_EXCEPTIONS), failed
    assert sum(scores) >= 500 - len(MBPP_REFERENCE_EXCEPTIONS)


# ------------------------------------------------------------------------------ prompts


def test_humaneval_prompt_shape(humaneval):
    task, examples = humaneval
    ex = examples[0]
    assert ex["id"] == "HumanEval/0" and ex["entry_point"] == "has_close_elements"
    assert ex["prompt"] == (
        "You are an expert Python programmer. Your task is to complete the implementation of a "
        "function named `has_close_elements`.\n\nHere is the function to complete:\n```python\n"
        + ex["prefix"].rstrip()
        + "\n```\n"
    )
    assert ex["prefix"].startswith("from typing import List\n\n\ndef has_close_elements(")
    assert ex["tests"][0].endswith("\ncheck(has_close_elements)")
    assert task.messages(ex) == [{"role": "user", "content": ex["prompt"]}]
    assert task.messages(ex, mode="rl") == task.messages(ex)
    assert task.generation_prefix() == ""


def test_mbpp_prompt_shape(mbpp):
    task, by_id = mbpp
    assert by_id[11]["prompt"] == (
        "You are an expert Python programmer. Your task is to complete the implementation of a "
        "function named `remove_Occ`.\n\n"
        "** TARGET FUNCTION **\n"
        "Write a python function to remove first and last occurrence of a given character from the string.\n\n"
        "** UNIT TESTS **\nYour code should pass unit tests like:\n"
        '    assert remove_Occ("hello","l") == "heo"\n'
        '    assert remove_Occ("abcda","a") == "bcd"\n'
        '    assert remove_Occ("PHP","P") == "H"\n\n'
        "Here is the function to complete:\n```python\n"
        "def remove_Occ(input_param_1, input_param_2):\n"
        '    """Write a python function to remove first and last occurrence of a given character from the string.\n'
        '    """\n```\n'
    )
    assert by_id[11]["prefix"] == "" and task.messages(by_id[11]) == [{"role": "user", "content": by_id[11]["prompt"]}]
    # Arity comes from the first call of the tested function inside the first assert.
    assert "def sum(input_param_1, input_param_2):" in by_id[126]["prompt"]


def test_n_and_seed_draw_a_deterministic_subset(data_dir):
    task = get_task("mbpp", data_dir=data_dir)
    a, b, c = task.load("test", n=5, seed=1), task.load("test", n=5, seed=1), task.load("test", n=5, seed=2)
    assert a == b and len(a) == 5 and a != c
    assert [ex["id"] for ex in a] == sorted(ex["id"] for ex in a)


# ------------------------------------------------------------------------------ rewards

REMOVE_OCC = """def remove_Occ(s, ch):
    s = s.replace(ch, "", 1)
    i = s.rfind(ch)
    return s if i < 0 else s[:i] + s[i + 1:]"""


def test_mbpp_reward_formula_on_hand_made_completions(mbpp):
    task, by_id = mbpp
    ex = by_id[11]
    cases = {  # completion -> (reward = format + pass rate, pass@1 score)
        fenced(REMOVE_OCC): (2.0, 1.0),
        fenced(REMOVE_OCC, before=""): (2.0, 1.0),
        fenced(REMOVE_OCC, after="\n"): (2.0, 1.0),
        # Anything after the closing fence breaks JustGRPO's format; eval still scores it.
        fenced(REMOVE_OCC, after="\n\n"): (0.0, 1.0),
        fenced(REMOVE_OCC, after="\nThis removes both occurrences."): (0.0, 1.0),
        fenced(REMOVE_OCC) + "\n" + fenced("print(1)", before=""): (0.0, 1.0),
        # Right shape, wrong code: passes only the first of the three asserts.
        fenced('def remove_Occ(s, ch):\n    return "heo"'): (1.0 + 1 / 3, 0.0),
        fenced("def remove_Occ(s, ch):\n    return s"): (1.0, 0.0),
        fenced("def remove_Occ(s, ch) return s"): (0.5, 0.0),  # does not parse
        fenced("import os\n" + REMOVE_OCC): (1.0, 1.0),  # JustGRPO's blocklist: never executed
        fenced("def remove_Occ(s, ch):\n    while True:\n        pass"): (1.0, 0.0),  # every test times out
        "I would remove the first and the last occurrence of the character.": (0.0, 0.0),
        REMOVE_OCC: (0.0, 1.0),  # bare code: no format reward, but eval runs the raw completion
        "": (0.0, 0.0),
    }
    completions = list(cases)
    rewards = task.reward_batch(completions, [ex] * len(completions))
    scores = task.score_batch(completions, [ex] * len(completions))
    for completion, reward, score in zip(completions, rewards, scores):
        assert (reward, score) == pytest.approx(cases[completion]), completion
    assert task.reward(completions[0], ex) == 2.0 and task.score(completions[0], ex) == 1.0
    assert task.extract_answer(completions[0]) == REMOVE_OCC


def test_humaneval_reward_runs_check_as_one_test(humaneval):
    task, examples = humaneval
    ex = examples[0]
    right = fenced(ex["prefix"] + ex["answer"], before="")
    wrong = fenced("def has_close_elements(numbers, threshold):\n    return True", before="")
    needs_prefix = fenced(  # correct, but uses `List` without importing it
        "def has_close_elements(numbers: List[float], threshold: float) -> bool:\n"
        "    return any(abs(a - b) < threshold for i, a in enumerate(numbers) for b in numbers[i + 1:])"
    )
    rewards = task.reward_batch([right, wrong, needs_prefix, ex["answer"]], [ex] * 4)
    # The check is one test, so pass rate is 0 or 1; the prompt (with `List`) is the prefix.
    assert rewards == [2.0, 1.0, 2.0, 0.0]


def test_format_reward_edge_cases():
    assert format_reward("```python\nx = 1\n```") == 1.0
    assert format_reward("Intro text.\n```python\nx = 1\n```\n") == 1.0
    assert format_reward("```python\n```") == 1.0  # empty code parses; it then fails every test
    assert format_reward("```python\nx = (\n```") == 0.5
    assert format_reward("Use ``` fences.\n```python\nx = 1\n```") == 0.0  # ``` before the block
    assert format_reward("``" + "```python\nx = 1\n```") == 0.0  # touching backticks count too
    assert format_reward("`` ```python\nx = 1\n```") == 1.0  # two backticks are not a fence
    assert format_reward("````python\nx = 1\n```") == 0.0
    assert format_reward("```py\nx = 1\n```") == 0.0
    assert format_reward("```python x = 1```") == 0.0
    assert format_reward("```python\nx = 1\n") == 0.0  # never closed
    assert format_reward("```python\nx = 1\n```\n ") == 0.0


# ------------------------------------------------------------------------------ loading


@pytest.mark.parametrize("name", ["humaneval", "mbpp"])
def test_offline_without_data_dir_fails_fast_naming_data_dir(monkeypatch, name, no_downloads):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(DataUnavailable, match="data_dir"):
        get_task(name).load("test")


def test_unreachable_hub_fails_fast_naming_data_dir(monkeypatch, no_downloads):
    for var in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # discard port: connection refused
    # the probe (bounded by hub.PROBE_TIMEOUT_S) answers before any download is attempted
    with pytest.raises(DataUnavailable, match="data_dir.*127.0.0.1"):
        get_task("humaneval").load("test")


def test_only_the_justgrpo_protocol_and_test_split_exist():
    with pytest.raises(ValueError, match="protocol"):
        get_task("mbpp", protocol="d1")
    with pytest.raises(ValueError, match="split"):
        get_task("humaneval").load("train")  # the split is refused before any data is read


# ------------------------------------------------------------------ AceCode-Hard (JustGRPO's code RL set)


@pytest.fixture
def acecode_dir(tmp_path):
    """A data_dir with three rows in AceCode-Hard's format (question, test_cases)."""
    import json

    rows = [
        {
            "question": "Write a function add(a, b) returning a + b.",
            "test_cases": ["assert add(1, 2) == 3", "assert add(0, 0) == 0"],
        },
        {"question": "Complete:\n```python\ndef neg(x):\n```", "test_cases": ["assert neg(1) == -1"]},
        {"question": "Write sq(x).", "test_cases": ["assert sq(3) == 9"]},
    ]
    (tmp_path / "acecode_hard").mkdir()
    (tmp_path / "acecode_hard" / "train.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return tmp_path


def test_acecode_prompt_appends_the_first_test_only_without_a_fence(acecode_dir):
    examples = get_task("acecode_hard", data_dir=acecode_dir, cache_dir=acecode_dir / "cache").load("train")
    assert examples[0]["prompt"] == "Write a function add(a, b) returning a + b.\nTest cases: assert add(1, 2) == 3"
    assert examples[1]["prompt"].endswith("```") and "Test cases" not in examples[1]["prompt"]
    assert examples[0]["tests"] == ["assert add(1, 2) == 3", "assert add(0, 0) == 0"]


def test_acecode_reward_is_format_plus_pass_rate(acecode_dir):
    task = get_task("acecode_hard", data_dir=acecode_dir, cache_dir=acecode_dir / "cache", max_workers=2)
    ex = task.load("train")[0]
    right, half = fenced("def add(a, b):\n    return a + b"), fenced("def add(a, b):\n    return a + b + (a == 1)")
    assert task.reward_batch([right, half, "def add(a, b): return a + b"], [ex] * 3) == [2.0, 1.5, 0.0]
    assert task.score_batch([right, half], [ex] * 2) == [1.0, 0.0]


def test_acecode_without_its_file_says_where_to_get_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="Google Drive"):
        get_task("acecode_hard", data_dir=tmp_path).load("train")
    with pytest.raises(DataUnavailable, match="Google Drive"):
        get_task("acecode_hard").load("train")
