"""Outputs are all or nothing: a save that fails midway (a full disk) leaves no partial output and keeps
the previous one; a model directory missing its weights is refused with one line that says what to do."""

from __future__ import annotations

import errno

import pytest

import pipeline.__main__ as dispatcher
from pipeline.core.atomic import atomic_path, atomic_paths, partial_path
from pipeline.core.config import ROOT
from pipeline.core.mlflow_store import forget_stores
from pipeline.model import io
from pipeline.model.modeling_llada import LLaDAModelLM
from pipeline.stages import prepare

MODEL = {"d_model": 16, "n_layers": 1, "n_heads": 2, "mlp_hidden_size": 32}


def test_outputs_appear_together_or_not_at_all(tmp_path):
    csv, md = tmp_path / "t.csv", tmp_path / "t.md"
    md.write_text("old")
    with pytest.raises(RuntimeError), atomic_paths(csv, md) as (c, m):
        c.write_text("new")
        m.write_text("new")
        raise RuntimeError("the stage failed after writing")
    assert not csv.exists() and md.read_text() == "old" and list(tmp_path.iterdir()) == [md]
    with atomic_paths(csv, md) as (c, m):
        assert c.suffix == ".csv"  # writers that pick a format by suffix still can
        c.write_text("new")
        m.write_text("new")
    assert csv.read_text() == md.read_text() == "new" and not partial_path(csv).exists()


def test_a_full_disk_mid_save_keeps_the_previous_model(tmp_path, monkeypatch):
    out = tmp_path / "models" / "sft"
    model, tok = io.build_scratch(MODEL)
    io.save(model, tok, out)
    before = (out / "model.safetensors").read_bytes()

    def full_disk(self, directory, **kwargs):
        (directory / "config.json").write_text("{}")  # what a full disk left behind before
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(LLaDAModelLM, "save_pretrained", full_disk)
    with pytest.raises(OSError, match="No space"), atomic_path(out) as partial:
        io.save(model, tok, partial)
    assert (out / "model.safetensors").read_bytes() == before
    assert sorted(p.name for p in out.parent.iterdir()) == ["sft"]  # no partial directory left


def test_a_model_without_its_weights_is_refused_in_one_line(tmp_path):
    out = tmp_path / "results" / "models" / "sft"
    model, tok = io.build_scratch(MODEL)
    io.save(model, tok, out)
    io.check_complete(out)
    (out / "model.safetensors").unlink()
    with pytest.raises(io.IncompleteModel) as err:
        io.check_complete(out)
    assert "model.safetensors is missing" in str(err.value) and "sft stage remakes it" in str(err.value)
    assert f"snakemake --cores all --forcerun {out}" in str(err.value)


def test_a_stage_given_an_incomplete_model_exits_with_that_line(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the micro params' relative MLflow store lands here
    forget_stores()
    out = tmp_path / "results" / "models" / "base"
    out.mkdir(parents=True)
    (out / "config.json").write_text("{}")
    params = str(ROOT / ".test" / "params.yaml")
    data = tmp_path / "results" / "data"
    prepare.main(["--params", params, "--task", "tiny_sudoku", "--out", str(data / "tiny_sudoku")])
    argv = ["evaluate", "--params", params, "--protocol", "d1", "--model", str(out), "--task", "tiny_sudoku",
            "--data", str(data), "--out", str(tmp_path / "eval")]  # fmt: skip
    with pytest.raises(SystemExit) as exit_:
        dispatcher.main(argv)
    forget_stores()
    assert str(exit_.value.code).startswith(f"error: {out}: model.safetensors is missing")
    assert not (tmp_path / "eval").exists()
