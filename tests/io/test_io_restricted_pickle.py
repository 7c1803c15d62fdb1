"""The allow-list unpickler: tensors rebuilt exactly, foreign classes inert, code never run."""

import io
import os
import pickle
import subprocess
from collections import OrderedDict

import numpy as np
import pytest
import torch
from eg3d_standins import (
    EasyDict,
    PersistentObject,
    import_path_class,
    marker_source,
    module_state,
    snapshot_bytes,
)

from ffedit.io.errors import CheckpointError, UnsafePickleError
from ffedit.io.restricted_pickle import (
    PersistentRecord,
    StubObject,
    read_pickle_file,
    read_torch_zip_file,
    storage_from_legacy_bytes,
)


def _write(tmp_path, data: bytes, name="x.pkl"):
    path = tmp_path / name
    path.write_bytes(data)
    return path


def _tensors_with_layouts():
    base = torch.arange(24, dtype=torch.float32).reshape(4, 6)
    return {
        "float": base,
        "transposed": base.t(),
        "offset_view": base[1:, 2:5],
        "half": torch.linspace(-2, 2, 7).half(),
        "bfloat": torch.linspace(-2, 2, 5).bfloat16(),
        "long": torch.tensor([-(2**40), 3, 7]),
        "bool": torch.tensor([True, False, True]),
        "uint8": torch.arange(5, dtype=torch.uint8),
        "scalar": torch.tensor(3.5),
        "empty": torch.zeros(0, 3),
        "param": torch.nn.Parameter(torch.randn(2, 3)),
    }


@pytest.mark.parametrize("protocol", [2, 4])
def test_plain_pickle_tensors_rebuild_exactly(tmp_path, protocol):
    tensors = _tensors_with_layouts()
    loaded = read_pickle_file(_write(tmp_path, pickle.dumps(tensors, protocol=protocol)))
    assert set(loaded) == set(tensors)
    for name, tensor in tensors.items():
        assert loaded[name].dtype == tensor.dtype, name
        assert loaded[name].shape == tensor.shape, name
        assert torch.equal(loaded[name], tensor.detach()), name


def test_storage_bytes_are_the_official_legacy_stream():
    """torch 2.13 still reduces storages to `_load_from_bytes(legacy torch.save bytes)`."""
    _, (storage, *_) = torch.tensor([1.5, -2.0, 3.25]).__reduce_ex__(2)
    function, (data,) = storage.__reduce__()
    assert (function.__module__, function.__name__) == ("torch.storage", "_load_from_bytes")
    assert data.startswith(b"\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19")  # magic
    flat = storage_from_legacy_bytes(data)
    assert flat.dtype == torch.float32
    assert flat.tolist() == [1.5, -2.0, 3.25]
    with pytest.raises(CheckpointError):
        storage_from_legacy_bytes(data[:-2])


def test_zip_torch_save_reads_with_storages(tmp_path):
    tensors = _tensors_with_layouts()
    buffer = io.BytesIO()
    torch.save(tensors, buffer)
    loaded = read_torch_zip_file(_write(tmp_path, buffer.getvalue(), "x.pth"))
    for name, tensor in tensors.items():
        assert torch.equal(loaded[name], tensor.detach()), name
    # views of one storage keep sharing it, as with torch.load
    shared = loaded["float"].untyped_storage().data_ptr()
    assert loaded["transposed"].untyped_storage().data_ptr() == shared


