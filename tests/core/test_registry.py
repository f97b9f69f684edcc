"""Component options are read from source without importing (params validation loads no torch):
what is read must be what the module holds."""

import importlib

import pytest

from pipeline.core.registry import options_schema
from pipeline.rl import METHODS
from pipeline.sampling import SAMPLERS
from pipeline.tasks import TASKS

COMPONENTS = [(reg, name) for reg in (METHODS, SAMPLERS, TASKS) for name in reg]


@pytest.mark.parametrize("registry, name", COMPONENTS, ids=[name for _, name in COMPONENTS])
def test_the_schema_read_from_source_is_the_modules_options(registry, name):
    module = importlib.import_module(registry[name].partition(":")[0])
    assert options_schema(registry, name)["properties"] == getattr(module, "OPTIONS", {})


def test_a_shared_entry_imported_by_name_is_inlined():
    # the samplers and both RL methods share one cache option, imported from pipeline.sampling.base
    from pipeline.sampling.base import CACHE_OPTION

    for registry, name in [(SAMPLERS, "threshold"), (METHODS, "diffu_grpo")]:
        key = "cache" if registry is SAMPLERS else "rollout_cache"
        assert options_schema(registry, name)["properties"][key] == CACHE_OPTION
