"""Checkpoint selection on the validation split held out of train, never on the test split."""

import json

import pytest
import torch

from pipeline.core.tracking import NullRun
from pipeline.model import io
from pipeline.tasks import get_task, split_examples
from pipeline.tasks.splits import prepared_splits
from pipeline.training.batches import EncodedExamples
from pipeline.training.distributed import Processes
from pipeline.training.selection import CheckpointSelection
from pipeline.training.trainer import train_masked_diffusion
from tests.helpers import CPU

SELECT = {"every": 1, "n_problems": 4, "gen_length": 16, "block_length": 16, "steps_ratio": 0.5, "batch_size": 4}
SFT = {
    "steps": 3,
    "batch_size": 4,
    "micro_batch": 4,
    "lr": 1e-2,
    "lr_schedule": "constant",
    "warmup_steps": 1,
    "weight_decay": 0.0,
    "grad_clip": 1.0,
    "eps": 1e-3,
    "train_lengths": [16],
    "seed": 0,
    "lora": None,
    "gradient_checkpointing": False,
}


def test_validation_is_held_out_of_train_and_none_leaves_train_as_it_was():
    task = get_task("tiny_arithmetic", seed=0, n_test=8)
    splits = prepared_splits(task, 40, 8, 5, seed=0)
    train_prompts = {ex["prompt"] for ex in splits["train"]}
    assert len(splits["validation"]) == 5 and len(splits["train"]) <= 35
    assert not train_prompts & {ex["prompt"] for ex in splits["validation"]}
    assert not train_prompts & {ex["prompt"] for ex in splits["test"]}
    assert prepared_splits(task, 40, 8, 0, seed=0)["train"] == split_examples(task, "train", 40)


def test_a_task_without_train_data_gets_an_empty_validation_split(data_dir):
    humaneval = get_task("humaneval", data_dir=data_dir)  # evaluation only: no train split
    splits = prepared_splits(humaneval, 10, 3, 5, seed=0)
    assert splits["train"] == [] and splits["validation"] == [] and len(splits["test"]) == 3


def test_the_best_validation_checkpoint_becomes_the_output(tmp_path):
    torch.manual_seed(0)
    model, tok = io.build_scratch({"d_model": 32, "n_layers": 2, "n_heads": 4, "mlp_hidden_size": 64})
    task = get_task("tiny_arithmetic", seed=0)
    enc = EncodedExamples(tok, {"t": task}, {"t": task.load("train", 16)}, target_format="answer")
    selection = CheckpointSelection(SELECT, {"t": task}, {"t": task.load("test", 4)}, tok, tmp_path, Processes(CPU))
    real = selection.score(model)  # the real scorer decodes validation problems: accuracy in %
    assert set(real) == {"t"} and 0.0 <= real["t"] <= 100.0
    scripted, snapshots = iter([10.0, 30.0, 20.0]), []

    def score(m, only=None):
        snapshots.append({n: p.detach().clone() for n, p in m.named_parameters()})
        return {"t": next(scripted)}

    selection.score = score
    train_masked_diffusion(model, enc, SFT, NullRun(), "sft", Processes(CPU), selection)
    assert all(torch.equal(p, snapshots[1][n]) for n, p in model.named_parameters())  # step 2 scored best
    assert not all(torch.equal(p, snapshots[2][n]) for n, p in model.named_parameters())
    record = json.loads((tmp_path / "selection.json").read_text())
    assert record["chosen_step"] == 2 and record["on"] == "validation split" and len(record["checkpoints"]) == 3


