"""Loading and validating params.yaml: JSON Schema first, then the cross-key rules a schema can't say.

Errors are one line naming the key and what is allowed, raised before any stage does work.
"""

from __future__ import annotations

import functools
import hashlib
import json
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]  # the project root (pipeline/core/config.py)
SCHEMA = ROOT / "workflow" / "schemas" / "params.schema.yaml"


class ParamsError(ValueError):
    """A params value is invalid; the message names the key."""


#: rl keys that belong to the whole section; every other shared rl key may be set per method (``overrides``)
RL_SECTION_ONLY = ("tasks", "seed", "start_from", "control_optimizer", "runs", "run_for_eval", "methods")


def load_yaml(text: str):
    """YAML through libyaml's parser when PyYAML has it (the same documents: the safe constructor and
    resolver are Python either way), 10x faster than the pure-Python one: a stage job's startup parses
    params.yaml and the schema, and a short job's whole work is a second or two."""
    return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def schema() -> dict:
    """The params JSON Schema: workflow/schemas/params.schema.yaml with one section per registered
    component (RL method, sampler, task) taken from that component's module (``OPTIONS``)."""
    from pipeline.core.registry import options_schema
    from pipeline.rl import METHODS
    from pipeline.sampling import SAMPLERS
    from pipeline.tasks import TASKS

    full = load_yaml(SCHEMA.read_text())
    props = full["properties"]
    rl = props["rl"]["properties"]
    overrides = {
        "type": "object",
        "additionalProperties": False,
        "properties": {k: v for k, v in rl.items() if k not in RL_SECTION_ONLY},
        "description": "shared rl keys set for this method only (e.g. each paper's own batch and lr)",
    }
    rl["methods"]["properties"] = {}
    for name in METHODS:
        section = options_schema(METHODS, name)
        per_run = {
            "type": "object",
            "additionalProperties": False,
            "description": "one run's settings: shared rl keys or this method's options",
            "properties": {**overrides["properties"], **section["properties"]},
        }
        section["properties"]["overrides"] = overrides
        section["properties"]["per_task"] = {
            "type": "object",
            "additionalProperties": per_run,
            "description": "run (an rl.runs entry) -> its own settings, e.g. d1's mu and steps per task",
        }
        rl["methods"]["properties"][name] = section
    props["sampling"]["properties"] = {name: options_schema(SAMPLERS, name) for name in SAMPLERS}
    props["data"]["properties"]["tasks"]["properties"] = {name: options_schema(TASKS, name) for name in TASKS}
    return full


@functools.cache
def schema_validator():
    """The schema's validator, built once per process (the warm server builds it before forking)."""
    from jsonschema import Draft202012Validator

    return Draft202012Validator(schema())


def _schema_errors(params: dict) -> list[str]:
    msgs = []
    for err in sorted(schema_validator().iter_errors(params), key=lambda e: list(e.absolute_path)):
        key = ".".join(str(p) for p in err.absolute_path) or "(top level)"
        if err.validator == "enum":
            allowed = ", ".join(map(str, err.validator_value))
            msgs.append(f"{key} = {err.instance!r}: allowed values are {allowed}")
        elif err.validator == "additionalProperties":
            known = ", ".join(sorted(err.schema.get("properties", {})))
            msgs.append(f"{key}: {err.message}; known keys: {known}")
        else:
            msgs.append(f"{key}: {err.message}")
    return msgs


def scored_tasks(select: dict | None, stage_tasks) -> list[str]:
    """The tasks a stage's ``select`` scores on the validation split: those its ``stop_at`` names, else
    all the stage's tasks; none without a select."""
    if not select:
        return []
    return list(select.get("stop_at") or stage_tasks)


def for_task(setting, task: str, unnamed=None):
    """A setting given as one value for every task or as a task -> value map: ``task``'s value
    (``unnamed`` for a task the map does not name)."""
    return setting.get(task, unnamed) if isinstance(setting, dict) else setting


def n_test_for(data: dict, task: str) -> int | None:
    """``data.n_test`` for ``task`` (a task a map does not name: null, the full benchmark)."""
    return for_task(data["n_test"], task)


def validation_size(data: dict, task: str) -> int:
    """``data.n_validation`` for ``task`` (a task a map does not name: 0, nothing held out)."""
    return int(for_task(data["n_validation"], task, 0))


