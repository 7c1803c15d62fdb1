"""The EG3D/NeRFFaceEditing tri-plane generator in plain PyTorch (no custom CUDA ops).

`TriplaneGenerator(PRESETS[name])` builds a generator whose state_dict names and shapes
match the official `G_ema`; `mapping`, `synthesize_planes`, `render` (and its ray-level
core `render_rays`), `sample_points` and `superresolve` are its public steps;
`ws_from_seed` / `ws_from_z` (`faces`) give a face's ws (from a seed's z or a given z).
"""

from ffedit.config import PRESETS, GeneratorConfig
from ffedit.generator.faces import ws_from_seed, ws_from_z, z_from_seed
from ffedit.generator.images import signed_image, uint8_image, uint8_tensor
from ffedit.generator.triplane import (
    SERVING_APPEARANCE_THRESHOLD,
    GeneratorOutput,
    PointSamples,
    RayOutput,
    SegHead,
    TriplaneGenerator,
    images_from_rays,
)

__all__ = [
    "PRESETS",
    "SERVING_APPEARANCE_THRESHOLD",
    "GeneratorConfig",
    "GeneratorOutput",
    "PointSamples",
    "RayOutput",
    "SegHead",
    "TriplaneGenerator",
    "images_from_rays",
    "signed_image",
    "uint8_image",
    "uint8_tensor",
    "ws_from_seed",
    "ws_from_z",
    "z_from_seed",
]