def _scripted_selection(tmp_path, select, scores):
    torch.manual_seed(0)
    model, tok = io.build_scratch({"d_model": 32, "n_layers": 2, "n_heads": 4, "mlp_hidden_size": 64})
    task, other = get_task("tiny_arithmetic", seed=0), get_task("tiny_countdown", seed=0)
    tasks = {"t": task, "u": other}
    enc = EncodedExamples(tok, tasks, {n: t.load("train", 16) for n, t in tasks.items()}, target_format="answer")
    validation = {n: t.load("test", 4) for n, t in tasks.items()}
    selection = CheckpointSelection(select, tasks, validation, tok, tmp_path, Processes(CPU))
    scripted, snapshots = iter(scores), []

    def score(m, only=None):
        snapshots.append({n: p.detach().clone() for n, p in m.named_parameters()})
        return {name: next(scripted) for name in selection.validation}

    selection.score = score
    return model, enc, selection, snapshots


def test_stop_at_ends_training_at_the_first_step_every_target_is_reached(tmp_path):
    select = {**SELECT, "stop_at": {"t": 25.0}}
    model, enc, selection, snapshots = _scripted_selection(tmp_path, select, [10.0, 30.0, 50.0])
    assert set(selection.validation) == {"t"}  # only the named task is scored
    out = train_masked_diffusion(model, enc, {**SFT, "steps": 10}, NullRun(), "pretrain", Processes(CPU), selection)
    assert out["steps"] == 2 and len(snapshots) == 2  # step 2 scored 30 >= 25: no third step
    assert all(torch.equal(p, snapshots[1][n]) for n, p in model.named_parameters())
    record = json.loads((tmp_path / "selection.json").read_text())
    assert record["rule"] == "stop_at" and record["reached"] and record["chosen_step"] == 2


def test_stop_at_keeps_the_previous_check_when_the_reaching_one_overshoots_more(tmp_path):
    model, enc, selection, snapshots = _scripted_selection(tmp_path, {**SELECT, "stop_at": {"t": 55}}, [10, 50, 70])
    out = train_masked_diffusion(model, enc, {**SFT, "steps": 10}, NullRun(), "pretrain", Processes(CPU), selection)
    assert out["steps"] == 3  # 70 reaches 55 at step 3, but step 2's 50 is closer (5 vs 15)
    assert all(torch.equal(p, snapshots[1][n]) for n, p in model.named_parameters())
    assert json.loads((tmp_path / "selection.json").read_text())["chosen_step"] == 2


def test_stop_at_not_reached_keeps_the_last_step_and_says_so(tmp_path):
    model, enc, selection, snapshots = _scripted_selection(tmp_path, {**SELECT, "stop_at": {"t": 90}}, [10.0] * 3)
    out = train_masked_diffusion(model, enc, SFT, NullRun(), "pretrain", Processes(CPU), selection)
    assert out["steps"] == 3 and len(snapshots) == 3
    record = json.loads((tmp_path / "selection.json").read_text())
    assert not record["reached"] and record["chosen_step"] == "last"


def test_stop_at_must_name_the_stages_tasks():
    from pipeline.core.config import ParamsError, load_params, validate_params

    params = load_params("params.yaml")
    params["data"]["n_validation"] = 8
    for select, message in [
        ({**SELECT, "stop_at": {"gsm8k": 50}}, "pretrain: select.stop_at names gsm8k"),
        ({**SELECT, "near": {"within": 10, "every": 1}}, "pretrain: select.near only applies with select.stop_at"),
    ]:
        params["pretrain"]["select"] = select
        try:
            validate_params(params, "test")
        except ParamsError as err:
            assert message in str(err)
        else:
            raise AssertionError(f"{select} passed validation")


def test_near_the_target_checks_come_sooner(tmp_path):
    select = {**SELECT, "every": 4, "stop_at": {"t": 55}, "near": {"within": 10, "every": 1}}
    model, enc, selection, snapshots = _scripted_selection(tmp_path, select, [10, 47, 52, 60])
    out = train_masked_diffusion(model, enc, {**SFT, "steps": 20}, NullRun(), "pretrain", Processes(CPU), selection)
    # checks at steps 4 and 8 (47: within 10 of 55), then every step: 9 (52), 10 (60 reaches 55)
    assert [c["step"] for c in selection.scores] == [4, 8, 9, 10] and out["steps"] == 10
    assert json.loads((tmp_path / "selection.json").read_text())["chosen_step"] == 9  # 52 is closer than 60
    assert all(torch.equal(p, snapshots[2][n]) for n, p in model.named_parameters())


