"""Issue 27, importer: declared sizes are checked before anything is allocated or read (a
stride-0 tensor claiming a huge shape, zip members larger than their tensor, a recovered
config describing a huge generator)."""

from __future__ import annotations

import io
import zipfile

import pytest
import torch

from ffedit.config import PRESETS
from ffedit.io import checkpoint
from ffedit.io.errors import ArchitectureMismatch, CheckpointError
from ffedit.io.restricted_pickle import read_torch_zip_file


def _saved(tmp_path, value, name="x.pth"):
    buffer = io.BytesIO()
    torch.save(value, buffer)
    path = tmp_path / name
    path.write_bytes(buffer.getvalue())
    return path


def test_a_zero_stride_tensor_may_not_claim_more_values_than_its_storage(tmp_path):
    path = _saved(tmp_path, {"w": torch.zeros(1).expand(10**12)})
    with pytest.raises(CheckpointError, match="claims 1000000000000 values"):
        read_torch_zip_file(path)
    broadcast = {"w": torch.zeros(1).expand(512, 4, 4)}  # as EG3D pickles hold constants
    fine = read_torch_zip_file(_saved(tmp_path, broadcast, "ok.pth"))
    assert fine["w"].shape == (512, 4, 4)


def test_a_zip_member_larger_than_its_tensor_is_refused_before_it_is_read(tmp_path):
    path = _saved(tmp_path, {"w": torch.zeros(4)})
    bomb = tmp_path / "bomb.pth"
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as out:
        for info in source.infolist():
            data = source.read(info)
            if "/data/" in info.filename:
                data = bytes(64 << 20)  # 64 MiB of zeros: a few KB compressed
            out.writestr(info.filename, data)
    with pytest.raises(CheckpointError, match="declares 67108864 bytes"):
        read_torch_zip_file(bomb)


def test_a_config_describing_a_huge_generator_is_refused_before_it_is_built(monkeypatch):
    built = []
    real = checkpoint.TriplaneGenerator

    def recording(config):
        built.append(torch.empty(0).device.type)  # the default device at construction
        return real(config)

    monkeypatch.setattr(checkpoint, "TriplaneGenerator", recording)
    monkeypatch.setattr(checkpoint, "MAX_GENERATOR_VALUES", 1000, raising=False)
    with pytest.raises(ArchitectureMismatch, match="more than the 1000"):
        checkpoint.generator_from_state(PRESETS["tiny"], {}, "crafted.pkl")
    assert built == ["meta"], "only the shape skeleton was built"
    monkeypatch.setattr(checkpoint, "MAX_GENERATOR_VALUES", 10**9)
    with pytest.raises(ArchitectureMismatch, match="missing"):
        checkpoint.generator_from_state(PRESETS["tiny"], {}, "crafted.pkl")
    assert built == ["meta", "meta"], "a mismatch is found before the real build"
