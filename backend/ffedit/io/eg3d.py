"""Import NeRFFaceEditing/EG3D `.pkl` snapshots and FFaceNeRF `ckpt_*.pth` files, source-free.

Both are unpickled with `restricted_pickle` (nothing in them runs). From the generator's
module tree this file takes the state_dict (names identical to our `TriplaneGenerator`) and
recovers the `GeneratorConfig`:

- sizes from the weights themselves (mapping fc shapes → z/w/c dims and depth; the largest
  `b{R}` block → plane resolution; ToRGB width / 3 → plane channels; decoder widths →
  hidden size, seg classes and colour features; SR blocks → SR channels);
- hyper-parameters from the recorded `_init_kwargs` of the backbone, mapping and
  super-resolution modules (and the top generator's, when it is a persistent class);
- rendering from the generator's `rendering_kwargs` attribute and its
  `neural_rendering_resolution`.

An FFaceNeRF checkpoint additionally holds the geometry adapter `decoder.geo_net_appdx`,
returned separately by `read_ffacenerf_adapter`.
"""

from __future__ import annotations

import dataclasses
import os
import re
from dataclasses import dataclass
from typing import NamedTuple

import torch

from ffedit.config import PRESETS, GeneratorConfig, RenderConfig, SuperResolutionConfig
from ffedit.io.errors import ArchitectureMismatch, CheckpointError, UnsupportedCheckpoint
from ffedit.io.module_records import (
    child_modules,
    init_kwargs,
    module_state,
    state_dict_from_module,
    submodule,
)
from ffedit.io.restricted_pickle import (
    is_pickle,
    is_zip,
    object_class_name,
    read_pickle_file,
    read_torch_zip_file,
)

ADAPTER_PREFIX = "decoder.geo_net_appdx."
SUPERRESOLUTION_MODULE = "SuperresolutionHybrid8XDC"
# EG3D constructor defaults, used only when a checkpoint did not record the argument.
_DEFAULT_NEURAL_RENDERING_RESOLUTION = 64
_DEFAULT_CHANNEL_BASE = 32768
_DEFAULT_CHANNEL_MAX = 512
_DEFAULT_MAPPING_LR_MULTIPLIER = 0.01
_DEFAULT_W_AVG_BETA = 0.998
_SR_FP16_CONV_CLAMP = 256.0
_RAY_DIRECTION_CHANNELS = 3


@dataclass(frozen=True)
class ForeignGenerator:
    """A generator read from an EG3D-family checkpoint, ready to load into `TriplaneGenerator`."""

    config: GeneratorConfig
    """Recovered architecture and rendering settings."""
    state_dict: dict[str, torch.Tensor]
    """Generator tensors (adapter tensors excluded), names as in `TriplaneGenerator`."""
    class_name: str
    """Class of the pickled generator ('TriPlaneGenerator', 'TriPlaneGenerator_eyes', …)."""
    preset: str | None
    """Name of the `PRESETS` entry the config equals, if any."""


class AdapterCheckpoint(NamedTuple):
    """FFaceNeRF's geometry adapter `decoder.geo_net_appdx` as stored in a `ckpt_*.pth`.

    Weights are raw equalised-lr values (runtime gain 1/√fan_in, as in EG3D's FC layer).
    """

    state_dict: dict[str, torch.Tensor]
    """'0.weight' [64, in], '0.bias' [64], '2.weight' [K, 64], '2.bias' [K]."""
    num_classes: int
    """K, the logits of the custom layout."""
    variant: str
    """'injection' (input: features + geometry output + ray direction) or 'simple'."""


def read_foreign_generator(path: str | os.PathLike) -> ForeignGenerator:
    """Read the generator of a NeRFFaceEditing `.pkl` (its `G_ema`) or FFaceNeRF `.pth`."""
    return generator_from_module(_read_generator_module(path), path)


