"""Decoding a task's problems with a sampler and scoring them (evaluation and the analyses)."""
