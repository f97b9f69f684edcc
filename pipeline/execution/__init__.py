"""Isolated execution of untrusted, model-written programs (code rewards and scoring).

See ``pipeline.execution.sandbox`` for the isolation layers and their limits.
"""

from pipeline.execution.sandbox import ExecResult, Limits, fallback_reason, isolation_mode, run_program, run_programs

__all__ = ["ExecResult", "Limits", "fallback_reason", "isolation_mode", "run_program", "run_programs"]
