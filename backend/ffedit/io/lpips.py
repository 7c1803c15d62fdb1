"""Reading LPIPS-VGG weights from disk (`ffedit.edit.lpips` holds the network itself).

One file, safetensors or a PyTorch state dict read without running code, with the tensors
`ffedit.edit.lpips` lists; the edit loss is built from it and handed to `optimize_latent`.
"""

from __future__ import annotations

import os
from pathlib import Path

from ffedit.edit.errors import LpipsWeightsError
from ffedit.edit.lpips import LpipsVgg
from ffedit.io.errors import CheckpointError
from ffedit.io.tensors import load_tensors, load_training_state


def load_lpips(path: str | os.PathLike) -> LpipsVgg:
    """The LPIPS network of a weights file (module doc); `LpipsWeightsError` when the file
    is missing, unreadable or incomplete."""
    source = Path(path)
    if not source.is_file():
        raise LpipsWeightsError(
            f"LPIPS weights not found at {source}; they cannot be downloaded here. Put a file "
            "with torchvision's vgg16 `features.*` and lpips' `lin0`…`lin4` tensors there "
            "(see ffedit.edit.lpips), or edit without LPIPS (MSE + SSIM, the default)."
        )
    try:
        state = (
            load_tensors(source) if source.suffix == ".safetensors" else load_training_state(source)
        )
    except CheckpointError as error:
        raise LpipsWeightsError(f"cannot read LPIPS weights {source}: {error}") from error
    if not isinstance(state, dict):
        raise LpipsWeightsError(f"{source} holds no state dict (got {type(state).__name__})")
    return LpipsVgg(state)