def read_ffacenerf_adapter(path: str | os.PathLike) -> AdapterCheckpoint:
    """Extract FFaceNeRF's geometry adapter from a `ckpt_*.pth` (or a pickle holding one)."""
    tensors = state_dict_from_module(_read_generator_module(path))
    adapter = {
        name.removeprefix(ADAPTER_PREFIX): tensor
        for name, tensor in tensors.items()
        if name.startswith(ADAPTER_PREFIX)
    }
    expected = {"0.weight", "0.bias", "2.weight", "2.bias"}
    if set(adapter) != expected:
        decoder_names = sorted({n.split(".")[1] for n in tensors if n.startswith("decoder.")})
        raise CheckpointError(
            f"{path} holds no FFaceNeRF geometry adapter "
            f"({ADAPTER_PREFIX}{{0,2}}.{{weight,bias}}); "
            f"its decoder has: {', '.join(decoder_names) or 'nothing'}"
        )
    geo_out, plane_features = 16, 32
    if "decoder.geo_net.2.weight" in tensors and "decoder.geo_net.0.weight" in tensors:
        geo_out = tensors["decoder.geo_net.2.weight"].shape[0]
        plane_features = tensors["decoder.geo_net.0.weight"].shape[1]
    in_features = adapter["0.weight"].shape[1]
    if in_features == plane_features + geo_out + _RAY_DIRECTION_CHANNELS:
        variant = "injection"
    elif in_features == geo_out:
        variant = "simple"
    else:
        raise UnsupportedCheckpoint(
            f"{path}: adapter input width {in_features} is neither {plane_features}+{geo_out}+3 "
            f"(feature injection) nor {geo_out} (simple)"
        )
    return AdapterCheckpoint(adapter, int(adapter["2.weight"].shape[0]), variant)


def _read_generator_module(path: str | os.PathLike) -> object:
    if is_zip(path):
        return read_torch_zip_file(path)
    if not is_pickle(path):
        raise CheckpointError(f"{path} is truncated or not a pickle (nor a torch.save zip)")
    snapshot = read_pickle_file(path)
    if not isinstance(snapshot, dict):
        raise CheckpointError(
            f"{path} is a pickle of {object_class_name(snapshot)}, not an EG3D snapshot dict"
        )
    if "G_ema" not in snapshot:
        found = ", ".join(sorted(map(str, snapshot))) or "none"
        raise CheckpointError(f"{path} has no 'G_ema' entry (keys found: {found})")
    return snapshot["G_ema"]


def generator_from_module(generator: object, path: str | os.PathLike) -> ForeignGenerator:
    """State_dict and recovered config of an unpickled EG3D-family generator module."""
    decoder = submodule(generator, "decoder")
    decoder_children = set(child_modules(decoder, "decoder")) if decoder is not None else set()
    if "geo_net" not in decoder_children or "app_net" not in decoder_children:
        if "net" in decoder_children:
            raise UnsupportedCheckpoint(
                f"{path}: EG3D checkpoint without NeRFFaceEditing's geometry/appearance "
                "decoders (decoder.net instead of decoder.geo_net/app_net) is not supported yet"
            )
        raise UnsupportedCheckpoint(
            f"{path}: generator has no decoder.geo_net/app_net "
            f"(decoder children: {', '.join(sorted(decoder_children)) or 'none'})"
        )
    tensors = state_dict_from_module(generator)
    generator_tensors = {k: v for k, v in tensors.items() if not k.startswith(ADAPTER_PREFIX)}
    config = recover_config(generator, generator_tensors, path)
    return ForeignGenerator(
        config=config,
        state_dict=generator_tensors,
        class_name=object_class_name(generator),
        preset=matching_preset(config),
    )


def matching_preset(config: GeneratorConfig) -> str | None:
    """Name of the preset equal to `config` (ignoring `appearance_ws`), or None."""
    for name, preset in PRESETS.items():
        if dataclasses.replace(config, appearance_ws=preset.appearance_ws) == preset:
            return name
    return None


