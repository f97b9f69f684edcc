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


@pytest.mark.parametrize(
    "path,value,expected",
    [
        (
            ("eval", "sampler"),
            "nope",
            "eval.sampler: 'nope' is not a sampler with a sampling section; allowed values are low_confidence",
        ),
        (("runtime", "device"), "tpu", "runtime.device = 'tpu': allowed values are cpu, cuda, auto"),
        (("rl", "lr"), -1, "rl.lr: -1 is less than or equal to the minimum of 0"),
        (("rl", "tasks"), ["gsm8k"], "rl.tasks: 'gsm8k' is not prepared"),
        (("eval", "gen_lengths"), [30], "eval.gen_lengths: 30 is not a multiple of eval.block_length"),
        (("sft", "target_format"), "cot", "sft.target_format = 'cot': allowed values are answer, reasoning"),
    ],
)
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
    bad["rl"]["methods"]["diffu_grpo"]["temperature"] = 0
    cfg = tmp_path / "bad.yaml"
    cfg.write_text(yaml.safe_dump(bad))
    res = subprocess.run(
        [
            sys.executable,
            "-m",
            "snakemake",
            "-n",
            "--cores",
            "1",
            "--configfile",
            str(cfg),
            "--directory",
            str(ROOT),
            "--snakefile",
            str(ROOT / "workflow" / "Snakefile"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert res.returncode != 0
    assert "rl.methods.diffu_grpo.temperature: 0 is less than or equal to the minimum of 0" in res.stderr + res.stdout


def test_paper_profile_validates():
    load_params(ROOT / "profiles" / "paper" / "params.yaml")


def test_micro_config_validates():
    load_params(ROOT / ".test" / "params.yaml")


def test_method_overrides_apply_to_that_method_only(params):
    from pipeline.rl import method_config

    p = copy.deepcopy(params)
    methods = p["rl"]["methods"]
    methods["just_grpo"]["overrides"] = {"lr": 5e-6, "group_size": 16}
    validate_params(p)
    own = method_config(p["rl"], "just_grpo")
    assert own["lr"] == 5e-6 and own["group_size"] == 16 and own["options"]["clip_eps"] == 0.2
    assert "overrides" not in own["options"] and "methods" not in own
    assert method_config(p["rl"], "diffu_grpo")["lr"] == params["rl"]["lr"]
    with pytest.raises(KeyError, match="known.*diffu_grpo"):
        method_config(p["rl"], "ppo")
    methods["just_grpo"]["overrides"] = {"mu": 2}  # a method key, not a shared one
    with pytest.raises(
        ParamsError, match="rl.methods.just_grpo.overrides: Additional properties.*known keys: adam_beta2"
    ):
        validate_params(p)
    methods["just_grpo"]["overrides"] = {"gen_length": 20}  # not a multiple of the shared block_length 16
    with pytest.raises(ParamsError, match=r"rl.gen_length = 20 must be a multiple .* \(as rl.methods.just_grpo runs"):
        validate_params(p)


def test_paper_profile_gives_just_grpo_its_own_schedule():
    from pipeline.rl import method_config

    rl = load_params(ROOT / "profiles" / "paper" / "params.yaml")["rl"]
    own = method_config(rl, "just_grpo")
    assert (own["group_size"], own["prompts_per_step"], own["lr"], own["steps"], own["gen_length"]) == (
        16,
        64,
        5e-6,
        125,
        256,
    )
    assert method_config(rl, "diffu_grpo")["lr"] == 3e-6


def test_unknown_method_sampler_or_task_names_the_known_ones(params):
    for section, name, known in (
        (("rl", "methods"), "ppo", "diffu_grpo, just_grpo"),
        (("sampling",), "beam", "ar_order, entropy_bounded"),
        (("data", "tasks"), "chess", "countdown, gsm8k"),
    ):
        bad = copy.deepcopy(params)
        node = bad
        for key in section:
            node = node[key]
        node[name] = {}
        with pytest.raises(ParamsError) as err:
            validate_params(bad)
        assert f"'{name}' was unexpected" in str(err.value) and known in str(err.value)


def test_component_options_are_validated_from_their_module(params):
    bad = copy.deepcopy(params)
    bad["sampling"]["entropy_bounded"]["gamma"] = -1
    with pytest.raises(ParamsError, match="sampling.entropy_bounded.gamma: -1 is less than the minimum of 0"):
        validate_params(bad)
    bad = copy.deepcopy(params)
    bad["data"]["tasks"]["tiny_sudoku"]["max_blankz"] = 3
    with pytest.raises(ParamsError, match="tiny_sudoku: Additional properties.*known keys: grids, max_blanks"):
        validate_params(bad)
    bad = copy.deepcopy(params)
    del bad["rl"]["methods"]["diffu_grpo"]["beta"]
    with pytest.raises(ParamsError, match="rl.methods.diffu_grpo: 'beta' is a required property"):
        validate_params(bad)


def _leaves(node, path=""):
    """(path, schema) of every leaf of the assembled schema: a node that is not an object of properties."""
    if "$ref" in node:
        return
    if node.get("type") == "object" or "properties" in node:
        for k, v in node.get("properties", {}).items():
            yield from _leaves(v, f"{path}.{k}" if path else k)
        if isinstance(node.get("additionalProperties"), dict):
            yield from _leaves(node["additionalProperties"], f"{path}.<name>")
        return
    if node.get("type") == "array" and isinstance(node.get("items"), dict):
        yield path, node
        yield from _leaves(node["items"], f"{path}[]")
        return
    yield path, node


def test_every_params_leaf_is_documented_with_its_allowed_values():
    """Each leaf of the schema (the YAML file plus every component's OPTIONS) says what it is and
    what is allowed: a description and a type, enum or pattern."""
    from pipeline.core.config import schema

    full = schema()
    defs = full.pop("$defs")
    leaves = list(_leaves(full)) + [(f"$defs.{k}.{p}", n) for k, d in defs.items() for p, n in _leaves(d, "")]
    assert len(leaves) > 100
    undocumented = [p for p, n in leaves if "$ref" not in n and not n.get("description")]
    unbounded = [p for p, n in leaves if "$ref" not in n and not ({"type", "enum", "pattern"} & set(n))]
    assert not undocumented, f"schema leaves without a description: {undocumented}"
    assert not unbounded, f"schema leaves without a type or allowed values: {unbounded}"


@pytest.mark.parametrize("path", ["params.yaml", "profiles/paper/params.yaml"])
def test_profile_paths_point_at_their_own_file_and_root(path):
    """paths.params names the file itself, paths.dvc_root leads back to the project root (DVC runs
    stages there), and profiles never share a results root."""
    params = load_params(ROOT / path)["paths"]
    assert params["params"] == path
    assert ((ROOT / path).parent / params["dvc_root"]).resolve() == ROOT
    if path != "params.yaml":
        assert (ROOT / path).with_name("dvc.yaml").exists()  # a copy of dvc.yaml (test_dag_agreement checks)
        assert params["results"] != load_params(ROOT / "params.yaml")["paths"]["results"]


def test_4bit_base_is_refused_on_cpu(params):
    bad = copy.deepcopy(params)
    bad["sft"]["lora"] = {"r": 8, "alpha": 16, "dropout": 0.0, "targets": ["q_proj"], "quantize_base": True}
    with pytest.raises(ParamsError, match="sft: lora.quantize_base needs a CUDA device"):
        validate_params(bad)


def test_stop_at_eos_needs_a_sampler_that_stops_rows(params):
    bad = copy.deepcopy(params)
    bad["eval"]["sampler"] = "threshold"
    with pytest.raises(ParamsError, match="eval.stop_at_eos: true needs eval.sampler in low_confidence, random"):
        validate_params(bad)
    bad["eval"]["stop_at_eos"] = False
    validate_params(bad)
