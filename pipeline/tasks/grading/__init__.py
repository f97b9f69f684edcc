"""Graders and rewards, as pure functions of completion text and gold answer.

``d1_eval`` and ``d1_rewards`` are d1's evaluation parsers and RL rewards, ``math_grading``
the math answer extraction and equivalence both papers use (d1's string ``is_equiv``,
JustGRPO's Qwen-Math extraction with math-verify), ``code`` JustGRPO's code extraction,
format reward and test execution. The benchmarks' protocols
(:mod:`pipeline.tasks.benchmarks`) combine them; nothing here knows about tasks.
"""