def test_sudoku_validation_puzzles_come_from_their_own_grids():
    task = get_task("tiny_sudoku", seed=0)
    splits = prepared_splits(task, 200, 20, 30, seed=0)
    grids = {split: {ex["answer"] for ex in rows} for split, rows in splits.items()}
    assert len(splits["validation"]) == 30 and len(splits["train"]) == 200  # nothing held out of train
    assert not grids["validation"] & (grids["train"] | grids["test"])


def _expert_selection(tmp_path, select, scores):
    """Two tasks, each with a network of its own (model.experts), and scripted validation scores."""
    torch.manual_seed(0)
    dims = {"d_model": 32, "n_layers": 2, "n_heads": 4, "mlp_hidden_size": 64, "experts": ["compute", "target"]}
    model, tok = io.build_scratch(dims)
    tasks = {"t": get_task("tiny_arithmetic", seed=0), "u": get_task("tiny_countdown", seed=0)}
    enc = EncodedExamples(tok, tasks, {n: t.load("train", 16) for n, t in tasks.items()}, target_format="answer")
    validation = {n: t.load("test", 4) for n, t in tasks.items()}
    selection = CheckpointSelection(select, tasks, validation, tok, tmp_path, Processes(CPU))
    scripted, scored = iter(scores), []

    def score(m, only=None):
        active = [n for n in selection.validation if n not in selection.finished and (only is None or n in only)]
        out = {name: next(scripted) for name in active}
        scored.append((sorted(out), {n: p.detach().clone() for n, p in m.named_parameters()}))
        return out

    selection.score = score
    return model, enc, selection, scored


def test_stop_each_freezes_a_task_at_its_target_while_the_others_train_on(tmp_path):
    select = {**SELECT, "stop_at": {"t": 25.0, "u": 40.0}, "stop_each": True}
    # t reaches 25 at step 2; u reaches 40 at step 4; t is not scored after its stop
    model, enc, selection, scored = _expert_selection(tmp_path, select, [10, 5, 30, 20, 30, 45])
    out = train_masked_diffusion(model, enc, {**SFT, "steps": 10}, NullRun(), "pretrain", Processes(CPU), selection)
    assert out["steps"] == 4 and [names for names, _ in scored] == [["t", "u"], ["t", "u"], ["u"], ["u"]]
    at_stop = scored[1][1]  # the weights scored at step 2, when t stopped
    t_net = [n for n in at_stop if n.startswith("experts.0.")]
    u_net = [n for n in at_stop if n.startswith("experts.1.")]
    params = dict(model.named_parameters())
    assert all(torch.equal(params[n], at_stop[n]) for n in t_net)  # t's network did not move after its stop
    assert not all(torch.equal(params[n], at_stop[n]) for n in u_net)  # u's trained on
    record = json.loads((tmp_path / "selection.json").read_text())
    assert record["rule"] == "stop_each" and record["stopped_at"] == {"t": 2, "u": 4} and record["chosen_step"] == 4


def test_stop_each_under_a_weight_average_outputs_the_weights_each_stop_scored(tmp_path):
    # the checks score the average, and the raw weights come back after each check: a stopped network's
    # average would drift to its raw weights while the other network trains on, unless the stop is kept
    select = {**SELECT, "stop_at": {"t": 25.0, "u": 40.0}, "stop_each": True}
    model, enc, selection, scored = _expert_selection(tmp_path, select, [10, 5, 30, 20, 30, 45])
    cfg = {**SFT, "steps": 10, "ema_decay": 0.5}
    train_masked_diffusion(model, enc, cfg, NullRun(), "pretrain", Processes(CPU), selection)
    params = dict(model.named_parameters())
    for net, step in (("experts.0.", 2), ("experts.1.", 4)):  # t stopped at step 2, u at step 4
        kept = scored[step - 1][1]
        assert all(torch.equal(params[n], kept[n]) for n in kept if n.startswith(net)), f"{net} not step {step}'s"
    assert not list(tmp_path.glob("kept_*.pt"))


