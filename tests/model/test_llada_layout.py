"""A tiny random checkpoint in GSAI-ML/LLaDA-8B-Instruct's published layout loads into the project's class.

Layout (read from the model card's config.json, model.safetensors.index.json, tokenizer_config.json):
every config key of the release, only the sizes shrunk; bf16 safetensors shards with an index; the
release's tensor names; a tokenizer whose special tokens have the release's ids, no ``mask_token``
set, and a chat template that puts bos first and always ends with the assistant header.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file
from tokenizers import AddedToken, Regex, Tokenizer, models, pre_tokenizers

from pipeline.model import LLaDAConfig, LLaDAModelLM, io
from tests.model.reference import llada_forward

# LLaDA-8B-Instruct's config.json, every key; the sizes (8B: d_model 4096, 32 heads, 32 layers,
# mlp_hidden_size 12288) shrunk, the vocabulary and the special ids kept.
CONFIG = {
    "activation_type": "silu",
    "alibi": False,
    "alibi_bias_max": 8.0,
    "architectures": ["LLaDAModelLM"],
    "attention_dropout": 0.0,
    "attention_layer_norm": False,
    "attention_layer_norm_with_affine": True,
    "auto_map": {
        "AutoConfig": "configuration_llada.LLaDAConfig",
        "AutoModelForCausalLM": "modeling_llada.LLaDAModelLM",
        "AutoModel": "modeling_llada.LLaDAModelLM",
    },
    "bias_for_layer_norm": False,
    "block_group_size": 1,
    "block_type": "llama",
    "d_model": 32,
    "embedding_dropout": 0.0,
    "embedding_size": 126464,
    "eos_token_id": 126081,
    "flash_attention": False,
    "include_bias": False,
    "include_qkv_bias": False,
    "init_cutoff_factor": None,
    "init_device": "meta",
    "init_fn": "mitchell",
    "init_std": 0.02,
    "input_emb_norm": False,
    "layer_norm_type": "rms",
    "layer_norm_with_affine": True,
    "mask_token_id": 126336,
    "max_sequence_length": 4096,
    "mlp_hidden_size": 96,
    "mlp_ratio": 4,
    "model_type": "llada",
    "multi_query_attention": None,
    "n_heads": 4,
    "n_kv_heads": 4,
    "n_layers": 2,
    "pad_token_id": 126081,
    "precision": "amp_bf16",
    "residual_dropout": 0.0,
    "rms_norm_eps": 1e-05,
    "rope": True,
    "rope_full_precision": True,
    "rope_theta": 500000.0,
    "scale_logits": False,
    "transformers_version": "4.46.3",
    "use_cache": False,
    "vocab_size": 126464,
    "weight_tying": False,
}
BOS, EOS, MASK = "<|startoftext|>", "<|endoftext|>", "<|mdm_mask|>"
HEADER_START, HEADER_END, EOT = "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"
#: the release's added tokens that matter here, at their ids (the reserved tokens between are left out)
SPECIAL_IDS = {
    BOS: 126080,
    EOS: 126081,
    "[CLS]": 126082,
    "[gMASK]": 126083,
    MASK: 126336,
    "<role>": 126340,
    "</role>": 126341,
    "<|arithmetic_start|>": 126342,
    "<|arithmetic_end|>": 126343,
    "<|number_start|>": 126344,
    "<|number_end|>": 126345,
    HEADER_START: 126346,
    HEADER_END: 126347,
    EOT: 126348,
}
# bos before the first message, each message as header + content + eot, the assistant header always
# (an expression: Jinja drops a template's trailing newline)
CHAT_TEMPLATE = (
    "{% for m in messages %}{% if loop.first %}{{ bos_token }}{% endif %}"
    "<|start_header_id|>{{ m['role'] }}<|end_header_id|>\n\n{{ m['content'] | trim }}<|eot_id|>{% endfor %}"
    "{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}"
)
WORDS = ["<|unk|>", "user", "assistant", "system", "compute", "\n\n", " ", *"0123456789+="]


def _tensors(gen: torch.Generator) -> dict[str, torch.Tensor]:
    """Random weights under the release's names and shapes ([out, in] linears, no biases)."""
    d, f, V = CONFIG["d_model"], CONFIG["mlp_hidden_size"], CONFIG["embedding_size"]
    kv = CONFIG["n_kv_heads"] * d // CONFIG["n_heads"]
    rand = lambda *shape, std=0.1: torch.randn(*shape, generator=gen) * std
    norm = lambda: 1 + rand(d)  # not all ones, so swapping two norms would show
    sd = {"model.transformer.wte.weight": rand(V, d, std=1.0)}
    for i in range(CONFIG["n_layers"]):
        p = f"model.transformer.blocks.{i}."
        shapes = {"q_proj": (d, d), "k_proj": (kv, d), "v_proj": (kv, d), "attn_out": (d, d)}
        shapes |= {"ff_proj": (f, d), "up_proj": (f, d), "ff_out": (d, f)}
        sd |= {p + f"{n}.weight": rand(*s, std=s[1] ** -0.5) for n, s in shapes.items()}
        sd |= {p + "attn_norm.weight": norm(), p + "ff_norm.weight": norm()}
    sd |= {"model.transformer.ln_f.weight": norm(), "model.transformer.ff_out.weight": rand(V, d, std=d**-0.5)}
    return {k: v.to(torch.bfloat16).contiguous() for k, v in sd.items()}


