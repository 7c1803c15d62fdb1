"""Our checkpoint folder: exact round trip, manifest verification, atomic replacement."""

import hashlib
import json
import os

import pytest
import torch
from eg3d_standins import random_tiny_generator

from ffedit.config import PRESETS
from ffedit.io.checkpoint import (
    CONFIG_FILE,
    MANIFEST_FILE,
    WEIGHTS_FILE,
    load_generator,
    save_generator,
)
from ffedit.io.errors import ArchitectureMismatch, CheckpointError


@pytest.fixture(scope="module")
def tiny():
    return random_tiny_generator(seed=3)


@pytest.fixture
def saved(tmp_path, tiny):
    return save_generator(tiny, tmp_path / "ckpt")


def _rewrite_manifest_for(folder, name):
    """Make the manifest agree with a tampered file (so the next check is the one tested)."""
    manifest = json.loads((folder / MANIFEST_FILE).read_text())
    data = (folder / name).read_bytes()
    manifest["files"][name] = {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
    (folder / MANIFEST_FILE).write_text(json.dumps(manifest))


def test_round_trip_is_exact_and_frozen(saved, tiny):
    assert sorted(p.name for p in saved.iterdir()) == sorted(
        [WEIGHTS_FILE, CONFIG_FILE, MANIFEST_FILE]
    )
    config_json = json.loads((saved / CONFIG_FILE).read_text())
    assert config_json["kind"] == "generator"
    assert config_json["format_version"] == 1
    manifest = json.loads((saved / MANIFEST_FILE).read_text())
    assert manifest["created_by"].startswith("ffedit ")
    assert set(manifest["files"]) == {WEIGHTS_FILE, CONFIG_FILE}

    loaded = load_generator(saved)
    assert loaded.config == tiny.config == PRESETS["tiny"]
    assert not loaded.training
    assert not any(p.requires_grad for p in loaded.parameters())
    expected = tiny.state_dict()
    assert list(loaded.state_dict()) == list(expected)
    for name, tensor in loaded.state_dict().items():
        assert torch.equal(tensor, expected[name]), name


def test_saving_over_a_model_folder_replaces_the_weights_and_keeps_card_and_adapters(
    saved, tiny, tmp_path
):
    (saved / "README.md").write_text("model card")
    (saved / "adapters" / "eyes").mkdir(parents=True)
    (saved / "adapters" / "eyes" / "weights.safetensors").write_bytes(b"adapter")
    other = random_tiny_generator(seed=4)
    save_generator(other, saved)
    assert (saved / "README.md").read_text() == "model card"
    assert (saved / "adapters" / "eyes" / "weights.safetensors").read_bytes() == b"adapter"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt"]
    first = next(iter(other.state_dict()))
    assert torch.equal(load_generator(saved).state_dict()[first], other.state_dict()[first])


def test_modified_weights_are_detected(saved):
    data = bytearray((saved / WEIGHTS_FILE).read_bytes())
    data[-1] ^= 0xFF
    (saved / WEIGHTS_FILE).write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="corrupt or modified"):
        load_generator(saved)


def test_modified_config_is_detected(saved):
    text = (saved / CONFIG_FILE).read_text()
    assert '"seg_classes": 15' in text
    (saved / CONFIG_FILE).write_text(text.replace('"seg_classes": 15', '"seg_classes": 17'))
    with pytest.raises(CheckpointError, match=f"{CONFIG_FILE} is corrupt or modified"):
        load_generator(saved)


def test_truncated_weights_are_reported(saved):
    data = (saved / WEIGHTS_FILE).read_bytes()
    (saved / WEIGHTS_FILE).write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="is truncated"):
        load_generator(saved)
    _rewrite_manifest_for(saved, WEIGHTS_FILE)
    with pytest.raises(CheckpointError, match="truncated or not a safetensors file"):
        load_generator(saved)


@pytest.mark.parametrize("name", [WEIGHTS_FILE, CONFIG_FILE, MANIFEST_FILE])
def test_missing_files_are_named(saved, name):
    (saved / name).unlink()
    with pytest.raises(CheckpointError, match=f"{name} is missing"):
        load_generator(saved)


def test_config_that_disagrees_with_weights_is_an_architecture_error(saved):
    config = json.loads((saved / CONFIG_FILE).read_text())
    config["decoder_hidden"] = 24
    (saved / CONFIG_FILE).write_text(json.dumps(config))
    _rewrite_manifest_for(saved, CONFIG_FILE)
    first = r"decoder\.geo_net\.0\.weight: checkpoint \(16, 8\) vs model \(24, 8\)"
    with pytest.raises(ArchitectureMismatch, match=rf"6 shape mismatches \({first}"):
        load_generator(saved)


def test_newer_format_is_refused(saved):
    manifest = json.loads((saved / MANIFEST_FILE).read_text())
    manifest["format_version"] = 99
    (saved / MANIFEST_FILE).write_text(json.dumps(manifest))
    with pytest.raises(CheckpointError, match="format 99"):
        load_generator(saved)


def test_failed_save_leaves_previous_checkpoint_intact(saved, monkeypatch):
    before = {p.name: p.read_bytes() for p in saved.iterdir()}
    real_fsync, calls = os.fsync, []

    def failing_fsync(fd):
        calls.append(fd)
        if len(calls) == 3:  # the third file of the new checkpoint
            raise OSError("disk full")
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", failing_fsync)
    with pytest.raises(OSError, match="disk full"):
        save_generator(random_tiny_generator(seed=5), saved)
    assert len(calls) == 3
    assert {p.name: p.read_bytes() for p in saved.iterdir()} == before
    assert sorted(p.name for p in saved.parent.iterdir()) == ["ckpt"]
