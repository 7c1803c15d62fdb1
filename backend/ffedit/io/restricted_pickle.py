"""Read EG3D / NeRFFaceEditing / FFaceNeRF pickles without their source code and without running it.

Those pickles reference classes by import path (`training.triplane.…`, `torch.nn.modules.…`)
and, for `persistence.persistent_class` objects, carry the defining module's source text
for `torch_utils.persistence._reconstruct_persistent_obj` to `exec`. Loading them normally
needs the original repositories on the path and runs whatever code the file contains.

`RestrictedUnpickler.find_class` is an allow-list instead. Persistent objects become
`PersistentRecord`s (class name, source hash, state; the source is never executed), other
module classes become inert `StubObject` subclasses that only record their path and state,
tensors are rebuilt from their raw bytes, and every other global raises `UnsafePickleError`.
Three containers are understood: a plain pickle (`read_pickle_file`), the legacy torch.save
stream of one storage inside it (`storage_from_legacy_bytes`), and a zip-format torch.save
(`read_torch_zip_file`).
"""

from __future__ import annotations

import _compat_pickle
import codecs
import hashlib
import io
import math
import os
import pickle
import struct
import zipfile
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import BinaryIO, ClassVar

import numpy as np
import torch

from ffedit.io.errors import CheckpointError, UnsafePickleError

_STORAGE_DTYPES = {
    "DoubleStorage": torch.float64,
    "FloatStorage": torch.float32,
    "HalfStorage": torch.float16,
    "BFloat16Storage": torch.bfloat16,
    "LongStorage": torch.int64,
    "IntStorage": torch.int32,
    "ShortStorage": torch.int16,
    "CharStorage": torch.int8,
    "ByteStorage": torch.uint8,
    "BoolStorage": torch.bool,
    "ComplexFloatStorage": torch.complex64,
    "ComplexDoubleStorage": torch.complex128,
}

_TORCH_DTYPES = {
    name: value for name, value in vars(torch).items() if isinstance(value, torch.dtype)
}
MAX_STORAGE_BYTES = 4 << 30
"""Largest storage a zip-format checkpoint may declare (its member is read only if it fits)."""
MAX_VIEW_VALUES = 1 << 28
"""Most values a tensor may claim beyond its storage's (EG3D saves broadcast constants)."""
MAX_PICKLE_BYTES = 256 << 20
"""Largest data.pkl of a zip-format checkpoint (the tensors live in other members)."""
_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
_LEGACY_PROTOCOL = 1001
_STUB_MODULE_PREFIXES = ("training.", "torch.nn.modules.")


@dataclass(frozen=True)
class StorageType:
    """A `torch.XxxStorage` class reference, reduced to the element type it names."""

    dtype: torch.dtype


@dataclass
class PersistentRecord:
    """An object of an EG3D `persistent_class`: its class name and `__dict__`, source unexecuted."""

    class_name: str
    module_src_sha256: str
    module_src_len: int
    state: dict


class StubObject:
    """An instance of a class the pickle names by import path; the class is never imported.

    `StubObject.subclass_for(path)` makes one subclass per path, so the pickle's NEWOBJ,
    REDUCE and `copyreg` constructions all work on it and do nothing but record state.
    """

    class_path: ClassVar[str] = ""
    _subclasses: ClassVar[dict[str, type[StubObject]]] = {}

    def __new__(cls, *args, **kwargs):
        instance = super().__new__(cls)
        instance.state = {}
        return instance

    def __init__(self, *args, **kwargs):
        """Constructor arguments are ignored: only the pickled state matters."""

    def __setstate__(self, state) -> None:
        self.state.update(_state_as_dict(state, self.class_path))

    def __repr__(self) -> str:
        return f"<stub {self.class_path}>"

    @classmethod
    def subclass_for(cls, class_path: str) -> type[StubObject]:
        if class_path not in cls._subclasses:
            name = class_path.rsplit(".", 1)[-1]
            cls._subclasses[class_path] = type(name, (cls,), {"class_path": class_path})
        return cls._subclasses[class_path]


class EasyDict(dict):
    """Stand-in for `dnnlib.EasyDict`: a plain dict (attribute access is not needed here)."""


def object_state(obj: object) -> dict | None:
    """The `__dict__`-like state of a record or stub, None for anything else."""
    return obj.state if isinstance(obj, PersistentRecord | StubObject) else None


def object_class_name(obj: object) -> str:
    """Short class name of a record or stub ('TriPlaneGenerator', 'Sequential'), else the type."""
    if isinstance(obj, PersistentRecord):
        return obj.class_name
    if isinstance(obj, StubObject):
        return obj.class_path.rsplit(".", 1)[-1]
    return type(obj).__name__


