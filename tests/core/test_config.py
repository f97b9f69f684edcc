"""params.yaml validation: a bad value fails before anything runs, naming the key and what is allowed."""
import copy
import subprocess
import sys

import pytest
import yaml

from pipeline.core.config import ROOT, ParamsError, load_params, validate_params


@pytest.fixture(scope="module")
def params():
    return load_params(ROOT / "params.yaml")


@pytest.mark.parametrize("path,value,expected", [
    (("eval", "sampler"), "nope", "eval.sampler: 'nope' is not a sampler; allowed values are low_confidence"),
    (("runtime", "device"), "tpu", "runtime.device = 'tpu': allowed values are cpu, cuda, auto"),
    (("rl", "lr"), -1, "rl.lr: -1 is less than or equal to the minimum of 0"),
    (("rl", "tasks"), ["gsm8k"], "rl.tasks: 'gsm8k' is not prepared"),
    (("eval", "gen_lengths"), [30], "eval.gen_lengths: 30 is not a multiple of eval.block_length"),
    (("sft", "target_format"), "cot", "sft.target_format = 'cot': allowed values are answer, reasoning"),
])
def test_bad_value_names_key_and_allowed(params, path, value, expected):
    bad = copy.deepcopy(params)
    bad[path[0]][path[1]] = value
    with pytest.raises(ParamsError) as err:
        validate_params(bad)
    assert expected in str(err.value) and "\n" not in str(err.value)


def test_unknown_key_is_rejected(params):
    bad = copy.deepcopy(params)
    bad["rl"]["lrr"] = 1
    with pytest.raises(ParamsError, match="rl: Additional properties"):
        validate_params(bad)


def test_snakemake_fails_before_any_rule_on_bad_params(tmp_path):
    """A bad value stops the workflow at parse time with one line naming the key."""
    bad = yaml.safe_load((ROOT / "params.yaml").read_text())
    bad["rl"]["diffu_grpo"]["temperature"] = 0
    cfg = tmp_path / "bad.yaml"
    cfg.write_text(yaml.safe_dump(bad))
    res = subprocess.run([sys.executable, "-m", "snakemake", "-n", "--cores", "1", "--configfile", str(cfg),
                          "--directory", str(ROOT), "--snakefile", str(ROOT / "workflow" / "Snakefile")],
                         capture_output=True, text=True, timeout=120)
    assert res.returncode != 0
    assert "rl.diffu_grpo.temperature: 0 is less than or equal to the minimum of 0" in res.stderr + res.stdout


def test_paper_profile_validates():
    load_params(ROOT / "profiles" / "paper" / "params.yaml")


def test_micro_config_validates():
    load_params(ROOT / ".test" / "params.yaml")


def test_method_overrides_apply_to_that_method_only(params):
    from pipeline.rl import method_config

    p = copy.deepcopy(params)
    p["rl"]["just_grpo"]["overrides"] = {"lr": 5e-6, "group_size": 16}
    validate_params(p)
    assert method_config(p["rl"], "just_grpo")["lr"] == 5e-6 and method_config(p["rl"], "just_grpo")["group_size"] == 16
    assert method_config(p["rl"], "diffu_grpo")["lr"] == params["rl"]["lr"]
    with pytest.raises(KeyError, match="known.*diffu_grpo"):
        method_config(p["rl"], "ppo")
    p["rl"]["just_grpo"]["overrides"] = {"mu": 2}  # a method key, not a shared one
    with pytest.raises(ParamsError, match="rl.just_grpo.overrides: Additional properties.*known keys: adam_beta2"):
        validate_params(p)
    p["rl"]["just_grpo"]["overrides"] = {"gen_length": 20}  # not a multiple of the shared block_length 16
    with pytest.raises(ParamsError, match=r"rl.gen_length = 20 must be a multiple .* \(as rl.just_grpo runs"):
        validate_params(p)


def test_paper_profile_gives_just_grpo_its_own_schedule():
    from pipeline.rl import method_config

    rl = load_params(ROOT / "profiles" / "paper" / "params.yaml")["rl"]
    own = method_config(rl, "just_grpo")
    assert (own["group_size"], own["prompts_per_step"], own["lr"], own["steps"], own["gen_length"]) == (16, 64, 5e-6, 125, 256)
    assert method_config(rl, "diffu_grpo")["lr"] == 3e-6
