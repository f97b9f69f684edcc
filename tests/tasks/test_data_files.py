"""Data files are checked at the door: every JSONL line a stage or a task reads is valid JSON, an
object, and carries the fields its task declares; the first bad one is reported as
``file:line: what is wrong; how to fix it`` before any work starts, and a stage exits with that line.

The cases are generated from the registry: every task, every split it prepares, every field it
declares for that split.
"""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path

import pytest

import pipeline.__main__ as dispatcher
from pipeline.core.config import ROOT
from pipeline.core.data import DataFileError, read_jsonl
from pipeline.tasks import TASKS, get_task, read_prepared


def splits_with_rows(name: str) -> list[str]:
    """The prepared splits that hold rows of the task (validation is held out of train)."""
    own = get_task(name).splits
    return [s for s in ("train", "validation", "test") if ("train" if s == "validation" else s) in own]


#: every (task, prepared split with rows, field it must carry)
DECLARED = [
    (name, split, field)
    for name in sorted(TASKS)
    for split in splits_with_rows(name)
    for field in get_task(name).required_fields(split)
]


def good_row(name: str, split: str) -> dict:
    return {field: f"{field} value" for field in get_task(name).required_fields(split)}


def prepared(tmp_path: Path, name: str, split: str, *lines: str) -> Path:
    """A prepared ``split`` of ``name`` under tmp_path/data holding exactly ``lines``."""
    path = tmp_path / "data" / name / f"{split}.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(lines))
    return path


def error_of(tmp_path: Path, name: str, split: str) -> str:
    with pytest.raises(DataFileError) as err:
        read_prepared(tmp_path / "data", {name: get_task(name)}, split)
    return str(err.value)


def rerun(path: Path) -> str:
    return f"; rerun the prepare stage: snakemake --cores all -f {path}"


@pytest.mark.parametrize("name", sorted(TASKS))
def test_fields_are_declared_for_the_tasks_own_splits(name):
    task = get_task(name)
    assert set(task.fields) <= set(task.splits)
    assert all(task.required_fields(s)[:3] == ("id", "prompt", "answer") for s in splits_with_rows(name))


@pytest.mark.parametrize("name,split,field", DECLARED)
def test_a_row_without_a_declared_field_names_file_line_and_field(name, split, field, tmp_path):
    row = good_row(name, split)
    del row[field]
    path = prepared(tmp_path, name, split, json.dumps(good_row(name, split)) + "\n", json.dumps(row) + "\n")
    assert error_of(tmp_path, name, split) == f"{path}:2: missing required field '{field}'" + rerun(path)


@pytest.mark.parametrize("name", sorted(TASKS))
@pytest.mark.parametrize("split", ["train", "test"])
def test_rows_with_every_declared_field_load(name, split, tmp_path):
    rows = [good_row(name, split), {**good_row(name, split), "extra": 1}]
    prepared(tmp_path, name, split, *(json.dumps(r) + "\n" for r in rows))
    assert read_prepared(tmp_path / "data", {name: get_task(name)}, split) == {name: rows}


