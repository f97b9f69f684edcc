"""Adding an RL method and a sampler is one module, one registry line and one params section each:
validation, Snakemake and DVC pick them up with no other edit (shown on a copy of the project)."""

import subprocess
import sys
import textwrap

import pytest
import yaml

from pipeline.core.checkout import copy_checkout, project_files
from pipeline.core.config import ROOT
from tests.workflow.dag import disagreements, dvc_stages, snakemake_jobs

METHOD = '''
"""diffu-GRPO under another name: the extension test's new method."""
from pipeline.rl.diffu_grpo import DiffuGRPO

OPTIONS = {
    "mu": {"type": "integer", "minimum": 1, "description": "inner updates"},
    "beta": {"type": "number", "minimum": 0, "description": "KL weight"},
    "clip_eps": {"type": "number", "exclusiveMinimum": 0, "description": "clip range"},
    "p_mask_prompt": {"type": "number", "minimum": 0, "maximum": 1, "description": "prompt mask rate"},
    "temperature": {"type": "number", "exclusiveMinimum": 0, "description": "rollout temperature"},
}


class Dummy(DiffuGRPO):
    name = "dummy"
'''

SAMPLER = '''
"""Left to right, ``width`` tokens per forward: the extension test's new sampler."""
from pipeline.sampling.low_confidence import low_confidence
from pipeline.sampling.spec import Decoding

OPTIONS = {"width": {"type": "integer", "minimum": 1, "default": 1, "description": "tokens per forward"}}


def dummy(model, prompt, spec, *, attention_mask=None, generator=None, width=1):
    steps = spec.gen_length // width
    narrow = Decoding(spec.mask_id, spec.gen_length, width, steps, spec.temperature, spec.track_entropy)
    return low_confidence(model, prompt, narrow, attention_mask=attention_mask, generator=generator)
'''


def _register(path, registry, line):
    text = path.read_text()
    assert registry in text
    path.write_text(text.replace(registry, registry + "\n    " + line, 1))


@pytest.fixture(scope="module")
def extended(tmp_path_factory, data_dir):
    dst = copy_checkout(ROOT, tmp_path_factory.mktemp("extended"))
    (dst / "pipeline/rl/dummy.py").write_text(textwrap.dedent(METHOD))
    _register(dst / "pipeline/rl/__init__.py", "METHODS: dict[str, str] = {", '"dummy": "pipeline.rl.dummy:Dummy",')
    (dst / "pipeline/sampling/dummy.py").write_text(textwrap.dedent(SAMPLER))
    _register(
        dst / "pipeline/sampling/__init__.py",
        "SAMPLERS: dict[str, str] = {",
        '"dummy": "pipeline.sampling.dummy:dummy",',
    )
    params = yaml.safe_load((dst / "params.yaml").read_text())
    params["data"]["data_dir"] = str(data_dir)  # the copy lives elsewhere: ../shared is not beside it
    # the new method declares the options above, not diffu_grpo's rollout_cache
    params["rl"]["methods"]["dummy"] = {
        k: v for k, v in params["rl"]["methods"]["diffu_grpo"].items() if k != "rollout_cache"
    }
    params["sampling"]["dummy"] = {"width": 2}
    params["eval"]["sampler"] = "dummy"
    params["eval"]["stop_at_eos"] = False  # it decodes every block (sampling.spec.STOPPING_SAMPLERS)
    params["tables"]["table1"]["models"].append("dummy_from_base")
    (dst / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    subprocess.run(["git", "init", "-q"], cwd=dst, check=True)
    return dst


def test_validation_accepts_them_and_checks_their_options(extended):
    code = (
        "from pipeline.core.config import load_params, ParamsError, validate_params; p = load_params();"
        "p['sampling']['dummy']['width'] = 0\n"
        "try: validate_params(p)\nexcept ParamsError as e: print(e)"
    )
    res = subprocess.run([sys.executable, "-c", code], cwd=extended, capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    assert "sampling.dummy.width: 0 is less than the minimum of 1" in res.stdout


def test_snakemake_and_dvc_plan_them(extended):
    smk = snakemake_jobs(extended, ["everything"])
    cmds = [j["cmd"] for j in smk]
    assert any("rl --params params.yaml --method dummy --init results/models/base" in c for c in cmds)
    assert any("evaluate" in c and "--model results/models/dummy_from_base" in c for c in cmds)
    evaluate = next(j for j in smk if j["rule"] == "evaluate")
    assert evaluate["params"]["tracked"]["sampling.dummy"] == {"width": 2}
    dvc = dvc_stages(extended)
    assert {"rl@dummy-base-all", "rl@dummy-sft-all", "evaluate_table1@dummy_from_base-tiny_sudoku"} <= {
        s["name"] for s in dvc
    }
    assert disagreements(smk, dvc, project_files(extended), "results") == []
