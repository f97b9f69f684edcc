"""Resolving a name in one of the plain-dict registries (tasks, samplers, RL methods, analyses, stages).

Each registry maps a name to "module:attribute" (or just "module") so that listing a component
costs no import; an unknown name raises an error listing the known ones.

A component's params options are declared in its module as a literal ``OPTIONS`` dict: option
name -> JSON Schema (type, range, ``description``; an option with a ``default`` may be left out of
params). :func:`options_schema` reads it from the source without importing the module, so
validating params -- which Snakemake does every time it reads the workflow -- loads no torch.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
from pathlib import Path


def check(registry: dict[str, str], name: str, kind: str, plural: str | None = None) -> None:
    """Raise the error listing the known names when ``name`` is not registered; imports nothing."""
    if name not in registry:
        raise KeyError(f"unknown {kind} {name!r}; known {plural or kind + 's'}: {', '.join(sorted(registry))}")


def resolve(registry: dict[str, str], name: str, kind: str, plural: str | None = None):
    check(registry, name, kind, plural)
    module, _, attr = registry[name].partition(":")
    loaded = importlib.import_module(module)
    return getattr(loaded, attr) if attr else loaded


def _module_literal(module: str, name: str, owner: str):
    """The literal value of ``module``'s top-level ``name``, read from its source (no import).

    The value may use names that are themselves such literals, defined in the module or imported
    into it with ``from X import NAME`` (e.g. an option entry shared by several samplers)."""
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.origin:
        raise ImportError(f"module {module!r} of registered component {owner!r} not found")
    tree = ast.parse(Path(spec.origin).read_text(encoding="utf-8"), spec.origin)
    assigned, imported = {}, {}
    for node in tree.body:
        target = (
            node.target
            if isinstance(node, ast.AnnAssign)
            else (node.targets[0] if isinstance(node, ast.Assign) else None)
        )
        if isinstance(target, ast.Name) and node.value is not None:
            assigned[target.id] = node.value
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.update({a.asname or a.name: (node.module, a.name) for a in node.names})

    def value(name: str):
        if name in assigned:
            return ast.literal_eval(Inline().visit(assigned[name]))
        if name in imported:
            return _module_literal(*imported[name], owner)
        raise ValueError(f"{module}: {name!r} is not a literal of the module or its imports")

    class Inline(ast.NodeTransformer):
        def visit_Name(self, node):  # a name inside a literal: replaced by its literal value
            return ast.Constant(value(node.id))

    return value(name) if name in assigned or name in imported else None


def options_schema(registry: dict[str, str], name: str) -> dict:
    """JSON Schema of component ``name``'s params section, from its module's ``OPTIONS`` literal."""
    options = _module_literal(registry[name].partition(":")[0], "OPTIONS", name) or {}
    return {
        "type": "object",
        "additionalProperties": False,
        "required": [k for k, v in options.items() if "default" not in v],
        "properties": options,
    }


def with_defaults(options_schema: dict, given: dict) -> dict:
    """A component's options: ``given`` (its params section) over the ``default`` of each OPTIONS entry."""
    return {**{k: v["default"] for k, v in options_schema.items() if "default" in v}, **given}
