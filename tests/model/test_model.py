import copy

import pytest
import torch

from pipeline.model import LLaDAConfig, LLaDAModelLM, io


def test_logits_shape(tiny):
    model, tok = tiny
    x = torch.randint(0, len(tok), (3, 11))
    assert model(x).logits.shape == (3, 11, len(tok))


def test_logits_at_equals_the_full_pass_with_its_gradient(tiny):
    """``logits_at`` runs the last block's queries only where asked; values and gradients unchanged."""
    model, tok = tiny
    model = copy.deepcopy(model).double()
    x = torch.randint(5, len(tok), (3, 12))
    attn = torch.ones_like(x)
    attn[0, :2] = 0
    at = torch.tensor([[0, 5], [11, 3], [7, 7]])  # [B, Q], repeats allowed
    full = model(x, attention_mask=attn).logits  # [B, L, V]
    part = model(x, attention_mask=attn, logits_at=at).logits  # [B, Q, V]
    picked = full.gather(1, at[..., None].expand(-1, -1, full.shape[-1]))
    assert part.shape == (3, 2, len(tok)) and torch.allclose(part, picked, atol=1e-12)
    w = torch.randn(part.shape, dtype=torch.float64)
    g_full = torch.autograd.grad((picked * w).sum(), list(model.parameters()))
    g_part = torch.autograd.grad((part * w).sum(), list(model.parameters()))
    # SDPA's CPU backward is not bit-exact across query counts even in float64: ~1e-7 relative
    assert max(((a - b).abs().max() / a.abs().max()).item() for a, b in zip(g_full, g_part)) < 1e-6


def test_attention_is_bidirectional(tiny):
    """Changing a later token must change the logits at earlier positions (no causal mask)."""
    model, tok = tiny
    x = torch.randint(0, len(tok), (1, 10))
    y = x.clone()
    y[0, -1] = (y[0, -1] + 1) % len(tok)
    with torch.no_grad():
        a, b = model(x).logits, model(y).logits
    assert not torch.allclose(a[0, 0], b[0, 0])


def test_padding_mask_hides_padded_keys(tiny):
    model, tok = tiny
    x = torch.randint(5, len(tok), (1, 8))
    y = x.clone()
    y[0, 0] = 4  # a different left-pad token
    attn = torch.ones_like(x)
    attn[0, 0] = 0
    with torch.no_grad():
        a, b = model(x, attention_mask=attn).logits, model(y, attention_mask=attn).logits
    assert torch.allclose(a[0, 1:], b[0, 1:], atol=1e-6)


def test_save_load_round_trip(tiny, tmp_path):
    from transformers import AutoConfig, AutoModel, AutoTokenizer

    from pipeline.model import io

    model, tok = tiny
    io.save(model, tok, tmp_path)
    loaded = AutoModel.from_pretrained(tmp_path)
    tok2 = AutoTokenizer.from_pretrained(tmp_path)
    assert AutoConfig.from_pretrained(tmp_path).model_type == "llada"
    x = torch.randint(0, len(tok), (2, 9))
    with torch.no_grad():
        assert torch.equal(model(x).logits, loaded(x).logits)
    assert tok2.mask_token_id == tok.mask_token_id and tok2.chat_template == tok.chat_template


def test_parameter_names_match_llada_checkpoints():
    """Names a GSAI-ML/LLaDA-8B-Instruct state dict uses (OLMo-derived modeling_llada.py)."""
    m = LLaDAModelLM(LLaDAConfig(d_model=16, n_heads=2, n_layers=1, mlp_hidden_size=24, vocab_size=10))
    names = set(dict(m.named_parameters()))
    expected = {"model.transformer.wte.weight", "model.transformer.ln_f.weight", "model.transformer.ff_out.weight"}
    expected |= {
        f"model.transformer.blocks.0.{n}.weight"
        for n in ("attn_norm", "ff_norm", "q_proj", "k_proj", "v_proj", "attn_out", "ff_proj", "up_proj", "ff_out")
    }
    assert names == expected


def test_tokenizer_round_trip_and_special_tokens(tiny):
    _, tok = tiny
    text = "<reasoning>3*4=12 then 12+5=17 so 17</reasoning><answer>3*4+5</answer>"
    ids = tok(text, add_special_tokens=False).input_ids
    assert tok.decode(ids) == text
    assert tok.convert_ids_to_tokens(ids[0]) == "<reasoning>"
    assert {tok.mask_token, tok.eos_token, tok.pad_token} == {"<|mdm_mask|>", "<|endoftext|>"}
    prompt = tok.apply_chat_template(
        [{"role": "user", "content": "compute 1+2"}], add_generation_prompt=True, tokenize=False
    )
    assert prompt.endswith("<|start_header_id|>assistant<|end_header_id|>\n\n")


def test_task_experts_run_each_row_through_its_own_network_with_and_without_a_cache(tmp_path):
    from pipeline.model.modeling_llada import KVCache

    torch.manual_seed(0)
    dims = {"d_model": 32, "n_layers": 2, "n_heads": 4, "mlp_hidden_size": 64}
    dims["experts"] = ["sudoku", "target", "compute"]
    model, tok = io.build_scratch(dims)
    model.eval()
    keywords = [tok.convert_tokens_to_ids(w) for w in dims["experts"]]
    grouped, _ = io.build_scratch({**dims, "experts": [["sudoku"], ["target", "compute"]]})
    rows = torch.tensor([[keywords[2], 30], [keywords[0], 30], [30, keywords[1]]])
    assert grouped.expert_of(rows).tolist() == [1, 0, 1]  # target and compute share one network
    x = torch.randint(20, 40, (6, 12))
    route = [2, 0, 1, 0, 2, 1]
    for row, e in enumerate(route):
        x[row, 1] = keywords[e]
    logits = model(x).logits  # [6, 12, V]
    assert model.expert_of(x).tolist() == route
    for row, e in enumerate(route):  # the row's own network alone, nothing shared
        alone = model.experts[e](x[row : row + 1], None, None, None)[..., : model.config.vocab_size]
        assert torch.allclose(logits[row : row + 1], alone, atol=1e-6)
    cache = KVCache()
    assert torch.allclose(model(x, cache=cache).logits, logits, atol=1e-6)
    cache.window = (8, 12)  # a window against the recorded keys: the full pass's logits there
    assert torch.allclose(model(x, cache=cache).logits, logits[:, 8:12], atol=1e-5)
    io.save(model, tok, tmp_path)  # the experts and their keywords survive a save and load
    loaded, _ = io.load(tmp_path)
    assert loaded.config.expert_tokens == model.config.expert_tokens
    assert torch.allclose(loaded.eval()(x).logits, logits, atol=1e-6)
    x[0, 1] = 25  # no keyword: no network to run
    with pytest.raises(ValueError, match="none of the expert tokens"):
        model(x)
    with pytest.raises(ValueError, match="not words of the tiny tokenizer"):
        io.build_scratch({**dims, "experts": ["sudoku", "zebra"]})
