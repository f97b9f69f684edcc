import random
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


@pytest.fixture(scope="session")
def tiny():
    """A small randomly initialised LLaDA model and the tiny tokenizer."""
    from pipeline.model import io

    torch.manual_seed(0)
    model, tok = io.build_scratch({"d_model": 32, "n_layers": 2, "n_heads": 4, "mlp_hidden_size": 64})
    return model.eval(), tok


@pytest.fixture
def rng():
    return random.Random(0)