def _write_shards(out: Path, sd: dict[str, torch.Tensor]) -> None:
    """Two shards (embeddings and head in the first, blocks and ln_f in the second) and their index."""
    big = {"model.transformer.wte.weight", "model.transformer.ff_out.weight"}
    shards = [{k: v for k, v in sd.items() if k in big}, {k: v for k, v in sd.items() if k not in big}]
    weight_map = {}
    for i, part in enumerate(shards, 1):
        name = f"model-{i:05d}-of-{len(shards):05d}.safetensors"
        save_file(part, out / name, metadata={"format": "pt"})
        weight_map |= dict.fromkeys(part, name)
    total = sum(v.numel() * v.element_size() for v in sd.values())
    index = {"metadata": {"total_size": total}, "weight_map": dict(sorted(weight_map.items()))}
    (out / "model.safetensors.index.json").write_text(json.dumps(index, indent=2))


def _write_tokenizer(out: Path) -> None:
    """tokenizer.json with sparse ids (a few words, then the specials at the release's ids) and a
    tokenizer_config.json with the release's keys (transformers 4.x format)."""
    vocab = {w: i for i, w in enumerate(WORDS)} | SPECIAL_IDS
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<|unk|>"))
    tok.pre_tokenizer = pre_tokenizers.Split(Regex(r"[a-z]+|\d|\s+|[^\sa-z\d]"), behavior="isolated")
    tok.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in SPECIAL_IDS])
    tok.save(str(out / "tokenizer.json"))
    flags = dict(lstrip=False, normalized=False, rstrip=False, single_word=False, special=True)
    config = {
        "add_bos_token": False,
        "add_eos_token": False,
        "added_tokens_decoder": {str(i): {"content": t, **flags} for t, i in SPECIAL_IDS.items()},
        "additional_special_tokens": list(SPECIAL_IDS)[5:11],  # <role> ... <|number_end|>
        "bos_token": BOS,
        "chat_template": CHAT_TEMPLATE,
        "clean_up_tokenization_spaces": False,
        "cls_token": "[CLS]",
        "eos_token": EOS,
        "fast_tokenizer": True,
        "gmask_token": "[gMASK]",
        "merges_file": None,
        "model_input_names": ["input_ids", "attention_mask"],
        "model_max_length": 1000000000000000019884624838656,
        "pad_token": EOS,
        "tokenizer_class": "PreTrainedTokenizerFast",
        "trust_remote_code": True,
        "vocab_file": None,
    }
    (out / "tokenizer_config.json").write_text(json.dumps(config, indent=2))


@pytest.fixture(scope="module")
def llada_dir(tmp_path_factory) -> tuple[Path, dict[str, torch.Tensor]]:
    out = tmp_path_factory.mktemp("llada_layout")
    sd = _tensors(torch.Generator().manual_seed(0))
    (out / "config.json").write_text(json.dumps(CONFIG, indent=2))
    _write_shards(out, sd)
    _write_tokenizer(out)
    return out, sd


def _inputs() -> tuple[torch.Tensor, torch.Tensor]:
    ids = torch.randint(0, 126464, (2, 12), generator=torch.Generator().manual_seed(1))
    attn = torch.ones_like(ids)
    ids[0, :3], attn[0, :3] = CONFIG["pad_token_id"], 0  # left padding, as the pipeline pads prompts
    return ids, attn


