"""Resolving a name in one of the plain-dict registries (tasks, samplers, RL methods, analyses).

Each registry maps a name to "module:attribute" (or just "module") so that listing a component
costs no import; an unknown name raises an error listing the known ones.
"""
from __future__ import annotations

import importlib


def resolve(registry: dict[str, str], name: str, kind: str, plural: str | None = None):
    if name not in registry:
        raise KeyError(f"unknown {kind} {name!r}; known {plural or kind + 's'}: {', '.join(sorted(registry))}")
    module, _, attr = registry[name].partition(":")
    loaded = importlib.import_module(module)
    return getattr(loaded, attr) if attr else loaded