def test_stop_each_needs_experts():
    from pipeline.core.config import ParamsError, load_params, validate_params

    params = load_params("params.yaml")
    params["model"]["experts"] = None
    params["pretrain"]["select"] = {**params["pretrain"]["select"], "stop_each": True}
    with pytest.raises(ParamsError, match="select.stop_each needs select.stop_at and model.experts"):
        validate_params(params, "test")


def test_stop_each_checks_a_task_near_its_target_sooner_and_the_others_at_the_usual_interval(tmp_path):
    select = {**SELECT, "every": 4, "stop_at": {"t": 25.0, "u": 40.0}, "stop_each": True}
    select["near"] = {"within": 10, "every": 2}
    # step 4: t 20 (near), u 5; step 6: t alone, 22; step 8: both, t 26 stops, u 12; step 12: u 45 stops
    model, enc, selection, scored = _expert_selection(tmp_path, select, [20, 5, 22, 26, 12, 45])
    out = train_masked_diffusion(model, enc, {**SFT, "steps": 20}, NullRun(), "pretrain", Processes(CPU), selection)
    assert [c["step"] for c in selection.scores] == [4, 6, 8, 12] and out["steps"] == 12
    assert [names for names, _ in scored] == [["t", "u"], ["t"], ["t", "u"], ["u"]]


def test_stop_each_a_task_without_a_target_trains_to_the_last_step(tmp_path):
    select = {**SELECT, "stop_at": {"t": 25.0}, "stop_each": True}
    model, enc, selection, scored = _expert_selection(tmp_path, select, [10, 30])
    out = train_masked_diffusion(model, enc, {**SFT, "steps": 5}, NullRun(), "pretrain", Processes(CPU), selection)
    assert out["steps"] == 5 and [names for names, _ in scored] == [["t"], ["t"]]  # u is never scored
    record = json.loads((tmp_path / "selection.json").read_text())
    assert record["reached"] and record["stopped_at"] == {"t": 2} and record["chosen_step"] == "last"


def test_n_validation_per_task_holds_out_only_what_the_named_tasks_need():
    from pipeline.core.config import ParamsError, load_params, validate_params, validation_size

    data = {"n_validation": {"tiny_sudoku": 64}}
    assert validation_size(data, "tiny_sudoku") == 64 and validation_size(data, "tiny_countdown") == 0
    assert validation_size({"n_validation": 8}, "tiny_countdown") == 8
    task = get_task("tiny_arithmetic", seed=0, n_test=8)
    untouched = prepared_splits(task, 40, 8, validation_size(data, task.name), seed=0)
    assert untouched["validation"] == [] and untouched["train"] == split_examples(task, "train", 40)
    params = load_params("params.yaml")
    params["data"]["n_validation"] = {"tiny_sudoku": 64}
    params["pretrain"]["select"] = {**SELECT, "stop_at": {"tiny_countdown": 10}}
    with pytest.raises(ParamsError, match="pretrain: select scores tiny_countdown on a validation split"):
        validate_params(params, "test")


def test_a_stage_reads_validation_only_for_the_tasks_its_target_scores(tmp_path):
    from pipeline.core.data import write_jsonl

    tasks = {"tiny_sudoku": get_task("tiny_sudoku", seed=0), "tiny_countdown": get_task("tiny_countdown", seed=0)}
    write_jsonl(tmp_path / "tiny_sudoku" / "validation.jsonl", tasks["tiny_sudoku"].load("validation", 4))
    write_jsonl(tmp_path / "tiny_countdown" / "validation.jsonl", [])  # data.n_validation held none out
    _, tok = io.build_scratch({"d_model": 32, "n_layers": 2, "n_heads": 4, "mlp_hidden_size": 64})
    select = {**SELECT, "stop_at": {"tiny_sudoku": 45}}
    selection = CheckpointSelection.for_stage(select, tasks, tmp_path, tok, tmp_path / "out", Processes(CPU))
    assert set(selection.validation) == {"tiny_sudoku"} and len(selection.validation["tiny_sudoku"]) == 4


