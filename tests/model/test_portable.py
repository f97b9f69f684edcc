"""A directory written by ``io.save`` loads in a fresh Python where the project cannot be imported."""

import ast
import json
import os
import subprocess
import sys

import torch
from transformers import AutoModel, AutoModelForCausalLM

from pipeline.model import LLaDAModelLM, io

TEXT = "<answer>3*4+5</answer>"

# Runs isolated (-I: no PYTHONPATH, no cwd on sys.path). The venv holds the project as an editable
# install, so a meta-path finder refuses ``pipeline`` before anything else is imported.
CHILD = """
import importlib.abc, json, sys

class NoPipeline(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "pipeline" or name.startswith("pipeline."):
            raise ModuleNotFoundError(f"No module named {name!r} (blocked)")

sys.meta_path.insert(0, NoPipeline())
try:
    import pipeline
    sys.exit("pipeline is importable")
except ImportError:
    pass

import torch
from transformers import AutoModel, AutoModelForCausalLM, AutoTokenizer

model_dir, ids_path, text, out = sys.argv[1:]
tok = AutoTokenizer.from_pretrained(model_dir, trust_remote_code=True)
ids, attn = torch.load(ids_path)
result = {"text_ids": tok(text, add_special_tokens=False).input_ids, "mask_id": tok.mask_token_id}
for name, auto in (("AutoModel", AutoModel), ("AutoModelForCausalLM", AutoModelForCausalLM)):
    model = auto.from_pretrained(model_dir, trust_remote_code=True).eval()
    with torch.no_grad():
        result[name] = model(ids, attention_mask=attn).logits
result["class_module"] = type(model).__module__
result["pipeline_modules"] = sorted(m for m in sys.modules if m.split(".")[0] == "pipeline")
torch.save(result, out)
"""


def _inputs(vocab: int) -> tuple[torch.Tensor, torch.Tensor]:
    ids = torch.randint(0, vocab, (2, 9), generator=torch.Generator().manual_seed(0))
    attn = torch.ones_like(ids)
    attn[0, :2] = 0
    return ids, attn


def test_saved_directory_carries_code_auto_map_and_generation_ids(tiny, tmp_path):
    model, tok = tiny
    io.save(model, tok, tmp_path)
    for name in io.CODE_FILES:
        tree = ast.parse((tmp_path / name).read_text())
        imported = [n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and not n.level]
        imported += [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
        assert not [m for m in imported if m.split(".")[0] == "pipeline"], name
    assert json.loads((tmp_path / "config.json").read_text())["auto_map"] == io.AUTO_MAP
    gen = json.loads((tmp_path / "generation_config.json").read_text())
    assert (gen["mask_token_id"], gen["eos_token_id"], gen["pad_token_id"]) == (
        tok.mask_token_id,
        tok.eos_token_id,
        tok.pad_token_id,
    )


def test_saved_model_loads_without_the_project(tiny, tmp_path):
    model, tok = tiny
    model_dir = tmp_path / "model"
    io.save(model, tok, model_dir)
    ids, attn = _inputs(len(tok))
    torch.save((ids, attn), tmp_path / "ids.pt")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env |= {"HF_HUB_OFFLINE": "1", "HF_MODULES_CACHE": str(tmp_path / "modules")}  # remote code copied here
    args = [sys.executable, "-I", "-c", CHILD, str(model_dir), str(tmp_path / "ids.pt"), TEXT, str(tmp_path / "out.pt")]
    run = subprocess.run(args, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    got = torch.load(tmp_path / "out.pt")
    assert got["pipeline_modules"] == [] and got["class_module"].startswith("transformers_modules.")
    with torch.no_grad():
        want = model(ids, attention_mask=attn).logits
    for name in ("AutoModel", "AutoModelForCausalLM"):
        torch.testing.assert_close(got[name], want, rtol=1e-6, atol=1e-6)
    assert got["text_ids"] == tok(TEXT, add_special_tokens=False).input_ids and got["mask_id"] == tok.mask_token_id


def test_saved_model_loads_in_the_project_without_remote_code(tiny, tmp_path):
    model, tok = tiny
    io.save(model, tok, tmp_path)
    ids, attn = _inputs(len(tok))
    with torch.no_grad():
        want = model(ids, attention_mask=attn).logits
        for loaded in (
            AutoModel.from_pretrained(tmp_path),
            AutoModelForCausalLM.from_pretrained(tmp_path),
            io.load(tmp_path)[0],
        ):
            assert type(loaded) is LLaDAModelLM  # the project's class, not a copy from the directory
            assert torch.equal(loaded(ids, attention_mask=attn).logits, want)
