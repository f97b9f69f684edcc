"""The thread count follows other processes' load, and changing it does not change results."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest
import torch
import yaml

from pipeline.core import threads
from pipeline.core.config import ROOT
from pipeline.model import io


def test_one_and_two_threads_give_bitwise_equal_forward_and_backward():
    model_cfg = yaml.safe_load((ROOT / "params.yaml").read_text())["model"]  # the tiny default
    before = torch.get_num_threads()
    results = []
    try:
        for n in (1, 2):
            torch.set_num_threads(n)
            torch.manual_seed(0)
            model, _ = io.build_scratch(model_cfg)
            x = torch.randint(0, 20, (64, 76), generator=torch.Generator().manual_seed(1))
            logits = model(x).logits
            torch.nn.functional.cross_entropy(logits.flatten(0, 1), x.flatten()).backward()
            results.append([logits.detach(), *(p.grad for p in model.parameters())])
    finally:
        torch.set_num_threads(before)
    # with expert networks (model.experts) a network no row routes to has no gradient, at any thread count
    assert any(g is not None for g in results[0][1:])
    assert all((a is None and b is None) or torch.equal(a, b) for a, b in zip(*results))


@pytest.mark.skipif(not 2 <= len(os.sched_getaffinity(0)) <= 4, reason="sized for a 2-4 core machine")
def test_threads_give_way_to_a_busy_neighbour_and_come_back():
    cores = len(os.sched_getaffinity(0))
    before = torch.get_num_threads()
    probe = threads.ThreadBudget(1, adapt=True)
    time.sleep(0.5)
    if probe.free_cores(threads._sample(probe.cpus)) < cores - 0.5:  # e.g. a pipeline run beside the tests
        torch.set_num_threads(before)
        pytest.skip("other processes already hold a core: the come-back half needs a quiet machine")
    busy = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(cores - 1)]
    try:
        time.sleep(0.5)
        threads.install(cores, adapt=True)
        assert threads._budget.current == cores  # no waiting at the start ...
        threads.rebalance()
        assert threads._budget.current == cores  # ... nor a measurement before FIRST_S has passed
        time.sleep(threads.FIRST_S + 0.1)
        threads.rebalance()  # the first step boundary after FIRST_S measures the neighbour
        assert threads._budget.current == 1 and torch.get_num_threads() == 1
    finally:
        for p in busy:
            p.kill()
            p.wait()
    try:
        threads._budget.rebalance(force=True)  # a new window, after the neighbour is gone
        time.sleep(0.5)
        threads._budget.rebalance(force=True)
        if threads._budget.current != cores:  # a fresh window: was a core taken by someone else meanwhile?
            probe = threads.ThreadBudget(1, adapt=True)
            time.sleep(0.5)
            if probe.free_cores(threads._sample(probe.cpus)) < cores - 0.5:
                pytest.skip("another process took a core during this test: the come-back half needs a quiet machine")
        assert threads._budget.current == cores
    finally:
        threads._budget = None
        torch.set_num_threads(before)
