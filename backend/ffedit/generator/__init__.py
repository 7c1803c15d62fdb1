"""The EG3D/NeRFFaceEditing tri-plane generator in plain PyTorch (no custom CUDA ops).

`TriplaneGenerator(PRESETS[name])` builds a generator whose state_dict names and shapes
match the official `G_ema`; `mapping`, `synthesize_planes`, `render` (and its ray-level
core `render_rays`), `sample_points` and `superresolve` are its public steps;
`ws_from_seed` / `ws_from_latent` (`faces`) give a face's latent.
"""

from ffedit.config import PRESETS, GeneratorConfig
from ffedit.generator.faces import seed_latent, ws_from_latent, ws_from_seed
from ffedit.generator.images import uint8_image
from ffedit.generator.triplane import (
    SERVING_APPEARANCE_THRESHOLD,
    GeneratorOutput,
    PointSamples,
    RayOutput,
    SegHead,
    TriplaneGenerator,
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
    "seed_latent",
    "uint8_image",
    "ws_from_latent",
    "ws_from_seed",
]
