"""`datasets` is the data layer: local files and hub ids both load through ``datasets.load_dataset``,
with its cache where the task is told; and s1K, d1's SFT set, on a small file in s1K's row format."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from pipeline.core.config import ROOT, ParamsError, load_params, validate_params
from pipeline.tasks import get_task, split_examples, task_options
from pipeline.tasks.benchmarks.base import DataUnavailable
from pipeline.tasks.benchmarks.s1k import SFT_PROMPT


@pytest.fixture
def load_calls(monkeypatch):
    """Every ``datasets.load_dataset`` call (args, kwargs), passed on to the real loader."""
    import datasets

    calls, real = [], datasets.load_dataset

    def spy(*args, **kwargs):
        calls.append((args, kwargs))
        return real(*args, **kwargs)

    monkeypatch.setattr(datasets, "load_dataset", spy)
    return calls


@pytest.mark.parametrize(
    "name,split,relpath,builder",
    [
        ("gsm8k", "test", "gsm8k/test.jsonl", "json"),
        ("math500", "test", "math500/test.jsonl", "json"),
        ("countdown", "test", "countdown/countdown_cd3_test.jsonl", "json"),
        ("sudoku", "test", "sudoku/4x4_test_sudoku.csv", "csv"),
        ("humaneval", "test", "humaneval/HumanEval.jsonl.gz", "json"),
        ("mbpp", "test", "mbpp/mbpp.jsonl", "json"),
    ],
)
def test_local_files_go_through_datasets(name, split, relpath, builder, data_dir, tmp_path, load_calls):
    cache = tmp_path / "cache"
    assert get_task(name, data_dir=data_dir, cache_dir=cache).load(split, n=2)
    [(args, kwargs)] = load_calls
    assert args == (builder,) and kwargs["data_files"] == str(data_dir / relpath)
    assert kwargs["cache_dir"] == str(cache) and list(cache.rglob("*.arrow"))


def test_stages_put_the_datasets_cache_under_the_results_root():
    params = copy.deepcopy(load_params(ROOT / "profiles" / "paper" / "params.yaml"))
    params["paths"]["results"] = "somewhere/results"
    assert task_options(params, "gsm8k")["cache_dir"] == str(Path("somewhere/results/cache/datasets"))


# ---------------------------------------------------------------------------------- s1K


def s1k_row(i: int) -> dict:
    return {
        "solution": f"The answer is {i + 1}.",
        "question": f"What is {i} + 1?",
        "cot_type": "math",
        "source_type": "test/synthetic",
        "metadata": str({"i": i}),
        "cot": None,
        "thinking_trajectories": [f"Add one to {i}.\nThat gives {i + 1}."],
        "attempt": f"{i + 1}",
    }


@pytest.fixture(params=["jsonl", "parquet"])
def s1k_dir(request, tmp_path) -> Path:
    """A data_dir holding 12 rows in s1K's format, as s1k/train.jsonl or s1k/train.parquet."""
    rows = [s1k_row(i) for i in range(12)]
    (tmp_path / "s1k").mkdir()
    if request.param == "jsonl":
        (tmp_path / "s1k" / "train.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    else:
        import datasets

        datasets.Dataset.from_list(rows).to_parquet(str(tmp_path / "s1k" / "train.parquet"))
    return tmp_path


def test_s1k_examples_are_d1s_sft_turns(s1k_dir, load_calls):
    task = get_task("s1k", data_dir=s1k_dir, cache_dir=s1k_dir / "cache")
    examples = task.load("train")
    assert load_calls and str(load_calls[0][1]["data_files"]).startswith(str(s1k_dir / "s1k" / "train."))
    ex = next(e for e in examples if e["id"] == 3)
    assert ex["prompt"] == SFT_PROMPT + "\n\nWhat is 3 + 1?"
    assert ex["completion"] == "<reasoning>Add one to 3.\nThat gives 4.</reasoning>\n<answer>4</answer>"
    assert ex["answer"] == "4" and ex["solution"] == "The answer is 4."
    assert task.messages(ex, "rl") == [{"role": "user", "content": ex["prompt"]}]  # no system turn
    assert task.generation_prefix("eval") == task.generation_prefix("rl") == ""
    assert task.target(ex, "reasoning") == ex["completion"] and task.target(ex, "answer") == "<answer>4</answer>"


def test_s1k_validation_is_a_seeded_held_out_share(s1k_dir):
    task = get_task("s1k", data_dir=s1k_dir, validation_fraction=0.25)
    train, val = task.load("train"), task.load("validation")
    train_ids, val_ids = [e["id"] for e in train], [e["id"] for e in val]
    assert len(val_ids) == 3 and not set(train_ids) & set(val_ids)
    assert sorted(train_ids + val_ids) == list(range(12)) and train_ids == sorted(train_ids)
    assert val_ids == [e["id"] for e in get_task("s1k", data_dir=s1k_dir, validation_fraction=0.25).load("validation")]
    other = get_task("s1k", data_dir=s1k_dir, validation_fraction=0.25, split_seed=7).load("validation")
    assert [e["id"] for e in other] != val_ids
    # d1's rule int(n * 1%): 12 rows hold none out (s1K's 1,000 hold out 10)
    assert len(get_task("s1k", data_dir=s1k_dir).load("train")) == 12


def test_s1k_has_no_test_split_and_no_verifier(s1k_dir):
    task = get_task("s1k", data_dir=s1k_dir)
    with pytest.raises(ValueError, match="split"):
        task.load("test")
    assert split_examples(task, "test", None) == []  # prepare writes an empty test.jsonl
    ex = task.load("train", n=1)[0]
    with pytest.raises(NotImplementedError, match="no verifier"):
        task.reward(ex["completion"], ex)
    with pytest.raises(NotImplementedError, match="no verifier"):
        task.score(ex["completion"], ex)


def test_s1k_offline_without_data_dir_fails_before_any_download(monkeypatch, no_downloads):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(DataUnavailable, match=r"data\.data_dir"):
        get_task("s1k").load("train")


def test_s1k_missing_file_names_both_formats(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"train\.jsonl or .*train\.parquet"):
        get_task("s1k", data_dir=tmp_path).load("train")


def test_s1k_options_are_validated_from_its_module():
    params = copy.deepcopy(load_params(ROOT / "params.yaml"))
    params["data"]["tasks"]["s1k"] = {"validation_fraction": 0.01, "split_seed": 42}
    validate_params(params)
    params["data"]["tasks"]["s1k"] = {"validation_fraction": 2}
    with pytest.raises(ParamsError, match="data.tasks.s1k.validation_fraction"):
        validate_params(params)


def test_s1k_hub_id_goes_to_datasets_with_the_cache_dir(monkeypatch, tmp_path):
    import datasets

    from pipeline.tasks.benchmarks import base

    calls = []

    def fake_hub(*args, **kwargs):  # stands in for the hub: the call is what is checked
        calls.append((args, kwargs))
        return datasets.Dataset.from_list([s1k_row(i) for i in range(5)])

    monkeypatch.setattr(base, "hub_unavailable", lambda: None)
    monkeypatch.setattr(datasets, "load_dataset", fake_hub)
    examples = get_task("s1k", cache_dir=tmp_path).load("train")
    assert [e["id"] for e in examples] == list(range(5))
    assert calls == [(("simplescaling/s1K",), {"split": "train", "cache_dir": str(tmp_path)})]