def recover_config(
    generator: object, tensors: dict[str, torch.Tensor], path: str | os.PathLike
) -> GeneratorConfig:
    """`GeneratorConfig` of a pickled generator from its weights and recorded settings."""
    top_state = module_state(generator, "generator")
    top_kwargs = init_kwargs(generator)
    backbone_kwargs = {**top_kwargs, **init_kwargs(submodule(generator, "backbone"))}
    mapping_kwargs = init_kwargs(submodule(generator, "backbone.mapping"))
    sr_kwargs = {**top_kwargs, **init_kwargs(submodule(generator, "superresolution"))}
    rendering = top_state.get("rendering_kwargs") or top_kwargs.get("rendering_kwargs")
    if not isinstance(rendering, dict):
        raise CheckpointError(f"{path}: generator records no rendering_kwargs")
    sizes = _sizes_from_weights(tensors, path)
    image_resolution = (
        rendering.get("image_resolution")
        or top_state.get("img_resolution")
        or top_kwargs.get("img_resolution")
    )
    if not image_resolution:
        raise CheckpointError(f"{path}: cannot recover the output image resolution")
    config = GeneratorConfig(
        z_dim=sizes["z_dim"],
        w_dim=sizes["w_dim"],
        c_dim=sizes["c_dim"],
        mapping_layers=sizes["mapping_layers"],
        mapping_lr_multiplier=float(
            mapping_kwargs.get("lr_multiplier", _DEFAULT_MAPPING_LR_MULTIPLIER)
        ),
        w_avg_beta=float(mapping_kwargs.get("w_avg_beta", _DEFAULT_W_AVG_BETA)),
        plane_resolution=sizes["plane_resolution"],
        plane_channels=sizes["plane_channels"],
        channel_base=int(backbone_kwargs.get("channel_base", _DEFAULT_CHANNEL_BASE)),
        channel_max=int(backbone_kwargs.get("channel_max", _DEFAULT_CHANNEL_MAX)),
        backbone_conv_clamp=_optional_float(backbone_kwargs.get("conv_clamp")),
        decoder_hidden=sizes["decoder_hidden"],
        decoder_lr_multiplier=float(rendering.get("decoder_lr_mul", 1.0)),
        seg_classes=sizes["seg_classes"],
        feature_channels=sizes["feature_channels"],
        neural_rendering_resolution=int(
            top_state.get("neural_rendering_resolution", _DEFAULT_NEURAL_RENDERING_RESOLUTION)
        ),
        c_scale=float(rendering.get("c_scale", 1.0)),
        c_gen_conditioning_zero=bool(rendering.get("c_gen_conditioning_zero", False)),
        render=_render_config(rendering, path),
        superresolution=_superresolution_config(
            rendering, sr_kwargs, sizes["sr_blocks"], int(image_resolution), path
        ),
    )
    preset = matching_preset(config)
    appearance_ws = (
        PRESETS[preset].appearance_ws
        if preset
        else tuple(range(max(config.num_ws - 5, 0), config.num_ws))
    )
    return dataclasses.replace(config, appearance_ws=appearance_ws)


def _render_config(rendering: dict, path: str | os.PathLike) -> RenderConfig:
    for key in ("depth_resolution", "depth_resolution_importance", "ray_start", "ray_end"):
        if key not in rendering:
            raise CheckpointError(f"{path}: rendering_kwargs lacks {key!r}")
        if rendering[key] == "auto":
            raise UnsupportedCheckpoint(
                f"{path}: rendering_kwargs[{key!r}] = 'auto' is not supported"
            )
    if rendering.get("clamp_mode", "softplus") != "softplus":
        raise UnsupportedCheckpoint(
            f"{path}: clamp_mode {rendering['clamp_mode']!r} is not supported (only 'softplus')"
        )
    if rendering.get("disparity_space_sampling", False):
        raise UnsupportedCheckpoint(f"{path}: disparity-space sampling is not supported")
    return RenderConfig(
        ray_start=float(rendering["ray_start"]),
        ray_end=float(rendering["ray_end"]),
        box_warp=float(rendering.get("box_warp", 1.0)),
        depth_resolution=int(rendering["depth_resolution"]),
        depth_resolution_importance=int(rendering["depth_resolution_importance"]),
    )


