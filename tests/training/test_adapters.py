"""LoRA (peft) and gradient checkpointing: what is trained, what is saved, and the KL reference."""

import copy

import torch

from pipeline.core.tracking import NullRun
from pipeline.model import io
from pipeline.tasks import get_task
from pipeline.training.adapters import AdapterDisabled, load_trainable, prepare_trainable, reference_of
from pipeline.training.batches import EncodedExamples
from pipeline.training.distributed import Processes, save_trained
from pipeline.training.trainer import train_masked_diffusion
from tests.helpers import CPU, run_few_rl_steps, tiny_rl_config

LORA = {"r": 4, "alpha": 8, "dropout": 0.0, "targets": ["q_proj", "k_proj", "v_proj", "up_proj"]}
SFT = {
    "steps": 3,
    "batch_size": 4,
    "micro_batch": 4,
    "lr": 1e-2,
    "lr_schedule": "constant",
    "warmup_steps": 1,
    "weight_decay": 0.1,
    "grad_clip": 1.0,
    "eps": 1e-3,
    "train_lengths": [16],
    "seed": 0,
    "lora": LORA,
    "gradient_checkpointing": False,
}


def _model():
    torch.manual_seed(0)
    return io.build_scratch({"d_model": 32, "n_layers": 2, "n_heads": 4, "mlp_hidden_size": 64})


def _enc(tok):
    task = get_task("tiny_arithmetic", seed=0)
    return EncodedExamples(tok, {"t": task}, {"t": task.load("train", 16)}, target_format="answer")


def test_lora_trains_float32_adapters_only_and_saves_adapter_and_merged_weights(tmp_path):
    model, tok = _model()
    base = {k: v.clone() for k, v in model.state_dict().items()}
    peft_model = prepare_trainable(model, SFT)
    trainable = {n: p for n, p in peft_model.named_parameters() if p.requires_grad}
    assert trainable and all("lora_" in n and p.dtype == torch.float32 for n, p in trainable.items())
    assert sum(p.numel() for p in trainable.values()) == 2 * sum(4 * (32 + out) for out in (32, 32, 32, 64))
    train_masked_diffusion(peft_model, _enc(tok), SFT, NullRun(), "sft", Processes(CPU))
    for name, p in peft_model.named_parameters():
        if not p.requires_grad:  # the frozen base did not move
            key = name.removeprefix("base_model.model.").replace(".base_layer", "")
            assert torch.equal(p, base[key]), name
    x = torch.randint(5, len(tok), (2, 12))
    with torch.no_grad():
        adapted = peft_model(x).logits
    save_trained(Processes(CPU), peft_model, tok, tmp_path, CPU)
    assert (tmp_path / "adapter" / "adapter_config.json").exists()
    merged, _ = io.load(tmp_path)
    with torch.no_grad():
        assert torch.allclose(merged(x).logits, adapted, atol=1e-5)
        assert not torch.allclose(merged(x).logits, _model()[0](x).logits, atol=1e-3)  # the adapters were merged in


def test_a_bf16_lora_run_loads_its_frozen_base_in_bf16_and_trains_float32_adapters(tmp_path):
    model, tok = _model()
    io.save(model, tok, tmp_path / "init")
    bf16 = {**CPU, "dtype": "bfloat16"}
    full, _ = load_trainable(tmp_path / "init", {**SFT, "lora": None}, "cpu", bf16)
    assert {p.dtype for p in full.parameters()} == {torch.float32}  # full FT: float32 master weights
    peft_model, _ = load_trainable(tmp_path / "init", SFT, "cpu", bf16)
    dtypes = {("lora_" in n, p.dtype) for n, p in peft_model.named_parameters()}
    assert dtypes == {(False, torch.bfloat16), (True, torch.float32)}  # 2 B per frozen parameter, not 4
    adapters = {n: p.detach().clone() for n, p in peft_model.named_parameters() if p.requires_grad}
    train_masked_diffusion(peft_model, _enc(tok), SFT, NullRun(), "sft", Processes(bf16))
    assert all(not torch.equal(p, adapters[n]) for n, p in peft_model.named_parameters() if p.requires_grad)
    x = torch.randint(5, len(tok), (2, 12))
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        adapted = peft_model(x).logits.float()
    save_trained(Processes(bf16), peft_model, tok, tmp_path / "out", bf16)  # merged into the bf16 base
    (merged, _), (init, _) = io.load(tmp_path / "out"), io.load(tmp_path / "init")
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        assert (merged(x).logits.float() - adapted).abs().max() < 0.01  # the merge's bf16 rounding (0.002)
        assert (init(x).logits.float() - adapted).abs().max() > 0.05  # what the adapters moved (0.1)
    as_fp32, _ = load_trainable(tmp_path / "init", SFT, "cpu", CPU)  # a float32 run keeps a float32 base
    assert {p.dtype for p in as_fp32.parameters()} == {torch.float32}


def test_kl_reference_under_lora_is_the_base_with_adapters_off_not_a_copy():
    model, tok = _model()
    x = torch.randint(5, len(tok), (2, 12))
    with torch.no_grad():
        before = model(x).logits
    peft_model = prepare_trainable(model, {"lora": LORA})
    with torch.no_grad():  # make the adapters matter
        for n, p in peft_model.named_parameters():
            if "lora_B" in n:
                p.normal_(0, 0.5)
    ref = reference_of(peft_model)
    assert isinstance(ref, AdapterDisabled) and ref.peft_model is peft_model  # no second copy of the weights
    with torch.no_grad():
        assert torch.equal(ref(x).logits, before)
        assert not torch.allclose(peft_model(x).logits, before, atol=1e-3)


def test_diffu_grpo_with_lora_and_kl_runs_and_moves_only_adapters(tiny):
    rl = {
        **tiny_rl_config({"mu": 2, "beta": 0.04, "clip_eps": 0.5, "p_mask_prompt": 0.15, "temperature": 1.0}),
        "lora": LORA,
        "gradient_checkpointing": True,
    }
    model, tok = copy.deepcopy(tiny[0]), tiny[1]
    peft_model = prepare_trainable(model, rl)
    adapters = {n: p.detach().clone() for n, p in peft_model.named_parameters() if p.requires_grad}
    _, _, trained = run_few_rl_steps((peft_model, tok), "diffu_grpo", rl)
    now = dict(trained.named_parameters())
    assert any(not torch.equal(now[n], v) for n, v in adapters.items())


def test_gradient_checkpointing_gives_the_same_gradients():
    model, tok = _model()
    model = model.double()
    x = torch.randint(5, len(tok), (2, 12))
    grads = []
    for ckpt in (False, True):
        m = copy.deepcopy(model)
        if ckpt:
            m.gradient_checkpointing_enable()
        m.train()
        m(x).logits.square().mean().backward()
        grads.append([p.grad for p in m.parameters()])
    for a, b in zip(*grads):
        assert torch.allclose(a, b, rtol=1e-10, atol=1e-14)