def _state_as_dict(state: object, owner: str) -> dict:
    if isinstance(state, tuple) and len(state) == 2:  # (__dict__, __slots__ values)
        merged = {}
        for part in state:
            merged.update(part or {})
        return merged
    if not isinstance(state, dict):
        raise CheckpointError(
            f"unexpected pickled state of type {type(state).__name__} for {owner}"
        )
    return state


def _persistent_record(meta: object) -> PersistentRecord:
    """Replaces `torch_utils.persistence._reconstruct_persistent_obj`; never runs `module_src`."""
    if not isinstance(meta, dict) or meta.get("type") != "class":
        raise CheckpointError(f"unsupported persistent object: {_brief(meta)}")
    source = meta.get("module_src") or ""
    source_bytes = source.encode("utf-8", "surrogatepass") if isinstance(source, str) else b""
    return PersistentRecord(
        class_name=str(meta.get("class_name")),
        module_src_sha256=hashlib.sha256(source_bytes).hexdigest(),
        module_src_len=len(source_bytes),
        state=_state_as_dict(meta.get("state") or {}, str(meta.get("class_name"))),
    )


def _reconstructor(cls: object, base: object, state: object) -> object:
    """Replaces `copyreg._reconstructor` (protocol 0/1 objects): only stubs and dicts."""
    instance = _newobj(cls)
    if isinstance(instance, dict) and isinstance(state, dict):
        instance.update(state)
    return instance


def _newobj(cls: object, *args) -> object:
    """Replaces `copyreg.__newobj__`: only for classes this module itself handed out."""
    if isinstance(cls, type) and issubclass(cls, StubObject | dict):
        return cls.__new__(cls)
    raise UnsafePickleError(f"refusing to construct {_brief(cls)} through copyreg")


def _latin1_bytes(text: str, encoding: str = "latin1") -> bytes:
    """Replaces `_codecs.encode` as used by protocol-2 pickles to spell bytes."""
    if not isinstance(text, str) or codecs.lookup(encoding).name != "iso8859-1":
        raise UnsafePickleError(f"refusing _codecs.encode with encoding {encoding!r}")
    return text.encode("latin1")


def _rebuild_tensor(storage, storage_offset, size, stride, requires_grad=False, *_hooks_and_meta):
    """Replaces `torch._utils._rebuild_tensor_v2`: a strided view of the flat storage tensor."""
    if not isinstance(storage, torch.Tensor):
        raise CheckpointError(f"tensor data is not a storage but {_brief(storage)}")
    claimed = math.prod(int(n) for n in size)
    if claimed > max(storage.numel(), MAX_VIEW_VALUES):  # zero strides can claim any shape
        raise CheckpointError(
            f"tensor of size {tuple(size)} claims {claimed} values; its storage holds "
            f"{storage.numel()} (a broadcast view may claim at most {MAX_VIEW_VALUES})"
        )
    try:
        return storage.as_strided(tuple(size), tuple(stride), int(storage_offset))
    except RuntimeError as error:
        raise CheckpointError(
            f"tensor of size {tuple(size)} does not fit its storage: {error}"
        ) from error


def _rebuild_parameter(data, requires_grad=False, *_hooks_and_state):
    """Replaces `torch._utils._rebuild_parameter[_with_state]`: parameters load as plain tensors."""
    if not isinstance(data, torch.Tensor):
        raise CheckpointError(f"parameter data is not a tensor but {_brief(data)}")
    return data


def _device(*args) -> torch.device:
    return torch.device(*args)


def _numpy_dtype(spec, align=False, copy=False) -> np.dtype:
    dtype = np.dtype(spec) if isinstance(spec, str) else None
    if dtype is None or dtype.hasobject:
        raise UnsafePickleError(f"refusing numpy dtype {spec!r}")
    return dtype


def _numpy_scalar(dtype, data=b""):
    if not isinstance(dtype, np.dtype) or dtype.hasobject or not isinstance(data, bytes):
        raise UnsafePickleError("refusing a numpy scalar that is not plain data")
    return np.frombuffer(data, dtype=dtype, count=1)[0].item()


