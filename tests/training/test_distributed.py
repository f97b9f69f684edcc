"""Two processes (gloo, CPU) train to the same parameters as one process with the same global batch:
SFT and both RL methods, in float64."""

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[2]
WORKER = Path(__file__).with_name("distributed_worker.py")
ENV = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


KINDS = ["sft", "diffu_grpo", "just_grpo"]


def _train(processes: int, out: Path) -> dict[str, dict]:
    """Every kind's final parameters after one launch of ``processes`` processes."""
    out.mkdir()
    if processes == 1:
        cmd = [sys.executable, str(WORKER)]
    else:
        accelerate = str(Path(sys.executable).parent / "accelerate")
        cmd = [
            accelerate,
            "launch",
            "--multi_gpu",
            "--num_processes",
            str(processes),
            "--num_machines",
            "1",
            "--mixed_precision",
            "no",
            "--dynamo_backend",
            "no",
            "--main_process_port",
            str(_free_port()),
            str(WORKER),
        ]
    res = subprocess.run([*cmd, str(out), *KINDS], cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr[-3000:]
    return {kind: torch.load(out / f"{kind}.pt") for kind in KINDS}


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """(one process, two processes): each kind's parameters."""
    tmp = tmp_path_factory.mktemp("distributed")
    return _train(1, tmp / "one"), _train(2, tmp / "two")


@pytest.mark.slow
@pytest.mark.parametrize("kind", KINDS)
def test_two_processes_match_one(kind, trained):
    one, two = (side[kind] for side in trained)
    start = _train_start()
    moved = 0
    for name, a in one.items():
        b = two[name]
        # float64 end to end except the float32 loss casts: 1e-6 relative is far above their rounding
        assert torch.allclose(a, b, rtol=1e-6, atol=1e-9), f"{kind}: {name} differs by {(a - b).abs().max():.2e}"
        moved += not torch.equal(a, start[name])
    assert moved == len(one)  # training moved every tensor: the comparison is not of two untouched models


def _train_start() -> dict:
    from pipeline.model import io

    torch.manual_seed(0)
    model, _ = io.build_scratch({"d_model": 32, "n_layers": 2, "n_heads": 4, "mlp_hidden_size": 64})
    return {k: v.double() for k, v in model.state_dict().items()}


def test_a_sharded_runtime_refuses_what_it_would_get_wrong(monkeypatch):
    from pipeline.training import distributed
    from tests.helpers import CPU

    procs = distributed.Processes(CPU)
    procs.sharded = True  # as under FSDP: LoRA merging and main-process-only selection would break
    model = torch.nn.Linear(2, 2)
    opt = torch.optim.AdamW(model.parameters())
    monkeypatch.setattr(distributed, "is_lora", lambda m: True)  # a LoRA model
    with pytest.raises(SystemExit, match="LoRA"):
        procs.prepare(model, opt, select=False)
    monkeypatch.setattr(distributed, "is_lora", lambda m: False)
    with pytest.raises(SystemExit, match="select"):
        procs.prepare(model, opt, select=True)
    procs.sharded = False
    monkeypatch.setattr(distributed, "is_lora", lambda m: True)
    wrapped, _ = procs.prepare(model, opt, select=True)  # one CPU process: nothing to refuse
    assert procs.wrapped is wrapped
