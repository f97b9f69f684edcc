import os
import random
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

#: the real benchmark files (laid out like ../shared/data); $PIPELINE_DATA_DIR points elsewhere
DATA_DIR = Path(os.environ.get("PIPELINE_DATA_DIR", ROOT.parent / "shared" / "data"))


def pytest_collection_modifyitems(config, items):
    """Tests under tests/workflow run whole DAGs in subprocesses: the slow tier (``-m "not slow"`` skips it)."""
    for item in items:
        if "workflow" in Path(str(item.fspath)).parts:
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The benchmark data folder; tests that need it skip (saying where they looked) when it is absent."""
    if not DATA_DIR.is_dir():
        pytest.skip(f"benchmark data not found at {DATA_DIR} (set PIPELINE_DATA_DIR or provide ../shared/data)")
    return DATA_DIR


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
