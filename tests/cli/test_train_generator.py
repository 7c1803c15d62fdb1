"""`ffedit train-generator` end to end on a tiny architecture with synthface's latent: an
interrupted run saves its state and exports nothing, the same command resumes it and
exports; presets it cannot distil into are refused before any data is built."""

import dataclasses

from ffedit.cli import main
from ffedit.config import PRESETS
from ffedit.distill.train import Distiller
from ffedit.io.tensors import load_training_state
from ffedit.synthface import LATENT_DIM


def _command(run, export, preset="tiny-synthface"):
    return [
        "train-generator", "--preset", preset, "--run", str(run), "--entries", "1",
        "--shard-size", "1", "--data-workers", "1", "--steps", "4", "--superres-steps", "0",
        "--export", str(export),
    ]  # fmt: skip


def test_an_interrupted_run_exports_nothing_and_the_same_command_resumes_it(
    tmp_path, monkeypatch, capsys
):
    tiny = dataclasses.replace(PRESETS["tiny"], z_dim=LATENT_DIM, c_gen_conditioning_zero=True)
    monkeypatch.setitem(PRESETS, "tiny-synthface", tiny)
    run, export = tmp_path / "run", tmp_path / "export"
    real_step, calls = Distiller.step, []

    def step_then_ctrl_c(self):
        calls.append(self.step_index)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real_step(self)

    monkeypatch.setattr(Distiller, "step", step_then_ctrl_c)
    assert main(_command(run, export)) == 130
    assert "the same command resumes it" in capsys.readouterr().err
    assert load_training_state(run / "train-state.pt")["step"] == 2
    assert not export.exists()

    monkeypatch.setattr(Distiller, "step", real_step)
    assert main(_command(run, export)) == 0
    assert load_training_state(run / "train-state.pt")["step"] == 4
    assert (export / "weights.safetensors").is_file()


def test_a_preset_without_synthface_latent_or_unknown_is_refused_before_building_data(
    tmp_path, capsys
):
    assert main(_command(tmp_path / "a", tmp_path / "x", preset="tiny")) == 1
    assert "needs its 512-float latent" in capsys.readouterr().err
    assert main(_command(tmp_path / "b", tmp_path / "x", preset="nope")) == 1
    assert "unknown preset 'nope'" in capsys.readouterr().err
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_init_from_starts_from_the_checkpoint_weights_with_a_fresh_schedule(tmp_path, monkeypatch):
    from ffedit.io.checkpoint import load_generator

    tiny = dataclasses.replace(PRESETS["tiny"], z_dim=LATENT_DIM, c_gen_conditioning_zero=True)
    monkeypatch.setitem(PRESETS, "tiny-synthface", tiny)
    first, second = tmp_path / "first", tmp_path / "second"
    assert main(_command(tmp_path / "run1", first)) == 0
    seen = {}
    real_step = Distiller.step

    def record_first_step(self):
        if self.step_index == 0:
            seen["weights"] = {k: v.clone() for k, v in self.generator.state_dict().items()}
        return real_step(self)

    monkeypatch.setattr(Distiller, "step", record_first_step)
    command = [*_command(tmp_path / "run2", second), "--init-from", str(first)]
    assert main(command) == 0
    start = load_generator(first).state_dict()
    assert all((seen["weights"][key] == value).all() for key, value in start.items())
    assert load_training_state(tmp_path / "run2" / "train-state.pt")["step"] == 4


def test_init_from_a_folder_that_is_not_a_checkpoint_is_refused(tmp_path, capsys):
    command = [*_command(tmp_path / "run", tmp_path / "x"), "--init-from", str(tmp_path)]
    assert main(command) == 1
    assert "error:" in capsys.readouterr().err
