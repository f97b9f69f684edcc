"""Argument parsing and stage start-up shared by every ``python -m pipeline.<stage>`` entry point."""
from __future__ import annotations

import argparse
import sys

from pipeline.config import ParamsError, load_params


def parser(description: str) -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--params", default="params.yaml", help="params file (validated before anything runs)")
    ap.add_argument("--log", default=None, help="also write progress lines to this file")
    return ap


def load_or_exit(path: str) -> dict:
    try:
        return load_params(path)
    except ParamsError as e:
        sys.exit(f"error: {e}")
