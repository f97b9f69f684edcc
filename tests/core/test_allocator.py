"""The allocator settings are applied at import on glibc, and can be switched off."""

import os
import subprocess
import sys

import pytest

from pipeline.core import allocator

glibc = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")


@glibc
def test_set_on_import_and_switched_off_by_env():
    code = "import pipeline.core.allocator as a; print(a.keep_freed_memory())"
    for value, expected in ((None, "True"), ("default", "False")):
        env = {k: v for k, v in os.environ.items() if k != "PIPELINE_MALLOC"}
        if value:
            env["PIPELINE_MALLOC"] = value
        out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
        assert out.stdout.strip() == expected


def test_thresholds_within_glibc_limits():
    # glibc refuses an mmap threshold above 32 MB on 64-bit (mallopt returns 0: nothing set)
    assert allocator.MMAP <= 32 << 20
    assert allocator.TRIM >= allocator.MMAP
