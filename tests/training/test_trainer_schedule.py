"""The learning-rate schedule of the masked-diffusion trainer, against values worked out by hand."""

import math

from pipeline.training.trainer import LRSchedule


def test_warmup_then_each_decay_by_hand():
    # warmup 2 steps: factors 1/2, 1; then 8 decay steps from 1 to 0 at step 10
    assert [LRSchedule("constant", 2, 10)(s) for s in (0, 1, 5, 9)] == [0.5, 1.0, 1.0, 1.0]
    assert [LRSchedule("linear", 2, 10)(s) for s in (0, 2, 6, 10)] == [0.5, 1.0, 0.5, 0.0]
    cos = LRSchedule("cosine", 2, 10)
    assert math.isclose(cos(4), 0.5 * (1 + math.cos(math.pi / 4)))
    assert cos(6) == 0.5 * (1 + math.cos(math.pi / 2)) and cos(12) == 0.0  # past the end: stays at 0


def test_a_revised_horizon_moves_the_decay():
    sched = LRSchedule("linear", 0, 10)
    assert sched(5) == 0.5
    sched.total = 20  # the compute-matched control re-estimates its horizon while training
    assert sched(5) == 0.75
