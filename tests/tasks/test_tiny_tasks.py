"""The tiny tasks' generators and verifiers."""

import re

import pytest

from pipeline.tasks import get_task
from pipeline.tasks.tiny.countdown import countdown_reward
from pipeline.tasks.tiny.sudoku import cell_accuracy, count_solutions, grid_split, is_valid_solution


@pytest.mark.parametrize("name", ["tiny_sudoku", "tiny_countdown", "tiny_arithmetic"])
def test_splits_are_seeded_disjoint_and_traces_score_full(name):
    task = get_task(name, seed=0, n_test=50)
    test = task.load("test", 50)
    train = task.load("train", 300)
    assert task.load("test", 50) == test
    assert not {e["prompt"] for e in test} & {e["prompt"] for e in train}
    for ex in test + train[:50]:
        assert task.score(ex["completion"], ex) == 1.0
        assert task.reward(ex["completion"], ex) == 1.0
        assert "<reasoning>" in ex["completion"] and re.search(r"\b(so|therefore)\b", ex["completion"])
        assert task.score("no answer here", ex) == 0.0


def test_sudoku_puzzles_unique_and_cell_accuracy():
    task = get_task("tiny_sudoku", seed=0)
    for ex in task.load("test", 30):
        assert is_valid_solution(ex["answer"]) and count_solutions(ex["puzzle"]) == 1
    puzzle, sol = "1030020000000120", "1234341221434321"
    blanks = [i for i, c in enumerate(puzzle) if c == "0"]
    wrong_two = list(sol)
    wrong_two[blanks[0]], wrong_two[blanks[1]] = "9", "9"
    assert cell_accuracy("".join(wrong_two), puzzle, sol) == pytest.approx((len(blanks) - 2) / len(blanks))
    assert cell_accuracy(None, puzzle, sol) == 0.0


@pytest.mark.parametrize("grids,counts", [("orbit", (62, 13, 21)), ("all", (190, 35, 63))])
def test_sudoku_grids_option_draws_one_class_or_all_288_and_splits_them_by_grid(grids, counts):
    task = get_task("tiny_sudoku", seed=0, grids=grids)
    drawn = {}
    for split in ("train", "validation", "test"):
        drawn[split] = {ex["answer"] for ex in task.load(split, 3000)}
        assert all(is_valid_solution(g) and grid_split(g) == split for g in drawn[split])
    # the 288 valid grids are two symmetry classes, 96 + 192
    assert tuple(len(drawn[s]) for s in ("train", "validation", "test")) == counts


def test_sudoku_pad_fills_gives_every_trace_one_length_and_changes_nothing_else():
    from pipeline.model.tokenizer import build_tiny_tokenizer

    tok = build_tiny_tokenizer()
    plain = get_task("tiny_sudoku", seed=0).load("train", 200)
    padded = get_task("tiny_sudoku", seed=0, pad_fills=True).load("train", 200)
    assert [{**p, "completion": None} for p in plain] == [{**p, "completion": None} for p in padded]
    lengths = {len(tok(p["completion"], add_special_tokens=False).input_ids) for p in padded}
    assert lengths == {32} and len({len(tok(p["completion"]).input_ids) for p in plain}) == 5  # 6-10 blanks
    for p, q in zip(plain, padded):
        fills = q["completion"].removeprefix("<reasoning>").split(" so")[0]
        assert fills.rstrip(".") in p["completion"] and len(fills) == 10


def test_countdown_reward_is_d1s():
    assert countdown_reward("3*4+5", [3, 4, 5], 17) == 1.0
    assert countdown_reward("(5+4)+3*1", [3, 4, 5], 17) == 0.1  # uses a number twice / not given
    assert countdown_reward("5+4+3", [3, 4, 5], 17) == 0.1  # valid numbers, wrong value
    assert countdown_reward("4*3+5", [3, 4, 5], 17) == 1.0  # any valid expression counts
    assert countdown_reward(None, [3, 4, 5], 17) == 0.0
    assert countdown_reward("import os", [3, 4, 5], 17) == 0.1