def test_foreign_classes_become_inert_records_and_module_src_never_runs(tmp_path):
    marker = tmp_path / "executed.txt"
    decoder_cls = import_path_class("training.triplane", "DisentangledOSGDecoder", object)
    decoder = decoder_cls()
    decoder.__dict__.update(module_state(parameters={"w": torch.ones(2)}))
    record = PersistentObject(
        "FullyConnectedLayer",
        module_state(_init_kwargs=EasyDict(in_features=3)),
        marker_source(marker),
    )
    numpy_scalar = np.float64(0.25)
    data = snapshot_bytes(
        {"G_ema": record, "decoder": decoder, "seq": torch.nn.Sequential(), "n": numpy_scalar}
    )
    loaded = read_pickle_file(_write(tmp_path, data))
    assert not marker.exists()
    g_ema = loaded["G_ema"]
    assert isinstance(g_ema, PersistentRecord)
    assert g_ema.class_name == "FullyConnectedLayer"
    assert g_ema.module_src_len == len(marker_source(marker).encode())
    assert g_ema.state["_init_kwargs"] == {"in_features": 3}
    assert isinstance(loaded["decoder"], StubObject)
    assert loaded["decoder"].class_path == "training.triplane.DisentangledOSGDecoder"
    assert torch.equal(loaded["decoder"].state["_parameters"]["w"], torch.ones(2))
    assert loaded["seq"].class_path == "torch.nn.modules.container.Sequential"
    assert loaded["seq"].state["training"] is True
    assert loaded["n"] == 0.25


class _Reduces:
    def __init__(self, function, *args):
        self.function, self.args = function, args

    def __reduce__(self):
        return (self.function, self.args)


_MALICIOUS = {
    "system": lambda marker: _Reduces(os.system, f"touch {marker}"),
    "builtins.eval": lambda marker: _Reduces(eval, f"open({str(marker)!r}, 'w')"),
    "subprocess.Popen": lambda marker: _Reduces(subprocess.Popen, ["touch", str(marker)]),
    "torch.serialization.load": lambda marker: _Reduces(torch.load, str(marker)),
}


@pytest.mark.parametrize("named", sorted(_MALICIOUS))
@pytest.mark.parametrize("protocol", [0, 2, 4])
def test_malicious_globals_are_refused(tmp_path, named, protocol):
    marker = tmp_path / "pwned"
    data = pickle.dumps({"G_ema": [_MALICIOUS[named](marker)]}, protocol=protocol)
    with pytest.raises(UnsafePickleError, match=rf"refusing to load \S*{named}"):
        read_pickle_file(_write(tmp_path, data))
    assert not marker.exists()


def test_protocol_zero_inst_opcode_is_refused(tmp_path):
    with pytest.raises(UnsafePickleError, match=r"refusing to load os\.system"):
        read_pickle_file(_write(tmp_path, b"(S'echo hi'\nios\nsystem\n."))


def test_copyreg_cannot_construct_arbitrary_classes(tmp_path):
    # copyreg._reconstructor(collections.OrderedDict, ...) is allowed (inert), but it cannot be
    # pointed at anything find_class refused, and non-stub classes are rejected by it.
    data = b"\x80\x02ccopyreg\n_reconstructor\nctorch\nSize\nc__builtin__\nobject\nN\x87R."
    with pytest.raises(UnsafePickleError, match="copyreg"):
        read_pickle_file(_write(tmp_path, data))


def test_truncated_and_non_pickle_files_give_clear_errors(tmp_path):
    data = pickle.dumps({"G_ema": _tensors_with_layouts()}, protocol=4)
    with pytest.raises(CheckpointError, match="truncated or not a pickle"):
        read_pickle_file(_write(tmp_path, data[: len(data) // 2]))
    with pytest.raises(CheckpointError, match="truncated or not a pickle"):
        read_pickle_file(_write(tmp_path, b"\x89PNG\r\n\x1a\n not a pickle"))
    with pytest.raises(CheckpointError, match=r"not a torch\.save zip"):
        read_torch_zip_file(_write(tmp_path, b"PK\x03\x04 truncated", "x.pth"))


def test_ordered_dict_and_sets_survive(tmp_path):
    value = {"a": OrderedDict(b=1), "s": {1, 2}, "f": frozenset({3})}
    for protocol in (2, 4):
        assert read_pickle_file(_write(tmp_path, pickle.dumps(value, protocol=protocol))) == value