def test_every_tensor_loads_and_none_is_left_over(llada_dir):
    path, sd = llada_dir
    assert sorted(p.name for p in path.glob("*.safetensors")) == [
        "model-00001-of-00002.safetensors",
        "model-00002-of-00002.safetensors",
    ]
    model, info = LLaDAModelLM.from_pretrained(path, dtype=torch.float32, output_loading_info=True)
    assert not any(info.values()), info
    loaded = model.state_dict()
    assert loaded.keys() == sd.keys()
    assert all(torch.equal(loaded[k], v.float()) for k, v in sd.items())
    model, _ = io.load(path)  # the project's loader, strict about unmatched tensors
    cfg = model.config
    assert (cfg.mask_token_id, cfg.eos_token_id, cfg.pad_token_id) == (126336, 126081, 126081)
    assert io.mask_id(model) == 126336 and cfg.rope_full_precision is True and cfg.vocab_size == 126464


@pytest.mark.parametrize("change", ["extra", "missing"])
def test_the_loader_rejects_a_checkpoint_whose_tensors_do_not_match(llada_dir, tmp_path, change):
    """transformers only warns about unexpected or missing tensors; io.load refuses them."""
    path, _ = llada_dir
    second_name, index_name = "model-00002-of-00002.safetensors", "model.safetensors.index.json"
    for f in path.iterdir():
        if f.name not in (second_name, index_name):
            os.symlink(f, tmp_path / f.name)
    second = load_file(path / "model-00002-of-00002.safetensors")
    if change == "extra":  # e.g. attention_layer_norm's q_norm, which the class does not have
        second["model.transformer.blocks.0.q_norm.weight"] = torch.ones(CONFIG["d_model"], dtype=torch.bfloat16)
    else:
        del second["model.transformer.ln_f.weight"]
    save_file(second, tmp_path / second_name, metadata={"format": "pt"})
    index = json.loads((path / index_name).read_text())
    first = {k: v for k, v in index["weight_map"].items() if v != second_name}
    index["weight_map"] = first | dict.fromkeys(second, second_name)
    (tmp_path / index_name).write_text(json.dumps(index))
    with pytest.raises(ValueError, match="q_norm" if change == "extra" else "ln_f"):
        io.load(tmp_path)


def test_float32_logits_equal_a_plain_llada_forward(llada_dir):
    path, sd = llada_dir
    model, _ = io.load(path, dtype=torch.float32)
    ids, attn = _inputs()
    with torch.no_grad():
        got = model(ids, attention_mask=attn).logits
        want = llada_forward({k: v.float() for k, v in sd.items()}, CONFIG, ids, attn)
    assert got.shape == (2, 12, 126464)
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)


def test_bfloat16_logits_equal_a_plain_llada_forward(llada_dir):
    """In bf16 the reference casts as LLaDA's code does (RMSNorm and RoPE in fp32); agreement to bf16 rounding."""
    path, sd = llada_dir
    model, _ = io.load(path, dtype=torch.bfloat16)
    ids, attn = _inputs()
    with torch.no_grad():
        got = model(ids, attention_mask=attn).logits.float()
        want = llada_forward(sd, CONFIG, ids, attn, rope_full_precision=True).float()
    assert (got - want).abs().max() <= 2**-8 * want.abs().max()


def test_tokenizer_ids_and_chat_template(llada_dir):
    path, _ = llada_dir
    model, tok = io.load(path)
    assert tok.bos_token_id == 126080 and tok.eos_token_id == 126081 and tok.pad_token_id == 126081
    # the release sets no mask_token: the pipeline takes the mask id from the model config
    assert tok.mask_token is None and tok.convert_tokens_to_ids(MASK) == 126336 == io.mask_id(model)
    assert tok.convert_tokens_to_ids([HEADER_START, HEADER_END, EOT]) == [126346, 126347, 126348]
    assert tok(f"compute{MASK}{MASK}", add_special_tokens=False).input_ids == [WORDS.index("compute"), 126336, 126336]
    msgs = [{"role": "user", "content": "compute 1+2 "}]
    for add_generation_prompt in (True, False):  # the release's template appends the header either way
        text = tok.apply_chat_template(msgs, add_generation_prompt=add_generation_prompt, tokenize=False)
        assert text == f"{BOS}{HEADER_START}user{HEADER_END}\n\ncompute 1+2{EOT}{HEADER_START}assistant{HEADER_END}\n\n"
    ids = tok(text, add_special_tokens=False).input_ids
    assert ids[0] == 126080 and ids[-4:] == [126346, WORDS.index("assistant"), 126347, WORDS.index("\n\n")]


@pytest.mark.parametrize("key,value", [("alibi", True), ("rope", False), ("scale_logits", True), ("clip_qkv", 8.0)])
def test_config_refuses_llada_switches_the_class_does_not_implement(key, value):
    with pytest.raises(ValueError, match=key):
        LLaDAConfig(**{**CONFIG, key: value})
