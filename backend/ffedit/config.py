"""Frozen model settings: the generator's architecture and rendering, and its presets.

A checkpoint stores its `GeneratorConfig` as JSON next to the weights and is rebuilt from
it (`GeneratorConfig.from_dict`). Runtime settings (paths, device, limits) are not here:
they belong to the API and CLI.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field


@dataclass(frozen=True)
class RenderConfig:
    """Ray sampling and compositing (EG3D's `rendering_kwargs`)."""

    ray_start: float = 2.25
    """Near bound of every ray, in world units from the camera."""
    ray_end: float = 3.3
    """Far bound of every ray."""
    box_warp: float = 1.0
    """Side of the tri-plane cube centred at the origin: points are scaled by 2/box_warp."""
    depth_resolution: int = 48
    """Stratified (coarse) samples per ray."""
    depth_resolution_importance: int = 48
    """Importance (fine) samples per ray drawn from the coarse weights."""
    density_shift: float = -1.0
    """The marcher activates densities as softplus(σ + density_shift)."""


@dataclass(frozen=True)
class SuperResolutionConfig:
    """The super-resolution head: StyleGAN2 synthesis blocks, each up-sampling ×2."""

    input_resolution: int = 128
    """Feature images are resized (bilinear, antialiased) to this size first."""
    block_channels: tuple[int, ...] = (256, 128)
    """Output channels of each block; one block per ×2 step (EG3D's 128→512: (256, 128))."""
    conv_clamp: float | None = 256.0
    """Activation clamp of the blocks (EG3D: 256 because the SR runs in fp16)."""
    antialias: bool = True
    """Antialias the bilinear resize of the inputs when they are not `input_resolution`."""
    noise_mode: str = "none"
    """Per-layer noise of the SR blocks: 'none' as in EG3D, 'const' or 'random'."""

    @property
    def output_resolution(self) -> int:
        return self.input_resolution * 2 ** len(self.block_channels)


@dataclass(frozen=True)
class GeneratorConfig:
    """Architecture of an EG3D tri-plane generator with NeRFFaceEditing's decoders."""

    z_dim: int = 512
    """Latent size."""
    w_dim: int = 512
    """Intermediate latent (w) size."""
    c_dim: int = 25
    """Conditioning size: the 25-float camera vector."""
    mapping_layers: int = 2
    """Fully connected layers of the mapping network."""
    mapping_lr_multiplier: float = 0.01
    """Equalised learning-rate multiplier of the mapping layers."""
    w_avg_beta: float = 0.998
    """EMA decay of the tracked mean w (`w_avg`)."""
    plane_resolution: int = 256
    """Side of each tri-plane; the backbone has one block per power of two from 4."""
    plane_channels: int = 32
    """Channels per plane (the backbone outputs 3×plane_channels)."""
    channel_base: int = 32768
    """Backbone channels at resolution r are min(channel_base // r, channel_max), raised to
    channel_min."""
    channel_max: int = 512
    """Upper bound of backbone channels."""
    channel_min: int = 0
    """Lower bound of backbone channels (0: EG3D's rule alone): widens only the
    high-resolution blocks, where channel_base // r is smallest. Tried at 64 for synthface-128
    (v9c in the model card): no better per distillation step, and every step and render
    costs more."""
    backbone_conv_clamp: float | None = None
    """Activation clamp of the backbone layers (None for EG3D FFHQ)."""
    decoder_hidden: int = 64
    """Hidden width of the geometry and appearance decoders."""
    decoder_lr_multiplier: float = 1.0
    """Equalised learning-rate multiplier of the decoders."""
    seg_classes: int = 15
    """Segmentation logits of the geometry decoder (NeRFFaceEditing: 15, `base15`)."""
    feature_channels: int = 32
    """Colour features of the appearance decoder; the first three are raw RGB."""
    neural_rendering_resolution: int = 128
    """Side of the volume-rendered feature, mask and depth images."""
    c_scale: float = 1.0
    """The mapping network sees c · c_scale."""
    c_gen_conditioning_zero: bool = False
    """Zero the camera before mapping (pose-free generation)."""
    appearance_ws: tuple[int, ...] = (9, 10, 11, 12, 13)
    """ws layers that carry appearance only (latent-mixing augmentation mixes these)."""
    render: RenderConfig = field(default_factory=RenderConfig)
    """Ray sampling and compositing."""
    superresolution: SuperResolutionConfig = field(default_factory=SuperResolutionConfig)
    """The super-resolution head."""

    @property
    def num_ws(self) -> int:
        """w vectors consumed by the backbone: one per conv layer plus the last ToRGB."""
        return 2 * int(math.log2(self.plane_resolution)) - 2

    @property
    def image_resolution(self) -> int:
        """Side of the super-resolved RGB image."""
        return self.superresolution.output_resolution

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> GeneratorConfig:
        """Rebuild a config from `to_dict` output (JSON lists become tuples again)."""
        data = dict(data)
        render = RenderConfig(**data.pop("render", {}))
        sr = dict(data.pop("superresolution", {}))
        if "block_channels" in sr:
            sr["block_channels"] = tuple(sr["block_channels"])
        if "appearance_ws" in data:
            data["appearance_ws"] = tuple(data["appearance_ws"])
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown generator config fields: {', '.join(unknown)}")
        return cls(render=render, superresolution=SuperResolutionConfig(**sr), **data)


DEFAULT_MODEL_PATH = "models/synthface-128"
"""The shipped default model's checkpoint folder, relative to the repository root."""
TRAIN_DEFAULT_MODEL = (
    f"ffedit train-generator --run runs/synthface-128 --export {DEFAULT_MODEL_PATH}"
)
"""The command that trains the default model (said wherever it is missing)."""

PRESETS: dict[str, GeneratorConfig] = {
    # NeRFFaceEditing's FFHQ generator (EG3D `--cfg=ffhq --gen_pose_cond=True`): state_dict
    # names and shapes identical to the official G_ema; 48+48 samples as in the pickle.
    "nerffaceediting-ffhq512": GeneratorConfig(),
    # The shipped default, distilled from synthface (models/synthface-128): EG3D's structure
    # sized for CPU use; 128² planes (half the backbone cost of 256², which edits pay at
    # every step); pose-free mapping (the camera never conditions identity); masks and raw
    # RGB at 128², one super-resolution block to 256². Appearance: the last two blocks' ws.
    # The mapping learns at the full rate (EG3D's GAN uses 0.01–0.1): distillation has a
    # target for every z, and 300 steps from scratch reached base15 mIoU 0.306 vs 0.296 at
    # 0.1 (0.332 with the learning rate doubled to 4e-3).
    "synthface-128": GeneratorConfig(
        w_dim=256,
        plane_resolution=128,
        appearance_ws=(7, 8, 9, 10, 11),
        mapping_lr_multiplier=1.0,
        channel_base=4096,
        channel_max=256,
        c_gen_conditioning_zero=True,
        render=RenderConfig(depth_resolution=24, depth_resolution_importance=24),
        superresolution=SuperResolutionConfig(block_channels=(32,), conv_clamp=None),
    ),
    # A few-millisecond generator for tests.
    "tiny": GeneratorConfig(
        z_dim=32,
        w_dim=32,
        plane_resolution=32,
        plane_channels=8,
        channel_base=512,
        channel_max=32,
        decoder_hidden=16,
        feature_channels=8,
        neural_rendering_resolution=32,
        appearance_ws=(5, 6, 7),
        render=RenderConfig(depth_resolution=12, depth_resolution_importance=12),
        superresolution=SuperResolutionConfig(input_resolution=32, block_channels=(16,)),
    ),
}
