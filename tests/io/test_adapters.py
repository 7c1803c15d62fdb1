"""Adapter checkpoints (round trip, manifest check, fit to a generator), FFaceNeRF adapter
import, and reading annotated samples from a dataset folder."""

import json
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from eg3d_standins import official_generator, random_tiny_generator, torch_save_bytes

from ffedit.adapter import TRAINING_PRESETS, GeometryAdapter
from ffedit.camera import named_camera
from ffedit.config import PRESETS
from ffedit.io.adapters import (
    SampleFolderError,
    load_adapter,
    load_ffacenerf_adapter,
    one_view_per_face,
    read_layout_samples,
    save_adapter,
)
from ffedit.io.checkpoint import save_generator
from ffedit.io.errors import ArchitectureMismatch, CheckpointError
from ffedit.layouts import (
    InvalidMask,
    LayoutClass,
    UnknownLayout,
    extend_layout,
    get_layout,
    indexed_png_from_labels,
    layout_to_json,
)

TINY = PRESETS["tiny"]


@pytest.fixture
def adapter():
    torch.manual_seed(5)
    adapter = GeometryAdapter.for_generator(TINY, 19)
    with torch.no_grad():
        for parameter in adapter.parameters():
            parameter.add_(torch.randn_like(parameter))  # non-zero biases too
    return adapter


def _inputs(count=9):
    rng = torch.Generator().manual_seed(2)
    return (
        torch.randn(1, count, TINY.plane_channels, generator=rng),
        torch.randn(1, count, 1 + TINY.seg_classes, generator=rng),
        F.normalize(torch.randn(1, count, 3, generator=rng), dim=-1),
        torch.rand(1, count, 3, generator=rng) - 0.5,
    )


def test_round_trip_keeps_weights_layout_training_and_metrics(tmp_path, adapter):
    layout = extend_layout(get_layout("base17"), "mine", (LayoutClass("freckle", (9, 9, 9)),))
    layout = extend_layout(layout, "mine2", (LayoutClass("mole", (20, 9, 9)),))
    config = TRAINING_PRESETS["fast"]
    metrics = {"train_miou": 0.75, "seconds": 12.5}
    save_adapter(tmp_path / "a", adapter, layout, config, metrics)
    loaded = load_adapter(tmp_path / "a", generator_config=TINY)
    assert loaded.layout == layout and loaded.training == config and loaded.metrics == metrics
    for name, tensor in adapter.state_dict().items():
        assert torch.equal(loaded.adapter.state_dict()[name], tensor), name
    assert torch.equal(loaded.adapter(*_inputs()), adapter(*_inputs()))
    assert not any(p.requires_grad for p in loaded.adapter.parameters())
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == [
        "adapter.json", "layout.json", "manifest.json", "training.json", "weights.safetensors"
    ]  # fmt: skip


def test_a_modified_file_is_caught_by_the_manifest_hash(tmp_path, adapter):
    save_adapter(tmp_path / "a", adapter, get_layout("eyes19"))
    weights = tmp_path / "a" / "weights.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 1
    weights.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match=r"weights\.safetensors is corrupt or modified"):
        load_adapter(tmp_path / "a")


def test_imported_adapters_have_no_training_record(tmp_path, adapter):
    save_adapter(tmp_path / "a", adapter, get_layout("nose19"))
    loaded = load_adapter(tmp_path / "a")
    assert loaded.training is None and loaded.metrics == {}


def test_wrong_kind_size_and_generator_are_reported(tmp_path, adapter):
    save_generator(random_tiny_generator(), tmp_path / "g")
    with pytest.raises(CheckpointError, match=r"manifest\.json does not list"):
        load_adapter(tmp_path / "g")
    with pytest.raises(ValueError, match="predicts 19 classes, layout 'chin20' has 20"):
        save_adapter(tmp_path / "a", adapter, get_layout("chin20"))
    save_adapter(tmp_path / "a", adapter, get_layout("eyes19"))
    nfe = PRESETS["nerffaceediting-ffhq512"]
    with pytest.raises(ArchitectureMismatch, match=r"reads 8 plane channels .* has 32"):
        load_adapter(tmp_path / "a", generator_config=nfe)


def _reference(weights, x):
    w0, w2 = weights["0.weight"], weights["2.weight"]
    hidden = F.softplus(x @ (w0 / math.sqrt(w0.shape[1])).T + weights["0.bias"])
    return hidden @ (w2 / math.sqrt(w2.shape[1])).T + weights["2.bias"]


