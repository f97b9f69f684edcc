"""Resolving a name in one of the plain-dict registries (tasks, samplers, RL methods, analyses).

Each registry maps a name to "module:attribute" (or just "module") so that listing a component
costs no import; an unknown name raises an error listing the known ones.
"""
from __future__ import annotations

import importlib


def check(registry: dict[str, str], name: str, kind: str, plural: str | None = None) -> None:
    """Raise the error listing the known names when ``name`` is not registered; imports nothing."""
    if name not in registry:
        raise KeyError(f"unknown {kind} {name!r}; known {plural or kind + 's'}: {', '.join(sorted(registry))}")


def resolve(registry: dict[str, str], name: str, kind: str, plural: str | None = None):
    check(registry, name, kind, plural)
    module, _, attr = registry[name].partition(":")
    loaded = importlib.import_module(module)
    return getattr(loaded, attr) if attr else loaded