def _semantic_errors(p: dict) -> list[str]:
    from pipeline.rl import ALL_TASKS, method_config, run_for_task

    msgs = []
    prepared = set(p["data"]["tasks"])
    for section in ("pretrain", "sft", "rl"):
        for name in p[section]["tasks"]:
            if name not in prepared:
                msgs.append(
                    f"{section}.tasks: {name!r} is not prepared; add it to data.tasks "
                    f"(prepared: {', '.join(sorted(prepared))})"
                )
    ev = p["eval"]
    samplers = [("eval.sampler", ev["sampler"])]
    samplers += [
        (f"analysis.{a}.orders", s) for a in ("passk", "connector_entropy") for s in p["analysis"][a]["orders"]
    ]
    for key, name in samplers:
        if name not in p["sampling"]:
            msgs.append(
                f"{key}: {name!r} is not a sampler with a sampling section; allowed values are "
                f"{', '.join(p['sampling'])}"
            )
    from pipeline.sampling import STOPPING_SAMPLERS

    if ev["stop_at_eos"] and ev["sampler"] not in STOPPING_SAMPLERS:
        msgs.append(
            f"eval.stop_at_eos: true needs eval.sampler in {', '.join(STOPPING_SAMPLERS)} "
            f"(got {ev['sampler']!r}); set it to false"
        )
    for L in ev["gen_lengths"]:
        if L % ev["block_length"]:
            msgs.append(f"eval.gen_lengths: {L} is not a multiple of eval.block_length = {ev['block_length']}")
        for name, ratio in ev["protocols"].items():
            steps = round(ratio * L)
            if steps < 1 or steps % (L // ev["block_length"] or 1):
                msgs.append(
                    f"eval.protocols.{name}: steps = {steps} for length {L} must be a positive multiple "
                    f"of its {L // ev['block_length']} blocks"
                )
    models = [(f"tables.{t}.models", m) for t, tab in p["tables"].items() for m in tab["models"]]
    models += [
        ("analysis.passk.model", p["analysis"]["passk"]["model"]),
        ("analysis.connector_entropy.model", p["analysis"]["connector_entropy"]["model"]),
    ]
    models += [("analysis.parallel_decoding.models", m) for m in p["analysis"]["parallel_decoding"]["models"]]
    rl_models = {f"{m}_from_{s}" for m in p["rl"]["methods"] for s in p["rl"]["start_from"]}
    rl_models |= {f"more_sft_for_{m}" for m in rl_models}  # their equal-compute controls
    for key, m in models:
        if m not in {"base", "sft"} | rl_models:
            msgs.append(
                f"{key}: {m!r} is no model of this profile; allowed values are base, sft, "
                f"{', '.join(sorted(rl_models))} (<rl.methods key>_from_<rl.start_from entry>)"
            )
    for s in p["rl"]["start_from"]:
        if s not in ("base", "sft"):
            msgs.append(f"rl.start_from: {s!r}: allowed values are base, sft")
    for key, scope in (("claims", p["claims"]), ("claims.full", p["claims"]["full"])):
        for t in scope["tables"]:
            if t not in p["tables"]:
                msgs.append(f"{key}.tables: {t!r} is not a table; allowed values are {', '.join(p['tables'])}")
        for a in scope["analyses"]:
            if a not in p["analysis"]:
                msgs.append(f"{key}.analyses: {a!r} is not an analysis; allowed values are {', '.join(p['analysis'])}")
    for t, tab in p["tables"].items():
        if tab["protocol"] not in ev["protocols"]:
            msgs.append(f"tables.{t}.protocol = {tab['protocol']!r}: allowed values are {', '.join(ev['protocols'])}")
    for a, cfg in p["analysis"].items():
        for name in cfg["tasks"]:
            if name not in prepared:
                msgs.append(f"analysis.{a}.tasks: {name!r} is not prepared; add it to data.tasks")
        if cfg["gen_length"] % cfg["block_length"]:
            msgs.append(f"analysis.{a}.gen_length must be a multiple of its block_length")
    runs = p["rl"]["runs"]
    for run in runs:
        if run != ALL_TASKS and run not in p["rl"]["tasks"]:
            msgs.append(
                f"rl.runs: {run!r} is neither {ALL_TASKS!r} nor one of rl.tasks ({', '.join(p['rl']['tasks'])})"
            )
    for method, section in p["rl"]["methods"].items():
        for run in section.get("per_task", {}):
            if run not in runs:
                msgs.append(f"rl.methods.{method}.per_task.{run}: not an entry of rl.runs ({', '.join(runs)})")
    for task, run in p["rl"]["run_for_eval"].items():
        if run not in runs:
            msgs.append(f"rl.run_for_eval.{task} = {run!r}: not an entry of rl.runs ({', '.join(runs)})")
    for t, tab in p["tables"].items():
        for task in tab["tasks"]:
            if task not in prepared:
                msgs.append(f"tables.{t}.tasks: {task!r} is not prepared; add it to data.tasks")
            elif any("_from_" in m for m in tab["models"]) and run_for_task(p["rl"], task) is None:
                msgs.append(
                    f"tables.{t}.tasks: {task!r} has no RL model to evaluate (rl.runs trains one model per task: "
                    f"{', '.join(runs)}); add it to rl.runs or rl.run_for_eval, or add 'all'"
                )
    for method in p["rl"]["methods"]:
        rl = method_config(p["rl"], method)
        where = (
            f" (as rl.methods.{method} runs, overrides applied)" if p["rl"]["methods"][method].get("overrides") else ""
        )
        if rl["gen_length"] % rl["block_length"]:
            msgs.append(
                f"rl.gen_length = {rl['gen_length']} must be a multiple of rl.block_length = "
                f"{rl['block_length']}{where}"
            )
        elif rl["diffusion_steps"] % (rl["gen_length"] // rl["block_length"]):
            msgs.append(
                f"rl.diffusion_steps = {rl['diffusion_steps']} must be a multiple of the "
                f"{rl['gen_length'] // rl['block_length']} blocks of rl.gen_length{where}"
            )
    selects = [
        ("sft", p["sft"]["select"], p["sft"]["tasks"]),
        ("pretrain", p["pretrain"]["select"], p["pretrain"]["tasks"]),
    ]
    selects += [
        (f"rl (as rl.methods.{m} runs)", method_config(p["rl"], m)["select"], p["rl"]["tasks"])
        for m in p["rl"]["methods"]
    ]
    for where, select, stage_tasks in selects:
        missing = [t for t in scored_tasks(select, stage_tasks) if not validation_size(p["data"], t)]
        if missing:
            msgs.append(
                f"{where}: select scores {', '.join(missing)} on a validation split; set data.n_validation > 0 for it"
            )
        if select and select["gen_length"] % select["block_length"]:
            msgs.append(f"{where}: select.gen_length must be a multiple of select.block_length")
        for task in sorted(set((select or {}).get("stop_at") or {}) - set(stage_tasks)):
            msgs.append(f"{where}: select.stop_at names {task}, not one of its tasks {stage_tasks}")
        if (select or {}).get("stop_each") and not (select.get("stop_at") and p["model"].get("experts")):
            msgs.append(
                f"{where}: select.stop_each needs select.stop_at and model.experts (a task stopped early must "
                "have a network of its own); set stop_each: false"
            )
        if (select or {}).get("near") and not select.get("stop_at"):
            msgs.append(f"{where}: select.near only applies with select.stop_at; set stop_at or near: null")
        if (select or {}).get("min_format") and not select.get("stop_at"):
            msgs.append(f"{where}: select.min_format only applies with select.stop_at; set stop_at or min_format: null")
        within = ((select or {}).get("near") or {}).get("within")
        for task in sorted(set(within) - set(select.get("stop_at") or {}) if isinstance(within, dict) else []):
            msgs.append(f"{where}: select.near.within names {task}, which select.stop_at has no target for")
    lora_sections = [("sft", p["sft"]["lora"])] + [
        (f"rl (as rl.methods.{m} runs)", method_config(p["rl"], m)["lora"]) for m in p["rl"]["methods"]
    ]
    for where, lora in lora_sections:
        if lora and lora.get("quantize_base") and p["runtime"]["device"] == "cpu":
            msgs.append(f"{where}: lora.quantize_base needs a CUDA device (bitsandbytes); set runtime.device: cuda")
    if p["pretrain"]["lora"]:
        msgs.append("pretrain.lora must be null: a model trained from scratch has no base to adapt")
    for stage in ("pretrain", "sft"):
        if p[stage]["batch_size"] % p[stage]["micro_batch"]:
            msgs.append(f"{stage}.batch_size = {p[stage]['batch_size']} must be a multiple of {stage}.micro_batch")
    for method in p["rl"]["methods"]:
        rl = method_config(p["rl"], method)
        if rl["prompts_per_step"] % rl["prompts_per_micro"]:
            msgs.append(
                f"rl.prompts_per_step = {rl['prompts_per_step']} must be a multiple of rl.prompts_per_micro "
                f"(as rl.methods.{method} runs)"
            )
    if p["model"]["init"] == "pretrained" and not p["model"]["path"]:
        msgs.append("model.path: required when model.init = pretrained (local dir or hub id)")
    if p["model"].get("clip_each_expert") and not p["model"].get("experts"):
        msgs.append("model.clip_each_expert = true needs model.experts: one network has one gradient norm")
    if p["model"]["init"] == "scratch" and p["model"]["d_model"] % p["model"]["n_heads"]:
        msgs.append(f"model.d_model = {p['model']['d_model']} must be a multiple of model.n_heads")
    return msgs


def validate_params(params: dict, source: str = "params.yaml") -> dict:
    msgs = _schema_errors(params)
    if not msgs:
        msgs = _semantic_errors(params)
    if msgs:
        raise ParamsError(f"invalid {source}: " + msgs[0] + (f" (and {len(msgs) - 1} more)" if len(msgs) > 1 else ""))
    return params


def load_params(path: str | Path = "params.yaml") -> dict:
    path = Path(path)
    if not path.exists():
        raise ParamsError(f"{path} not found; run from the project root or pass --params")
    return validate_params(load_yaml(path.read_text()), str(path))


def params_hash(section) -> str:
    """Stable short hash of a params section (an MLflow tag to find runs with equal settings)."""
    return hashlib.sha256(json.dumps(section, sort_keys=True).encode()).hexdigest()[:12]
