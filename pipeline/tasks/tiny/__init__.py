"""Tiny generated tasks (seeded Sudoku, Countdown, arithmetic): small enough that the whole DAG runs on a laptop.

Each registered module (``sudoku``, ``countdown``, ``arithmetic``) holds one task and its ``OPTIONS``;
``common`` has the seeded train/test generator they share, ``arith_trace`` the expression evaluator
and the step-by-step traces.
"""
