"""Building, loading and saving models and tokenizers (one directory per model under results/models)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import torch
from transformers import GenerationConfig

from pipeline.core.atomic import IncompleteModel
from pipeline.core.hub import hub_unavailable
from pipeline.model.configuration_llada import LLaDAConfig
from pipeline.model.modeling_llada import LLaDAModelLM
from pipeline.model.tokenizer import build_tiny_tokenizer


def build_scratch(model_params: dict):
    """A freshly initialised LLaDA model and the tiny tokenizer (tiny profile's base)."""
    tok = build_tiny_tokenizer()
    experts = [[w] if isinstance(w, str) else list(w) for w in model_params.get("experts") or []]
    unknown = [w for group in experts for w in group if tok.convert_tokens_to_ids(w) == tok.unk_token_id]
    if unknown:
        raise ValueError(f"model.experts: {unknown} are not words of the tiny tokenizer (a task's prompt keyword)")
    cfg = LLaDAConfig(
        d_model=model_params["d_model"],
        n_layers=model_params["n_layers"],
        n_heads=model_params["n_heads"],
        mlp_hidden_size=model_params["mlp_hidden_size"],
        vocab_size=len(tok),
        mask_token_id=tok.mask_token_id,
        eos_token_id=tok.eos_token_id,
        pad_token_id=tok.pad_token_id,
        prompt_width=model_params.get("prompt_width", 0),
        expert_tokens=[[tok.convert_tokens_to_ids(w) for w in group] for group in experts],
        clip_each_expert=model_params.get("clip_each_expert", False),
    )
    return LLaDAModelLM(cfg), tok


def load(
    path: str | Path,
    dtype: torch.dtype = torch.float32,
    device: str | torch.device = "cpu",
    quantize_4bit: bool = False,
):
    """Model and tokenizer from a local directory, or a hub id when the hub is reachable.

    Offline with a hub id fails at once with what to do, instead of hanging in retries.
    ``quantize_4bit``: d1's NF4 base (double quantisation, bf16 compute; bitsandbytes, CUDA only).
    """
    from transformers import AutoTokenizer

    path = str(path)
    why = None if Path(path).is_dir() else hub_unavailable()
    if why:
        raise RuntimeError(
            f"model {path!r} is not a local directory and the Hugging Face hub is unusable ({why}); "
            f"download it elsewhere (huggingface-cli download {path}) and set model.path to the local directory"
        )
    tok = AutoTokenizer.from_pretrained(path, trust_remote_code=False)
    extra = {}
    if quantize_4bit:
        try:
            import bitsandbytes  # noqa: F401
        except ImportError as err:
            raise RuntimeError(
                "lora.quantize_base needs bitsandbytes on a CUDA machine: pip install bitsandbytes"
            ) from err
        from transformers import BitsAndBytesConfig

        extra = {
            "quantization_config": BitsAndBytesConfig(
                load_in_4bit=True,
                bnb_4bit_quant_type="nf4",
                bnb_4bit_use_double_quant=True,
                bnb_4bit_compute_dtype=torch.bfloat16,
            ),
            "device_map": {"": str(device)},
        }
    model, info = LLaDAModelLM.from_pretrained(path, dtype=dtype, output_loading_info=True, **extra)
    # transformers only warns about these; a tensor left at its random init would go unnoticed
    unmatched = {k: sorted(map(str, v)) for k, v in info.items() if v}
    if unmatched:
        raise ValueError(f"{path}: the checkpoint does not match LLaDAModelLM's tensors: {unmatched}")
    return (model if quantize_4bit else model.to(device)), tok


#: a model directory holding only this file points at a checkpoint elsewhere (paper profile's base)
POINTER = "source.json"


def write_pointer(out_dir: str | Path, path: str) -> None:
    """Record that the model of ``out_dir`` is the checkpoint at ``path`` (no 16 GB copy under results/)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / POINTER).write_text(json.dumps({"path": path}) + "\n")


def model_for_run(model_dir: str | Path, run: str | None) -> Path:
    """The model of ``model_dir`` trained by RL run ``run`` (``pipeline.rl.run_for_task`` names the run
    that answers a task): an RL model directory holds one subdirectory per run; any other directory
    (base, sft) is the model itself."""
    model_dir = Path(model_dir)
    if run is not None and (model_dir / run).is_dir():
        return model_dir / run
    return model_dir


def model_name(model_dir: str | Path) -> str:
    """A model's name from its directory: ``sft``, or ``<method>_from_<init>/<run>`` for a model that is
    one run of an RL (or control) row."""
    p = Path(model_dir)
    return p.name if p.parent.name == "models" else f"{p.parent.name}/{p.name}"


def _writer_stage(model_dir: Path) -> str:
    name = model_name(model_dir)
    return "pretrain" if name == "base" else "sft" if name == "sft" or name.startswith("more_sft") else "rl"


def check_complete(model_dir: str | Path) -> None:
    """Raise IncompleteModel (one line: what is missing, which stage remakes it, the command) unless
    ``model_dir`` holds a pointer or a config with every weights file it names."""
    model_dir = Path(model_dir)
    missing = None
    if not model_dir.is_dir():
        missing = "the directory"
    elif not (model_dir / POINTER).exists():
        index = model_dir / "model.safetensors.index.json"
        shards = sorted(set(json.loads(index.read_text())["weight_map"].values())) if index.exists() else []
        needed = ["config.json", *(shards or ["model.safetensors"])]
        missing = next((f for f in needed if not (model_dir / f).exists()), None)
    if missing:
        raise IncompleteModel(
            f"{model_dir}: {missing} is missing (a save that failed or was deleted); the {_writer_stage(model_dir)} "
            f"stage remakes it: snakemake --cores all --forcerun {model_dir} (DVC: dvc repro --force <its stage>)"
        )


def load_stage_model(model_dir: str | Path, dtype: torch.dtype, device, quantize_4bit: bool = False):
    """Model and tokenizer saved by an earlier stage, following a ``source.json`` pointer."""
    model_dir = Path(model_dir)
    check_complete(model_dir)
    pointer = model_dir / POINTER
    path = json.loads(pointer.read_text())["path"] if pointer.exists() else model_dir
    return load(path, dtype=dtype, device=device, quantize_4bit=quantize_4bit)


#: the modeling code saved beside the weights, and the auto_map (LLaDA-8B's) that points at it
CODE_FILES = ("configuration_llada.py", "modeling_llada.py")
AUTO_MAP = {
    "AutoConfig": "configuration_llada.LLaDAConfig",
    "AutoModel": "modeling_llada.LLaDAModelLM",
    "AutoModelForCausalLM": "modeling_llada.LLaDAModelLM",
}


def save(model: LLaDAModelLM, tokenizer, out_dir: str | Path, state_dict: dict | None = None) -> None:
    """Weights, config, tokenizer, generation ids and the modeling code (as register_for_auto_class saves it).

    The directory loads without the project: ``AutoModel.from_pretrained(out_dir, trust_remote_code=True)``;
    in the project (``pipeline.model`` registers the classes) it loads without trust_remote_code.
    ``state_dict``: the weights to write instead of the module's own (a sharded run's gathered copy).
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    model.config.auto_map = dict(AUTO_MAP)
    model.save_pretrained(out_dir, state_dict=state_dict)  # state_dict: gathered from a sharded model
    for name in CODE_FILES:
        shutil.copyfile(Path(__file__).with_name(name), out_dir / name)
    # ids only: LLaDA decodes by iterative unmasking (pipeline.sampling), not with model.generate
    GenerationConfig(
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=model.config.eos_token_id,
        pad_token_id=model.config.pad_token_id,
        mask_token_id=model.config.mask_token_id,
    ).save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)


def mask_id(model) -> int:
    return int(model.config.mask_token_id)


def prompt_width(model) -> int:
    """The fewest tokens a prompt is left-padded to for ``model`` (LLaDAConfig.prompt_width; 0 when the
    config has none, as LLaDA-8B's); ``model`` may be wrapped (DDP) or not."""
    config = getattr(getattr(model, "module", model), "config", None)
    return int(getattr(config, "prompt_width", 0) or 0)
