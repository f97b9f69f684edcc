"""The paper benchmarks on their real data: sizes, gold answers, prompts, rewards by hand."""

from __future__ import annotations

import itertools
from fractions import Fraction

import pytest

from pipeline.decoding.effective_tokens import cl100k_base, effective_tokens
from pipeline.tasks import get_task
from pipeline.tasks.benchmarks.base import D1_RL_FORMAT_PROMPT, DataUnavailable


@pytest.fixture
def task(data_dir):
    """Build a benchmark on the real data (the test skips when the data folder is absent)."""
    return lambda name, **options: get_task(name, data_dir=data_dir, **options)


def d1_eval_completion(answer: str) -> str:
    """What a d1-style model writes after the ``<reasoning>`` prefill."""
    return f"\nSome work.\nMore work.\n</reasoning>\n<answer>\n\\boxed{{{answer}}}\n</answer><|eot_id|>"


# ------------------------------------------------------------------------- sizes


@pytest.mark.parametrize(
    "name,split,size",
    [
        ("gsm8k", "test", 1319),
        ("gsm8k", "train", 7473),
        ("math500", "test", 500),
        ("countdown", "test", 256),
        ("sudoku", "test", 256),
    ],
)
def test_split_sizes_and_ids(name, split, size, task):
    examples = task(name).load(split)
    assert len(examples) == size
    assert len({ex["id"] for ex in examples}) == size
    assert all(isinstance(ex["prompt"], str) and isinstance(ex["answer"], str) for ex in examples)


def test_n_and_seed_draw_a_deterministic_subset(task):
    t = task("gsm8k")
    a, b, c = t.load("test", n=10, seed=1), t.load("test", n=10, seed=1), t.load("test", n=10, seed=2)
    assert a == b and len(a) == 10 and a != c


def test_sudoku_test_split_is_d1s_seed_42_draw_of_distinct_rows(task):
    ids = [ex["id"] for ex in task("sudoku").load("test")]
    assert len(set(ids)) == 256 and all(0 <= i < 500 for i in ids)
    assert ids != sorted(ids)  # d1's order, not file order


