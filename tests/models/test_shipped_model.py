"""The shipped default model (models/synthface-128) and its adapters: they load, verified,
from the committed folder, fit their budgets, and still reproduce synthface on a held-out
face (a cheap regression guard; `ffedit bench generator` / `bench layouts` give the figures).
The floors sit below what the current checkpoint measures on that face (mIoU 0.742, PSNR
22.0 dB, depth MAE 0.0099; adapters 0.60–0.66) and far above a broken load (≈ 0.05): raise
them with each better checkpoint."""

import pytest
import torch

from ffedit.adapter import predict_masks
from ffedit.camera import named_camera
from ffedit.config import PRESETS
from ffedit.bench.generator import face_fidelity
from ffedit.io.adapters import load_adapter
from ffedit.io.checkpoint import load_generator
from ffedit.layouts import BUILTIN_LAYOUTS, labels_from_fine
from ffedit.layouts.metrics import iou_table, mean_iou
from ffedit.synthface import face_from_latent, latent_from_seed, render_face

SHIPPED_LAYOUTS = ("base17", "eyes19", "nose19", "chin20")
HELD_OUT_SEED = 7  # below every training seed of the generator and the adapters


@pytest.fixture(scope="module")
def generator(shipped_model):
    return load_generator(shipped_model)


def test_the_shipped_model_is_the_preset_and_fits_its_size_budget(generator, shipped_model):
    assert generator.config == PRESETS["synthface-128"]
    size = sum(path.stat().st_size for path in shipped_model.rglob("*") if path.is_file())
    assert size <= 25 * 2**20, f"models/synthface-128 is {size / 2**20:.1f} MiB"
    assert (shipped_model / "README.md").is_file()  # the model card


def test_a_held_out_face_matches_the_teacher(generator):
    fidelity = face_fidelity(generator, HELD_OUT_SEED, HELD_OUT_SEED + 1, ["front"])
    present = fidelity.unions[0] > 0
    miou = float((fidelity.intersections[0][present] / fidelity.unions[0][present]).mean())
    assert miou >= 0.70 and fidelity.psnr[0] >= 20 and fidelity.depth_mae[0] <= 0.015


@pytest.mark.parametrize("name", SHIPPED_LAYOUTS)
def test_each_shipped_adapter_predicts_its_layout(generator, shipped_model, name):
    saved = load_adapter(shipped_model / "adapters" / name, generator_config=generator.config)
    assert saved.layout == BUILTIN_LAYOUTS[name]
    camera = named_camera("left")
    z = latent_from_seed(HELD_OUT_SEED)
    teacher = render_face(face_from_latent(z[None]), camera[None], 128)
    target = labels_from_fine(teacher.fine_labels, saved.layout)
    ws = generator.mapping(z[None], torch.zeros(1, 25))
    predicted = predict_masks(generator, saved.adapter, ws, camera[None])
    assert mean_iou(iou_table(predicted, target, saved.layout.num_classes)) >= 0.57
