"""model.prompt_width: a prompt gets the same left padding in training (mixed with longer prompts),
in RL rollouts and in evaluation (one task per batch), and the width travels in the saved config."""

import random

import torch

from pipeline.decoding.problems import generate_texts
from pipeline.model import io
from pipeline.sampling import Decoding, get_sampler
from pipeline.tasks import get_task
from pipeline.training.batches import EncodedExamples, left_pad, sft_batch

MODEL = {"d_model": 16, "n_layers": 1, "n_heads": 2, "mlp_hidden_size": 32}


def test_left_pad_takes_the_longest_row_or_min_width_whichever_is_more():
    ids, valid = left_pad([[5, 6], [7]], pad_id=0, min_width=4)
    assert ids.tolist() == [[0, 0, 5, 6], [0, 0, 0, 7]]
    assert valid.tolist() == [[0, 0, 1, 1], [0, 0, 0, 1]]
    assert left_pad([[5, 6, 7]], pad_id=0, min_width=2)[0].tolist() == [[5, 6, 7]]  # never truncates
    assert left_pad([[5]], pad_id=0, width=3)[0].tolist() == [[0, 0, 5]]  # min_width 0: as before


def _examples():
    tasks = {n: get_task(n, seed=0) for n in ("tiny_sudoku", "tiny_arithmetic")}
    return tasks, {n: t.load("train", 8) for n, t in tasks.items()}


def test_an_arithmetic_prompt_is_padded_alike_in_a_mixed_batch_and_alone():
    _, tok = io.build_scratch(MODEL)
    tasks, examples = _examples()
    enc = EncodedExamples(tok, tasks, examples, target_format="answer")
    longest = max(len(enc.prompt_ids(t, i)) for t in tasks for i in range(8))
    width = longest + 3
    alone = [("tiny_arithmetic", 0)]
    mixed = [("tiny_sudoku", 0), ("tiny_arithmetic", 0)]
    _, _, p_alone = sft_batch(enc, alone, [32], random.Random(0))
    _, _, p_mixed = sft_batch(enc, mixed, [32], random.Random(0))
    assert p_alone < p_mixed  # without prompt_width the pad count depends on the batch's company
    x_alone, _, p1 = sft_batch(enc, alone, [32], random.Random(0), prompt_width=width)
    x_mixed, _, p2 = sft_batch(enc, mixed, [32], random.Random(0), prompt_width=width)
    assert p1 == p2 == width and torch.equal(x_alone[0], x_mixed[1])


def test_evaluation_pads_to_the_saved_models_prompt_width(tmp_path):
    torch.manual_seed(0)
    model, tok = io.build_scratch({**MODEL, "prompt_width": 40})
    io.save(model, tok, tmp_path / "m")
    model, tok = io.load(tmp_path / "m")
    assert io.prompt_width(model) == 40
    seen = []

    def spy(model_, prompt, spec, generator=None):
        seen.append(prompt.shape[1])
        return get_sampler("low_confidence")(model_, prompt, spec, generator=generator)

    task = get_task("tiny_arithmetic", seed=0)
    spec = Decoding(tok.mask_token_id, 8, 8, steps=4)
    generate_texts(model.eval(), tok, task, task.load("test", 4), spy, spec, batch_size=4)
    assert seen == [40]


def test_the_width_is_read_through_a_wrapper_and_is_0_without_the_field():
    model, _ = io.build_scratch({**MODEL, "prompt_width": 24})
    wrapped = type("DDPLike", (), {"module": model})()  # DDP keeps the model as .module
    assert io.prompt_width(wrapped) == 24
    del model.config.prompt_width  # as LLaDA-8B-Instruct's config.json
    assert io.prompt_width(model) == 0