def test_ffacenerf_checkpoint_adapter_loads_and_reproduces_its_outputs(tmp_path):
    tiny = random_tiny_generator()
    rng = torch.Generator().manual_seed(1)
    in_features = TINY.plane_channels + 1 + TINY.seg_classes + 3
    weights = {
        "0.weight": torch.randn(64, in_features, generator=rng),
        "0.bias": torch.randn(64, generator=rng),
        "2.weight": torch.randn(19, 64, generator=rng),
        "2.bias": torch.randn(19, generator=rng),
    }
    tensors = {**tiny.state_dict(), **{f"decoder.geo_net_appdx.{k}": v for k, v in weights.items()}}
    top = ("training.triplane_mod", "TriPlaneGenerator_eyes")
    tree = official_generator(tiny, tmp_path / "m", top_class=top, tensors=tensors)
    path = tmp_path / "ckpt_eyes_10.pth"
    path.write_bytes(torch_save_bytes(tree))
    adapter = load_ffacenerf_adapter(path, TINY)
    assert (adapter.variant, adapter.num_classes) == ("injection", 19)
    features, geo, directions, points = _inputs()
    x = torch.cat([F.softplus(torch.cat([features, geo], -1)), directions], -1)
    expected = _reference(weights, x)
    assert torch.allclose(adapter(features, geo, directions, points), expected, atol=1e-5)
    with pytest.raises(ArchitectureMismatch):
        load_ffacenerf_adapter(path, PRESETS["nerffaceediting-ffhq512"])


def _dataset(tmp_path, layout, size=8, faces=(3, 4), views=("front", "left")):
    """A dataset folder in the `ffedit synthface export` format, written by hand."""
    root = tmp_path / "data"
    entries = []
    for seed in faces:
        folder = f"faces/{seed:06d}"
        (root / folder).mkdir(parents=True)
        np.save(root / folder / "latent.npy", np.full(512, seed, dtype=np.float32))
        entry_views = {}
        for index, view in enumerate(views):
            (root / folder / view).mkdir()
            labels = np.full((size, size), (seed + index) % layout.num_classes, dtype=np.int64)
            mask = f"{folder}/{view}/mask_{layout.name}.png"
            (root / mask).write_bytes(indexed_png_from_labels(labels, layout))
            entry_views[view] = {"rgb": "-", "fine": "-", "masks": {layout.name: mask}}
        entries.append({"seed": seed, "latent": f"{folder}/latent.npy", "views": entry_views})
    manifest = {
        "format": "ffedit-synthface-dataset",
        "version": 1,
        "resolution": size,
        "views": {v: {"camera": named_camera(v).tolist()} for v in views},
        "layouts": {layout.name: layout_to_json(layout)},
        "faces": entries,
    }
    (root / "manifest.json").write_text(json.dumps(manifest))
    return root


def test_read_layout_samples_reads_every_annotated_view(tmp_path):
    layout = extend_layout(get_layout("base15"), "dots", (LayoutClass("dot", (1, 200, 3)),))
    root = _dataset(tmp_path, layout)
    found_layout, samples = read_layout_samples(root, "dots")
    assert found_layout == layout
    assert [(s.seed, s.view) for s in samples] == [
        (3, "front"),
        (3, "left"),
        (4, "front"),
        (4, "left"),
    ]
    assert torch.equal(samples[1].camera, named_camera("left"))
    assert float(samples[2].latent[0]) == 4 and samples[2].latent.shape == (512,)
    assert samples[3].labels.shape == (8, 8) and int(samples[3].labels[0, 0]) == 5
    _, fronts = read_layout_samples(root, "dots", views=["front"])
    assert [s.view for s in fronts] == ["front", "front"]
    _, none = read_layout_samples(root, "eyes19")  # a built-in without masks here
    assert none == []
    cycled = one_view_per_face(samples)
    assert [(s.seed, s.view) for s in cycled] == [(3, "front"), (4, "left")]


def test_read_layout_samples_errors_are_clear(tmp_path):
    with pytest.raises(SampleFolderError, match=r"manifest\.json is missing"):
        read_layout_samples(tmp_path, "base15")
    root = _dataset(tmp_path, get_layout("base15"))
    with pytest.raises(UnknownLayout, match="unknown layout 'lips5'"):
        read_layout_samples(root, "lips5")
    (root / "faces/000004/left/mask_base15.png").write_bytes(b"not a png")
    with pytest.raises(InvalidMask, match="not a readable PNG"):
        read_layout_samples(root, "base15")
    (root / "faces/000004/left/mask_base15.png").unlink()
    with pytest.raises(SampleFolderError, match=r"mask_base15\.png is missing"):
        read_layout_samples(root, "base15")
