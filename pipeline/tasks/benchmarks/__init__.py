"""The papers' benchmarks on their real data: GSM8K, MATH-500, Countdown, Sudoku (d1) and
HumanEval, MBPP (JustGRPO); and s1K, d1's SFT set (``s1k``: train and validation only, no verifier).
All of them load their files and hub sources through ``datasets`` (see ``base``).

A benchmark module says where its examples come from and which protocols it supports; a
protocol (:class:`pipeline.tasks.benchmarks.base.Protocol`) is one paper's way of posing and
grading it, chosen once when the task is built. ``base`` holds what all benchmarks share,
``code`` the base of the two code benchmarks. The graders themselves live in
:mod:`pipeline.tasks.grading`.
"""
