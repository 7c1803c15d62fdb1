"""Walk the module tree of an unpickled (never instantiated) torch model: records and stubs.

A pickled `nn.Module` is its `__dict__`: `_parameters`, `_buffers` and `_modules` dicts
plus plain attributes. After restricted unpickling each module is a `PersistentRecord` or a
`StubObject` holding that dict; this file turns the tree into a state_dict (dotted
`_modules` path + parameter or buffer name, exactly what `nn.Module.state_dict` would give)
and finds sub-modules and their attributes.
"""

from __future__ import annotations

import torch

from ffedit.io.errors import CheckpointError
from ffedit.io.restricted_pickle import object_class_name, object_state


def module_state(module: object, where: str) -> dict:
    """The pickled `__dict__` of a module record or stub; `where` names it in errors."""
    state = object_state(module)
    if state is None:
        raise CheckpointError(f"{where} is not a pickled module but {type(module).__name__}")
    return state


def child_modules(module: object, where: str = "module") -> dict[str, object]:
    """The module's direct children by name (None entries skipped)."""
    children = module_state(module, where).get("_modules") or {}
    return {name: child for name, child in children.items() if child is not None}


def submodule(module: object, dotted_path: str) -> object | None:
    """The descendant at `dotted_path` ('backbone.mapping'), or None when absent."""
    current = module
    for part in dotted_path.split("."):
        current = child_modules(current, dotted_path).get(part)
        if current is None:
            return None
    return current


def init_kwargs(module: object | None) -> dict:
    """Constructor keyword arguments EG3D's persistence recorded (`_init_kwargs`), else {}."""
    if module is None:
        return {}
    kwargs = (object_state(module) or {}).get("_init_kwargs")
    return dict(kwargs) if isinstance(kwargs, dict) else {}


def state_dict_from_module(module: object, prefix: str = "") -> dict[str, torch.Tensor]:
    """Parameters and persistent buffers of the whole tree, keyed like `nn.Module.state_dict`."""
    where = prefix.rstrip(".") or object_class_name(module)
    state = module_state(module, where)
    tensors: dict[str, torch.Tensor] = {}
    non_persistent = state.get("_non_persistent_buffers_set") or set()
    for group in ("_parameters", "_buffers"):
        for name, tensor in (state.get(group) or {}).items():
            if tensor is None or (group == "_buffers" and name in non_persistent):
                continue
            if not isinstance(tensor, torch.Tensor):
                raise CheckpointError(f"{prefix}{name} is {type(tensor).__name__}, not a tensor")
            tensors[f"{prefix}{name}"] = tensor
    for name, child in child_modules(module, where).items():
        tensors.update(state_dict_from_module(child, f"{prefix}{name}."))
    return tensors
