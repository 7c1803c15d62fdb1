"""The MTCNN face detector's weights, read from the `facenet-pytorch` package's data files.

facenet-pytorch (MIT) ships the three networks' state dicts as `data/{p,r,o}net.pt`; its own
code needs torchvision, so the package is located without being imported and only its
weight files are read (tensors only, no pickled code). Nothing is downloaded.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import torch

from ffedit.photo.mtcnn import Mtcnn

WEIGHTS_PACKAGE = "facenet_pytorch"


class DetectorWeightsMissing(RuntimeError):
    """The package holding the detector's weights is not installed."""


def detector_weights_folder() -> Path:
    """The folder holding pnet.pt, rnet.pt and onet.pt."""
    spec = importlib.util.find_spec(WEIGHTS_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise DetectorWeightsMissing(
            "the face detector's weights come from the facenet-pytorch package: "
            "pip install --no-deps facenet-pytorch==2.6.0"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "data"


def load_mtcnn(device: torch.device | str = "cpu") -> Mtcnn:
    """The MTCNN cascade with its shipped weights, on `device`, in eval mode."""
    mtcnn = Mtcnn()
    folder = detector_weights_folder()
    for name in ("pnet", "rnet", "onet"):
        state = torch.load(folder / f"{name}.pt", map_location="cpu", weights_only=True)
        getattr(mtcnn, name).load_state_dict(state)
    return mtcnn.eval().to(device)