def _superresolution_config(
    rendering: dict,
    sr_kwargs: dict,
    block_channels: tuple[int, ...],
    image_resolution: int,
    path: str | os.PathLike,
) -> SuperResolutionConfig:
    module = str(rendering.get("superresolution_module", ""))
    if module.rsplit(".", 1)[-1] != SUPERRESOLUTION_MODULE:
        raise UnsupportedCheckpoint(
            f"{path}: super-resolution module {module!r} is not supported "
            f"(only {SUPERRESOLUTION_MODULE})"
        )
    fp16 = int(sr_kwargs.get("sr_num_fp16_res", 0)) > 0
    return SuperResolutionConfig(
        input_resolution=image_resolution // 2 ** len(block_channels),
        block_channels=block_channels,
        conv_clamp=_SR_FP16_CONV_CLAMP if fp16 else None,
        antialias=bool(rendering.get("sr_antialias", True)),
        noise_mode=str(rendering.get("superresolution_noise_mode", "none")),
    )


def _sizes_from_weights(tensors: dict[str, torch.Tensor], path: str | os.PathLike) -> dict:
    def shape(name: str) -> torch.Size:
        if name not in tensors:
            raise ArchitectureMismatch(f"{path}: missing tensor {name} (needed to recover sizes)")
        return tensors[name].shape

    mapping_layers = _count_indexed(tensors, r"backbone\.mapping\.fc(\d+)\.weight")
    block_resolutions = _indices(tensors, r"backbone\.synthesis\.b(\d+)\.torgb\.weight")
    sr_blocks = _count_indexed(tensors, r"superresolution\.block(\d+)\.conv1\.weight")
    if not mapping_layers or not block_resolutions:
        raise ArchitectureMismatch(
            f"{path}: no backbone.mapping.fc* or backbone.synthesis.b* weights"
        )
    embed_out, c_dim = (
        shape("backbone.mapping.embed.weight")
        if "backbone.mapping.embed.weight" in tensors
        else (0, 0)
    )
    plane_resolution = max(block_resolutions)
    torgb_out = shape(f"backbone.synthesis.b{plane_resolution}.torgb.weight")[0]
    if torgb_out % 3:
        raise ArchitectureMismatch(f"{path}: backbone outputs {torgb_out} channels, not 3 planes")
    return {
        "z_dim": shape("backbone.mapping.fc0.weight")[1] - embed_out,
        "w_dim": shape(f"backbone.mapping.fc{mapping_layers - 1}.weight")[0],
        "c_dim": c_dim,
        "mapping_layers": mapping_layers,
        "plane_resolution": plane_resolution,
        "plane_channels": torgb_out // 3,
        "decoder_hidden": shape("decoder.geo_net.0.weight")[0],
        "seg_classes": shape("decoder.geo_net.2.weight")[0] - 1,
        "feature_channels": shape("decoder.app_net.2.weight")[0],
        "sr_blocks": tuple(
            shape(f"superresolution.block{i}.conv1.weight")[0] for i in range(sr_blocks)
        ),
    }


def _indices(tensors: dict, pattern: str) -> list[int]:
    return [int(m.group(1)) for name in tensors if (m := re.fullmatch(pattern, name))]


def _count_indexed(tensors: dict, pattern: str) -> int:
    """Number of consecutive indices 0, 1, … present for `pattern`."""
    present = set(_indices(tensors, pattern))
    count = 0
    while count in present:
        count += 1
    return count


def _optional_float(value: object) -> float | None:
    return None if value is None else float(value)