def test_near_within_per_task_checks_only_the_named_task_sooner(tmp_path):
    from pipeline.core.config import ParamsError, load_params, validate_params

    select = {**SELECT, "every": 4, "stop_at": {"t": 25.0, "u": 40.0}, "stop_each": True}
    select["near"] = {"within": {"t": 10}, "every": 2}
    # step 4: t 20 (near: 10 points), u 35 (5 below, but u's within is 0); step 6: t alone, 22;
    # step 8: both, t 26 stops, u 38; step 12: u 41 stops
    model, enc, selection, scored = _expert_selection(tmp_path, select, [20, 35, 22, 26, 38, 41])
    out = train_masked_diffusion(model, enc, {**SFT, "steps": 20}, NullRun(), "pretrain", Processes(CPU), selection)
    assert [c["step"] for c in selection.scores] == [4, 6, 8, 12] and out["steps"] == 12
    assert [names for names, _ in scored] == [["t", "u"], ["t"], ["t", "u"], ["u"]]
    params = load_params("params.yaml")
    params["pretrain"]["select"]["near"] = {"within": {"tiny_mbpp": 5}, "every": 25}
    with pytest.raises(ParamsError, match="select.near.within names tiny_mbpp, which select.stop_at has no target"):
        validate_params(params, "test")


def test_stop_each_keeps_the_previous_check_of_a_network_whose_reaching_check_overshoots_more(tmp_path):
    select = {**SELECT, "stop_at": {"t": 25.0, "u": 40.0}, "stop_each": True}
    # t: 10, 24, 30 (reaches at step 3; step 2's 24 is closer); u: 5, 20, 38, 50 (reaches at 4; 38 is closer)
    model, enc, selection, scored = _expert_selection(tmp_path, select, [10, 5, 24, 20, 30, 38, 50])
    out = train_masked_diffusion(model, enc, {**SFT, "steps": 10}, NullRun(), "pretrain", Processes(CPU), selection)
    assert out["steps"] == 4
    params = dict(model.named_parameters())
    for net, step in (("experts.0.", 2), ("experts.1.", 3)):  # t runs on expert 0 (compute), u on 1 (target)
        kept = scored[step - 1][1]
        assert all(torch.equal(params[n], kept[n]) for n in kept if n.startswith(net)), f"{net} not step {step}'s"
    record = json.loads((tmp_path / "selection.json").read_text())
    assert record["stopped_at"] == {"t": 3, "u": 4} and record["kept_step"] == {"t": 2, "u": 3}
    assert not list(tmp_path.glob("previous_*.pt"))  # the kept weights are in the model, not left on disk


def test_stop_each_with_min_format_stops_only_once_the_answers_are_well_formed(tmp_path):
    select = {**SELECT, "stop_at": {"t": 25.0}, "stop_each": True, "min_format": 95}
    # t: 24 (format 99), 30 (format 90: not a stop, nor a candidate), 27 (format 97: stops; 24 was
    # closer, but a malformed check came between, so 27's weights are kept)
    model, enc, selection, _ = _expert_selection(tmp_path, select, [24, 30, 27])
    formats = iter([99.0, 90.0, 97.0])
    score = selection.score

    def score_with_format(m, only=None):
        out = score(m, only)
        selection.formats.update({t: next(formats) for t in out})
        return out

    selection.score = score_with_format
    out = train_masked_diffusion(model, enc, {**SFT, "steps": 10}, NullRun(), "pretrain", Processes(CPU), selection)
    record = json.loads((tmp_path / "selection.json").read_text())
    assert record["stopped_at"] == {"t": 3} and record["kept_step"] == {"t": 3} and out["steps"] == 10
