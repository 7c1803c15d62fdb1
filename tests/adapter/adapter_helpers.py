"""Test helpers: a tiny generator with nearly opaque rays, and samples labelled for it."""

import torch

from ffedit.adapter import LayoutSample
from ffedit.camera import named_camera
from ffedit.generator import PRESETS, TriplaneGenerator
from ffedit.layouts import Layout, LayoutClass

VIEWS = ("front", "left", "right")
HAIR = 13
"""base15's hair: with `opaque_tiny_generator`, about a third of the pixels."""
HAIR_LAYOUT = Layout(
    "hair", (LayoutClass("background", (0, 0, 0)), LayoutClass("hair", (212, 127, 255)))
)
"""A learnable two-class layout: where the generator's own logits say hair."""


def opaque_tiny_generator(seed: int = 0) -> TriplaneGenerator:
    """The tiny preset with random weights and a density bias, so rays are mostly opaque
    (random tiny weights alone give ~15 % opacity; trained models are opaque)."""
    torch.manual_seed(seed)
    generator = TriplaneGenerator(PRESETS["tiny"]).eval().requires_grad_(False)
    with torch.no_grad():
        generator.decoder.geo_net[2].bias[0] += 3.0
    return generator


def face_ws(generator: TriplaneGenerator, seed: int) -> torch.Tensor:
    z = torch.randn(1, generator.config.z_dim, generator=torch.Generator().manual_seed(seed))
    return generator.mapping(z, named_camera("front")[None])[0]


def hair_labels(generator: TriplaneGenerator, ws: torch.Tensor, cameras: torch.Tensor):
    """(B, H, W) `HAIR_LAYOUT` labels of ws (B, num_ws, w_dim) from cameras (B, 25)."""
    with torch.no_grad():
        output = generator.render(ws, cameras, super_resolve=False)
    return (output.seg_logits.argmax(1) == HAIR).long()


def hair_samples(generator: TriplaneGenerator, seeds) -> list[LayoutSample]:
    """Faces `seeds` at views front/left/right in turn, labelled with `HAIR_LAYOUT`."""
    ws = torch.stack([face_ws(generator, seed) for seed in seeds])
    cameras = torch.stack([named_camera(VIEWS[seed % 3]) for seed in seeds])
    labels = hair_labels(generator, ws, cameras)
    return [LayoutSample(*sample) for sample in zip(ws, cameras, labels, strict=True)]