@pytest.mark.parametrize("name", sorted(TASKS))
def test_a_file_cut_mid_line_names_the_line(name, tmp_path):
    line = json.dumps(good_row(name, "test"))
    path = prepared(tmp_path, name, "test", line + "\n", line + "\n", line[: len(line) // 2])
    message = error_of(tmp_path, name, "test")
    assert message.startswith(f"{path}:3: not valid JSON (") and message.endswith(rerun(path))
    assert "the file ends in this line: cut mid-line?" in message


def test_a_bad_line_inside_the_file_is_not_called_cut(tmp_path):
    path = prepared(tmp_path, "tiny_arithmetic", "test", '{"id": 1,, "prompt": "p"}\n', "{}\n")
    message = error_of(tmp_path, "tiny_arithmetic", "test")
    assert re.fullmatch(
        re.escape(f"{path}:1: not valid JSON (") + r"[^)]* at column \d+\)" + re.escape(rerun(path)), message
    )


@pytest.mark.parametrize(
    "line,kind",
    [("[1, 2]", "an array"), ('"text"', "a string"), ("3", "a number"), ("null", "null"), ("true", "a boolean")],
)
def test_a_line_that_is_not_an_object_is_named(line, kind, tmp_path):
    path = prepared(tmp_path, "tiny_sudoku", "test", json.dumps(good_row("tiny_sudoku", "test")) + "\n", line + "\n")
    assert error_of(tmp_path, "tiny_sudoku", "test") == f"{path}:2: {kind}, not a JSON object" + rerun(path)


def test_blank_lines_are_skipped_but_counted(tmp_path):
    good = json.dumps(good_row("tiny_sudoku", "test")) + "\n"
    path = prepared(tmp_path, "tiny_sudoku", "test", good, "\n", "   \n", good, '{"id": 3}\n')
    assert error_of(tmp_path, "tiny_sudoku", "test").startswith(f"{path}:5: missing required fields 'prompt', ")
    prepared(tmp_path, "tiny_sudoku", "test", good, "\n", good)
    assert len(read_prepared(tmp_path / "data", {"tiny_sudoku": get_task("tiny_sudoku")}, "test")["tiny_sudoku"]) == 2


def test_gzipped_files_are_read_and_a_cut_one_is_reported(tmp_path):
    rows = [{"a": i} for i in range(50)]
    path = tmp_path / "rows.jsonl.gz"
    path.write_bytes(gzip.compress("".join(json.dumps(r) + "\n" for r in rows).encode()))
    assert read_jsonl(path, ("a",)) == rows
    path.write_bytes(path.read_bytes()[:-12])  # the gzip trailer and the end of the data
    with pytest.raises(DataFileError, match=rf"^{re.escape(str(path))}:\d+: compressed data unreadable"):
        read_jsonl(path)


def test_other_readers_of_jsonl_check_too(tmp_path):
    from pipeline.reports.results_table import per_problem_scores

    cell = tmp_path / "m" / "t" / "L8"
    cell.mkdir(parents=True)
    (cell / "generations.jsonl").write_text('{"id": 0, "score": 1.0}\n{"id": 1}\n')
    with pytest.raises(
        DataFileError, match=r"generations\.jsonl:2: missing required field 'score'; rerun the evaluate"
    ):
        per_problem_scores(tmp_path, "m", "t", 8)


# ------------------------------------------------------------------ benchmark files in data_dir

#: the JSONL source files of each benchmark (relative to data_dir)
SOURCES = [
    ("gsm8k", "test", "gsm8k/test.jsonl"),
    ("gsm8k", "train", "gsm8k/train.jsonl"),
    ("math500", "test", "math500/test.jsonl"),
    ("countdown", "test", "countdown/countdown_cd3_test.jsonl"),
    ("countdown", "train", "countdown/train.jsonl"),
    ("humaneval", "test", "humaneval/HumanEval.jsonl.gz"),
    ("mbpp", "test", "mbpp/mbpp.jsonl"),
    ("s1k", "train", "s1k/train.jsonl"),
    ("acecode_hard", "train", "acecode_hard/train.jsonl"),
]


@pytest.mark.parametrize("name,split,relpath", SOURCES)
def test_a_cut_benchmark_file_is_reported_before_datasets_reads_it(name, split, relpath, tmp_path, no_downloads):
    path = tmp_path / relpath
    path.parent.mkdir(parents=True)
    text = b'{"question": "What is'
    path.write_bytes(gzip.compress(text) if relpath.endswith(".gz") else text)
    with pytest.raises(DataFileError) as err:
        get_task(name, data_dir=tmp_path).load(split)
    assert str(err.value).startswith(f"{path}:1: not valid JSON (")
    assert str(err.value).endswith(
        f"; restore the original file (its source is named in {get_task(name).__module__.replace('.', '/')}.py)"
    )


def test_a_benchmark_row_without_a_source_field_is_reported(tmp_path, no_downloads):
    path = tmp_path / "gsm8k" / "test.jsonl"
    path.parent.mkdir()
    path.write_text('{"question": "q", "answer": "a #### 1"}\n{"question": "q2"}\n')
    with pytest.raises(DataFileError, match=rf"^{re.escape(str(path))}:2: missing required field 'answer'; restore"):
        get_task("gsm8k", data_dir=tmp_path).load("test")


def test_a_columnar_benchmark_file_without_a_source_column_is_reported(tmp_path):
    import datasets

    path = tmp_path / "s1k" / "train.parquet"
    path.parent.mkdir()
    datasets.Dataset.from_list([{"question": "q", "solution": "s"}]).to_parquet(str(path))
    with pytest.raises(DataFileError, match=rf"^{re.escape(str(path))}: no column 'thinking_trajectories', 'attempt'"):
        get_task("s1k", data_dir=tmp_path, cache_dir=tmp_path / "cache").load("train")


@pytest.mark.parametrize(
    "name,split",
    [("gsm8k", "train"), ("gsm8k", "test"), ("math500", "test"), ("countdown", "test"), ("sudoku", "test")]
    + [("humaneval", "test"), ("mbpp", "test")],
)
def test_loaded_benchmark_rows_carry_what_their_task_declares(name, split, data_dir):
    task = get_task(name, data_dir=data_dir)
    assert all(set(task.required_fields(split)) <= ex.keys() for ex in task.load(split, n=20))


@pytest.mark.parametrize("name", [n for n in sorted(TASKS) if n.startswith("tiny_")])
def test_generated_rows_carry_what_their_task_declares(name):
    task = get_task(name, n_test=5)
    for split in ("train", "test"):
        assert all(set(task.required_fields(split)) <= ex.keys() for ex in task.load(split, n=20))


# ------------------------------------------------------------------------------ stages


@pytest.mark.parametrize("stage", ["evaluate", "sft", "rl"])
def test_a_stage_given_a_bad_file_exits_with_the_one_line_before_any_work(stage, tmp_path, monkeypatch):
    import pipeline.stages.evaluate
    import pipeline.stages.rl
    import pipeline.stages.sft

    def no_work(*args, **kwargs):
        raise AssertionError("a model was loaded for a bad data file")

    monkeypatch.setattr(pipeline.stages.evaluate.io, "load_stage_model", no_work)
    monkeypatch.setattr(pipeline.stages.sft, "load_trainable", no_work)
    monkeypatch.setattr(pipeline.stages.rl, "load_trainable", no_work)
    split = "test" if stage == "evaluate" else "train"
    row = good_row("tiny_sudoku", split)
    del row["puzzle"]
    path = prepared(
        tmp_path, "tiny_sudoku", split, json.dumps(good_row("tiny_sudoku", split)) + "\n", json.dumps(row) + "\n"
    )
    data, model, out = str(tmp_path / "data"), str(tmp_path / "model"), str(tmp_path / "out")
    argv = {
        "evaluate": ["--protocol", "d1", "--model", model, "--task", "tiny_sudoku"],
        "sft": ["--init", model],
        "rl": ["--method", "diffu_grpo", "--init", model],
    }[stage]
    with pytest.raises(SystemExit) as exit_:
        dispatcher.main([stage, "--params", str(ROOT / "params.yaml"), *argv, "--data", data, "--out", out])
    assert exit_.value.code == f"error: {path}:2: missing required field 'puzzle'" + rerun(path)