def storage_from_legacy_bytes(data: bytes) -> torch.Tensor:
    """Parse the legacy (non-zip) torch.save stream of one storage into a flat CPU tensor.

    Layout: pickled magic number, pickled protocol (1001), pickled sys_info dict, a pickle
    whose persistent ids are ('storage', type, key, location, numel[, view]), a pickled key
    list, then per key an int64 element count and the raw little-endian elements. Replaces
    `torch.storage._load_from_bytes`, which would run an unrestricted `torch.load`.
    """
    stream = io.BytesIO(data)
    if _load_restricted(stream) != _LEGACY_MAGIC or _load_restricted(stream) != _LEGACY_PROTOCOL:
        raise CheckpointError("embedded storage is not a legacy torch.save stream")
    sys_info = _load_restricted(stream)
    if isinstance(sys_info, dict) and not sys_info.get("little_endian", True):
        raise CheckpointError("big-endian storages are not supported")
    pending: dict[str, tuple[torch.dtype, int]] = {}

    def remember_storage(pid: object) -> str:
        storage_type, key, numel, view = _storage_pid(pid)
        if view is not None:
            raise CheckpointError("storage views in legacy streams are not supported")
        pending[key] = (storage_type.dtype, numel)
        return key

    root_key = _load_restricted(stream, remember_storage)
    keys = _load_restricted(stream)
    if not isinstance(keys, list):
        raise CheckpointError("legacy storage stream has no key list")
    storages = {}
    for key in keys:
        dtype, _ = pending[key]
        header = stream.read(8)
        if len(header) != 8:
            raise CheckpointError("legacy storage stream is truncated")
        (numel,) = struct.unpack("<q", header)
        storages[key] = _tensor_from_bytes(stream.read(numel * _itemsize(dtype)), dtype, numel)
    if root_key not in storages:
        raise CheckpointError("legacy storage stream does not contain its storage")
    return storages[root_key]


_ALLOWED: dict[tuple[str, str], object] = {
    ("torch_utils.persistence", "_reconstruct_persistent_obj"): _persistent_record,
    ("dnnlib.util", "EasyDict"): EasyDict,
    ("dnnlib", "EasyDict"): EasyDict,
    ("collections", "OrderedDict"): OrderedDict,
    ("builtins", "set"): set,
    ("builtins", "frozenset"): frozenset,
    ("builtins", "object"): object,
    ("copyreg", "_reconstructor"): _reconstructor,
    ("copyreg", "__newobj__"): _newobj,
    ("_codecs", "encode"): _latin1_bytes,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
    ("torch._utils", "_rebuild_parameter_with_state"): _rebuild_parameter,
    ("torch.storage", "_load_from_bytes"): storage_from_legacy_bytes,
    ("torch", "device"): _device,
    ("torch", "Size"): torch.Size,
    ("numpy", "dtype"): _numpy_dtype,
    ("numpy.core.multiarray", "scalar"): _numpy_scalar,
    ("numpy._core.multiarray", "scalar"): _numpy_scalar,
}


class RestrictedUnpickler(pickle.Unpickler):
    """`pickle.Unpickler` whose globals come from an allow-list (see the module docstring).

    `load_storage(pid)` resolves persistent ids (zip-format torch.save); without it any
    persistent id is an error.
    """

    def __init__(self, file: BinaryIO, load_storage: Callable[[object], object] | None = None):
        super().__init__(file)
        self._load_storage = load_storage

    def find_class(self, module: str, name: str) -> object:
        if (module, name) in _compat_pickle.NAME_MAPPING:
            module, name = _compat_pickle.NAME_MAPPING[(module, name)]
        module = _compat_pickle.IMPORT_MAPPING.get(module, module)
        if (module, name) in _ALLOWED:
            return _ALLOWED[(module, name)]
        if module in ("torch", "torch.cuda") and name in _STORAGE_DTYPES:
            return StorageType(_STORAGE_DTYPES[name])
        if module == "torch" and name in _TORCH_DTYPES:
            return _TORCH_DTYPES[name]
        if module.startswith(_STUB_MODULE_PREFIXES):
            return StubObject.subclass_for(f"{module}.{name}")
        raise UnsafePickleError(
            f"refusing to load {module}.{name}: it is not on the allow-list of classes an "
            "EG3D/NeRFFaceEditing/FFaceNeRF checkpoint may contain"
        )

    def persistent_load(self, pid: object) -> object:
        if self._load_storage is None:
            raise pickle.UnpicklingError(f"unexpected persistent id {_brief(pid)}")
        return self._load_storage(pid)


def read_pickle_file(path: str | os.PathLike) -> object:
    """Unpickle a plain pickle file (an EG3D/NeRFFaceEditing `.pkl`) with the allow-list."""
    with open(path, "rb") as file:
        return _load_checked(file, None, path)