def test_offline_without_data_dir_fails_fast_naming_data_dir(monkeypatch, no_downloads):
    """Fails before any download is attempted (the hub's loaders retry for minutes offline)."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    for name in ("gsm8k", "math500", "countdown", "sudoku"):
        with pytest.raises(DataUnavailable, match="data_dir"):
            get_task(name).load("test")


@pytest.mark.parametrize(
    "name,path",
    [
        ("math500", "math500/train.jsonl"),
        ("countdown", "countdown/train.jsonl"),
        ("sudoku", "sudoku/4x4_sudoku_unique_puzzles.csv"),
    ],
)
def test_missing_train_file_under_data_dir_is_reported(name, path, task, data_dir):
    if (data_dir / path).exists():
        pytest.skip(f"{path} exists in this data folder")
    with pytest.raises(FileNotFoundError, match=path.split("/")[-1]):
        task(name).load("train")


# ----------------------------------------------------------------- gold answers


def valid_sudoku(grid: str) -> bool:
    rows = [grid[4 * r : 4 * r + 4] for r in range(4)]
    cols = ["".join(row[c] for row in rows) for c in range(4)]
    boxes = ["".join(rows[r + dr][c + dc] for dr in (0, 1) for dc in (0, 1)) for r in (0, 2) for c in (0, 2)]
    return all(sorted(unit) == list("1234") for unit in rows + cols + boxes)


def test_every_sudoku_solution_is_valid_and_scores_one(task):
    t = task("sudoku")
    for ex in t.load("test"):
        assert valid_sudoku(ex["answer"])
        assert all(p in ("0", s) for p, s in zip(ex["puzzle"], ex["answer"]))
        assert t.score(f"\nwork\n</reasoning>\n<answer>\n{ex['answer']}\n</answer><|eot_id|>", ex) == 1.0
        assert t.reward(f"<reasoning>\nx\n</reasoning>\n<answer>\n{ex['answer']}\n</answer>", ex) == 1.0


def solve_countdown(numbers: list[int], target: int) -> str | None:
    """Brute force: every order of the 3 numbers, 4 x 4 operators, both bracketings."""
    ops = {
        "+": lambda a, b: a + b,
        "-": lambda a, b: a - b,
        "*": lambda a, b: a * b,
        "/": lambda a, b: a / b if b else None,
    }
    for a, b, c in itertools.permutations(numbers):
        for (o1, f1), (o2, f2) in itertools.product(ops.items(), repeat=2):
            left = f1(Fraction(a), Fraction(b))
            if left is not None and f2(left, Fraction(c)) == target:
                return f"({a} {o1} {b}) {o2} {c}"
            right = f2(Fraction(b), Fraction(c))
            if right is not None and f1(Fraction(a), right) == target:
                return f"{a} {o1} ({b} {o2} {c})"
    return None


def test_countdown_every_row_is_solvable_and_rewarded(task):
    t = task("countdown")
    for ex in t.load("test"):
        expr = solve_countdown(ex["numbers"], ex["target"])
        assert expr is not None, ex
        assert t.reward(f"<reasoning>\nok\n</reasoning>\n<answer>\n{expr}\n</answer>", ex) == 1.0
        assert t.score(d1_eval_completion(expr), ex) == 1.0


def test_gsm8k_gold_wrapped_as_answer_scores_correct(task):
    t, as_d1 = task("gsm8k"), task("gsm8k", paper_code_bugs=True)
    examples = t.load("test")
    failing_as_d1 = set()
    for ex in examples:
        assert t.score(d1_eval_completion(ex["answer"]), ex) == 1.0, ex["answer"]
        if as_d1.score(d1_eval_completion(ex["answer"]), ex) < 1.0:
            failing_as_d1.add(ex["answer"])
    # d1's parser loses exactly the negative golds and those written with thousands commas
    assert failing_as_d1 == {ex["answer"] for ex in examples if "-" in ex["answer"] or "," in ex["answer"]}
    assert len(failing_as_d1) > 2


def test_gsm8k_train_completion_earns_full_d1_reward(task):
    t = task("gsm8k")
    for ex in t.load("train", n=300, seed=0):
        expected = 4.0 if ex["answer"].isdigit() else 3.5  # int term needs str.isdigit()
        assert t.reward(ex["completion"], ex) == pytest.approx(expected)


def test_gsm8k_justgrpo_gold_in_box_gets_plus_one(task):
    t = task("gsm8k", protocol="justgrpo")
    for ex in t.load("test", n=200, seed=0):
        assert t.reward(f"So the total is \\boxed{{{ex['answer']}}}.", ex) == 1.0
        assert t.reward("I am not sure.", ex) == -1.0


def test_math500_gold_wrapped_scores_correct_under_both_protocols(task):
    d1, jg = task("math500"), task("math500", protocol="justgrpo")
    for ex in d1.load("test"):
        assert d1.score(d1_eval_completion(ex["answer"]), ex) == 1.0, ex["id"]
        # the RL reward grades against the box of the full solution, not the answer field
        rl = f"<reasoning>\nwork\n</reasoning>\n<answer>\n\\boxed{{{ex['answer']}}}\n</answer>"
        assert d1.reward(rl, ex) == 3.0, ex["id"]
        assert jg.reward(f"Thus the answer is $\\boxed{{{ex['answer']}}}$.", ex) == 1.0, ex["id"]


# ----------------------------------------------------------------------- prompts


def test_d1_prompts_prefill_and_justgrpo_suffix(task):
    g = task("gsm8k")
    ex = g.load("test", n=1)[0]
    [eval_msg], [rl_msg] = g.messages(ex, "eval"), g.messages(ex, "rl")
    assert eval_msg["role"] == rl_msg["role"] == "user"  # d1 never sends a system turn
    assert eval_msg["content"].startswith("You are a math expert") and "\\boxed{...}" in eval_msg["content"]
    assert rl_msg["content"] == D1_RL_FORMAT_PROMPT + "\n\n" + ex["prompt"]
    assert (g.generation_prefix("eval"), g.generation_prefix("rl")) == ("<reasoning>", "")

    m = task("math500", protocol="justgrpo")
    [msg] = m.messages(m.load("test", n=1)[0], "rl")
    assert msg["content"].endswith("(Please put the final answer in \\boxed{} tag, i.e. $\\boxed{answer here}$)")
    assert m.system_prompt("eval") is None and m.generation_prefix("eval") == ""

    c = task("countdown")
    cex = c.load("test", n=1)[0]
    assert cex["prompt"] == f"Numbers: {cex['numbers']}\nTarget: {cex['target']}"
    assert f"Using only the numbers {cex['numbers']}, create" in c.messages(cex, "rl")[0]["content"]
    with pytest.raises(ValueError):
        task("sudoku", protocol="justgrpo")


# ------------------------------------------------------ hand-computed rewards


MULTILINE = "<reasoning>\nStep one.\nStep two.\n</reasoning>\n<answer>\n72\n</answer>\n"
ONE_LINE = "<reasoning>\nok\n</reasoning>\n<answer>\n72\n</answer>\n"
GSM = {"answer": "72", "solution": "... #### 72"}


@pytest.mark.parametrize(
    "completion,fixed,paper",
    [
        # xml 0.5 + soft 0.5 + strict 0.5 + int 0.5 + correct 2.0
        (MULTILINE, 4.0, 3.0),  # without DOTALL neither format regex matches multi-line reasoning
        (ONE_LINE, 4.0, 3.5),  # strict matches one line; soft still fails on the newline after <reasoning>
        (ONE_LINE.replace("72", "73"), 2.0, 1.5),
        (ONE_LINE.replace("\n72\n", "\n7.5\n"), 1.5, 1.0),  # not an integer: no int term either
        (ONE_LINE + "extra", 3.49, 2.99),  # 5 trailing chars cost 0.001 twice; strict needs the text to end
        ("The answer is 72.", 0.0, 0.0),  # no tags: d1 compares the whole text, which is not "72"
    ],
)
def test_gsm8k_reward_by_hand(completion, fixed, paper):
    t, bug = get_task("gsm8k"), get_task("gsm8k", paper_code_bugs=True)
    assert t.reward(completion, GSM) == pytest.approx(fixed)
    assert bug.reward(completion, GSM) == pytest.approx(paper)


MATH = {"answer": "\\frac{1}{2}", "solution": "So $x = \\boxed{\\dfrac12}$."}


@pytest.mark.parametrize(
    "completion,fixed,paper",
    [
        # correct 2.0 + 0.5 * (tags 1 + boxed 1 / unboxed 0.5); the paper bug never sees the box
        ("<reasoning>\nx\n</reasoning>\n<answer>\n\\boxed{\\frac{1}{2}}\n</answer>", 3.0, 2.75),
        ("so \\boxed{1/2}", 2.5, 2.25),  # is_equiv: 1/2 -> \frac{1}{2}; no tags
        ("<answer>\n0.5\n</answer>", 0.75, 0.75),  # no box: whole text is compared, wrong
        ("<answer>\\boxed{\\frac{1}{3}}</answer>", 1.0, 0.75),
    ],
)
def test_math_reward_by_hand(completion, fixed, paper):
    assert get_task("math500").reward(completion, MATH) == pytest.approx(fixed)
    assert get_task("math500", paper_code_bugs=True).reward(completion, MATH) == pytest.approx(paper)


@pytest.mark.parametrize(
    "completion,value",
    [
        ("<answer>3*5+7</answer>", 1.0),
        ("<answer>\n(7 + 3) * 5 - 28\n</answer>", 0.1),  # a number that is not given
        ("<answer>3+5+7</answer>", 0.1),  # right numbers, wrong value
        ("<answer>3*5+7=22</answer>", 0.1),  # the target counts as an extra number
        ("<answer>3*5</answer>", 0.1),
        ("<answer>7**5/3</answer>", 0.1),  # power refused
        ("3*5+7", 0.0),  # no answer block
    ],
)
def test_countdown_reward_by_hand(completion, value):
    ex = {"numbers": [3, 5, 7], "target": 22}
    assert get_task("countdown").reward(completion, ex) == value


def test_sudoku_reward_and_score_by_hand():
    t = get_task("sudoku")
    ex = {"puzzle": "3102200002100320", "answer": "3142243142131324"}  # 8 blanks
    one_wrong = "3112243142131324"  # blank at index 2 wrong
    assert t.reward(f"<answer>\n{one_wrong}\n</answer>", ex) == 7 / 8
    assert t.reward("<answer>3142</answer>", ex) == 1 / 8  # padded with 0s: only index 2 right
    assert t.reward("no answer", ex) == 0.0
    assert t.score(f"...</reasoning>\n<answer>\n{ex['answer']}\n</answer>", ex) == 1.0
    assert t.score(f"I think {one_wrong} works", ex) == 7 / 8  # d1's last pattern: any 16 digits
    assert t.score_weight(ex) == 8


# ---------------------------------------------------------------- effective tokens


def test_effective_tokens_uses_cl100k_and_drops_endoftext():
    assert cl100k_base().encode("hello world") == [15339, 1917]  # cl100k_base's published ids
    assert effective_tokens("hello world") == 2
    assert effective_tokens("hello world" + "<|endoftext|>" * 50) == 2
    assert effective_tokens("") == 0
    assert effective_tokens("<|endofprompt|>") > 0  # other special strings count as text


# ------------------------------------------------------------------ math grading


@pytest.mark.parametrize(
    "pred,gold,same",
    [
        ("0.5", "\\frac{1}{2}", True),
        ("\\dfrac{3}{4}", "3/4", True),
        ("\\frac12", "\\frac{1}{2}", True),
        ("x = 5", "5", True),  # a short left-hand side is dropped
        ("5\\text{ cm}", "5", True),  # units after "\text{ " are dropped
        ("10\\%", "10", True),
        ("\\sqrt2", "\\sqrt{2}", True),
        ("\\left( 1, 2 \\right)", "(1,2)", True),
        ("a/b", "\\frac{a}{b}", False),  # normalising raises in d1: raw strings compared
        ("1\\text{ a}\\text{ b}", "1", False),  # two units: d1's assert fails, raw compare
        ("2\\sqrt{3}", "\\sqrt{12}", False),  # a string grader, not a symbolic one
    ],
)
def test_d1_is_equiv_by_hand(pred, gold, same):
    from pipeline.tasks.grading.math_grading import d1_is_equiv

    assert d1_is_equiv(pred, gold) is same


def test_justgrpo_extraction_and_math_verify():
    from pipeline.tasks.grading.math_grading import math_verify_equal, qwen_extract_answer

    assert qwen_extract_answer("so $\\boxed{\\frac{1}{2}}$ and \\boxed{x^{2}}") == "x^{2}"
    assert qwen_extract_answer("Hence the answer is 1,234.") == "1,234"
    assert qwen_extract_answer("first 3 then 4,500 apples") == "4500"
    assert qwen_extract_answer("nothing here") == ""
    assert math_verify_equal("2\\sqrt{3}", "\\sqrt{12}")
    assert math_verify_equal("\\frac{1}{2}", "0.5")
    assert math_verify_equal("2,125", "2125")  # GSM8K golds carry thousands commas
    assert not math_verify_equal("\\frac{1}{2}", "0.4")
    assert not math_verify_equal("3", "")