def test_arithmetic_answer_parsing():
    task = get_task("tiny_arithmetic", seed=0)
    ex = {"answer": "22"}
    assert task.score("<reasoning>x</reasoning><answer> 22 </answer>", ex) == 1.0
    assert task.score("<answer>21</answer>", ex) == 0.0
    assert task.score("<answer>twenty</answer>", ex) == 0.0


def test_unknown_task_lists_known_ones():
    with pytest.raises(KeyError, match="tiny_sudoku"):
        get_task("nope")


@pytest.mark.parametrize("name", ["tiny_sudoku", "tiny_countdown", "tiny_arithmetic"])
def test_training_targets_are_well_formed_and_repeated_tags_are_not(name):
    task = get_task(name, seed=0)
    assert all(task.well_formed(ex["completion"]) for ex in task.load("train", 50))
    answer = task.load("train", 1)[0]["answer"]
    assert task.well_formed(f"<answer>{answer}</answer>")
    assert not task.well_formed(f"<answer>{answer}</answer></answer>")  # the malformed output seen in #10
    assert not task.well_formed(f"<answer>{answer}</answer><answer>{answer}</answer>")
    assert not task.well_formed("<answer>x</answer>") and not task.well_formed(answer)


@pytest.mark.parametrize("name", ["tiny_countdown", "tiny_arithmetic"])
def test_the_ops_option_limits_the_operators(name):
    examples = get_task(name, seed=0, ops="+").load("train", 30)
    assert all(
        set(re.sub(r"[\d ]", "", ex["answer" if name == "tiny_countdown" else "prompt"].split(" ")[-1])) <= {"+"}
        for ex in examples
    )


def test_countdown_order_option_shows_a_solutions_order_or_hides_it():
    def shown(ex):
        return [int(n) for n in ex["prompt"].split("numbers ")[1].split()]

    hidden = get_task("tiny_countdown", seed=0).load("train", 30)
    assert all(shown(ex) == sorted(shown(ex)) for ex in hidden)
    revealed = get_task("tiny_countdown", seed=0, order="solution").load("train", 30)
    assert all(shown(ex) == [int(n) for n in re.findall(r"\d+", ex["answer"])] for ex in revealed)
    assert any(shown(ex) != sorted(shown(ex)) for ex in revealed)


def test_arithmetic_answer_width_zero_pads_and_still_scores_by_value():
    task = get_task("tiny_arithmetic", seed=0, answer_width=2)
    examples = task.load("train", 50)
    assert all(len(ex["answer"]) == 2 for ex in examples) and any(ex["answer"].startswith("0") for ex in examples)
    ex = next(e for e in examples if e["answer"].startswith("0"))
    assert task.reward(f"<answer>{ex['answer']}</answer>", ex) == 1.0
    assert task.reward(f"<answer>{int(ex['answer'])}</answer>", ex) == 1.0  # the value counts, not the padding


@pytest.mark.parametrize("name", ["tiny_countdown", "tiny_arithmetic"])
def test_min_operands_mixes_two_and_three_operand_problems_and_the_default_draws_only_three(name):
    def operands(ex):
        return len(re.findall(r"\d+", ex["answer"] if name == "tiny_countdown" else ex["prompt"]))

    mixed = get_task(name, seed=0, min_operands=2).load("train", 200)
    counts = [operands(ex) for ex in mixed]
    assert set(counts) == {2, 3} and 0.3 < counts.count(2) / len(counts) < 0.7
    task = get_task(name, seed=0, min_operands=2)
    assert all(task.reward(ex["completion"], ex) == 1.0 for ex in mixed)  # the generated answers are right
    assert {operands(ex) for ex in get_task(name, seed=0).load("train", 100)} == {3}