def read_torch_zip_file(path: str | os.PathLike) -> object:
    """Unpickle a zip-format `torch.save` file, its storages mapped to the CPU."""
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, EOFError, OSError) as error:
        raise CheckpointError(f"{path} is truncated or not a torch.save zip: {error}") from error
    with archive:
        names = archive.namelist()
        prefixes = [name[: -len("data.pkl")] for name in names if name.endswith("/data.pkl")]
        if len(prefixes) != 1 or prefixes[0].count("/") != 1:
            raise CheckpointError(f"{path} is a zip but not a torch.save archive (no data.pkl)")
        prefix = prefixes[0]
        if f"{prefix}byteorder" in names and archive.read(f"{prefix}byteorder") != b"little":
            raise CheckpointError(f"{path}: big-endian torch.save archives are not supported")
        storages: dict[str, torch.Tensor] = {}

        def load_storage(pid: object) -> torch.Tensor:
            storage_type, key, numel, _ = _storage_pid(pid)
            if key not in storages:
                member = f"{prefix}data/{key}"
                expected = numel * _itemsize(storage_type.dtype)
                try:
                    declared = archive.getinfo(member).file_size
                    if not 0 <= expected <= MAX_STORAGE_BYTES or declared != expected:
                        raise CheckpointError(
                            f"{path}: storage {member} declares {declared} bytes; its tensor "
                            f"needs {expected} (at most {MAX_STORAGE_BYTES})"
                        )
                    data = archive.read(member)  # zipfile reads no more than it declared
                except (KeyError, zipfile.BadZipFile, EOFError) as error:
                    raise CheckpointError(
                        f"{path}: storage {member} is missing or damaged"
                    ) from error
                storages[key] = _tensor_from_bytes(data, storage_type.dtype, numel)
            return storages[key]

        pickle_size = archive.getinfo(f"{prefix}data.pkl").file_size
        if pickle_size > MAX_PICKLE_BYTES:
            raise CheckpointError(
                f"{path}: its data.pkl declares {pickle_size} bytes (at most {MAX_PICKLE_BYTES})"
            )
        try:
            with archive.open(f"{prefix}data.pkl") as file:
                return _load_checked(file, load_storage, path)
        except (zipfile.BadZipFile, EOFError) as error:
            raise CheckpointError(f"{path} is truncated: {error}") from error


def _load_checked(file: BinaryIO, load_storage, path: str | os.PathLike) -> object:
    try:
        return RestrictedUnpickler(file, load_storage).load()
    except CheckpointError:
        raise
    except MemoryError:
        raise
    except Exception as error:  # any malformed stream: UnpicklingError, EOFError, TypeError…
        raise CheckpointError(f"{path} is truncated or not a pickle ({error})") from error


def _load_restricted(stream: BinaryIO, load_storage=None) -> object:
    return RestrictedUnpickler(stream, load_storage).load()


def _storage_pid(pid: object) -> tuple[StorageType, str, int, object]:
    """Split ('storage', type, key, location, numel[, view]); the location is ignored (CPU)."""
    if not (isinstance(pid, tuple) and len(pid) in (5, 6) and pid[0] == "storage"):
        raise CheckpointError(f"unsupported persistent id {_brief(pid)}")
    storage_type, key, numel = pid[1], str(pid[2]), pid[4]
    if not isinstance(storage_type, StorageType) or not isinstance(numel, int):
        raise CheckpointError(f"unsupported storage reference {_brief(pid)}")
    return storage_type, key, numel, pid[5] if len(pid) == 6 else None


def _itemsize(dtype: torch.dtype) -> int:
    return torch.empty((), dtype=dtype).element_size()


def _tensor_from_bytes(data: bytes, dtype: torch.dtype, numel: int) -> torch.Tensor:
    if len(data) != numel * _itemsize(dtype):
        raise CheckpointError(
            f"storage holds {len(data)} bytes, expected {numel} × {_itemsize(dtype)} (truncated?)"
        )
    if numel == 0:
        return torch.empty(0, dtype=dtype)
    return torch.frombuffer(bytearray(data), dtype=dtype)


def _brief(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def is_zip(path: str | os.PathLike) -> bool:
    """True when the file starts like a zip archive (zip-format torch.save)."""
    with open(path, "rb") as file:
        return file.read(4) == b"PK\x03\x04"


def is_pickle(path: str | os.PathLike) -> bool:
    """True when the file starts with a pickle PROTO opcode (protocol 2 or later)."""
    with open(path, "rb") as file:
        head = file.read(2)
    return len(head) == 2 and head[0] == 0x80 and 2 <= head[1] <= 5


__all__ = [
    "EasyDict",
    "PersistentRecord",
    "RestrictedUnpickler",
    "StorageType",
    "StubObject",
    "is_pickle",
    "is_zip",
    "object_class_name",
    "object_state",
    "read_pickle_file",
    "read_torch_zip_file",
    "storage_from_legacy_bytes",
]
