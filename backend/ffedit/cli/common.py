"""What several `ffedit` subcommands (and the benchmarks) share: argparse types, thread
settings, and loading the generator a command works on (with friendly errors). The device
rule is `ffedit.device.resolve_device`, imported where a command runs (it loads torch)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

from ffedit.config import DEFAULT_MODEL_PATH, TRAIN_DEFAULT_MODEL

Registrar = Callable[[argparse._SubParsersAction], None]
"""Adds one subcommand (or one family of them) to the parser's subparsers."""


DEFAULT_RENDER_PRESET = "tiny"
"""Preset `ffedit render` uses without --preset/--checkpoint (until a shipped model exists)."""
RENDER_CHUNK_RAYS = 1024
"""Rays per volume-rendering pass in the CLI: bounds memory (same result); on CPU small
chunks that stay in cache are also fastest (1024 ≈ 3× faster than all 16384 rays at once)."""


def seed_range(text: str) -> list[int]:
    """'START:COUNT' → [START, …, START + COUNT − 1] (argparse type)."""
    try:
        start, count = (int(part) for part in text.split(":"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected START:COUNT, e.g. 0:200, not {text!r}"
        ) from None
    if start < 0 or count < 1:
        raise argparse.ArgumentTypeError(f"START must be ≥ 0 and COUNT ≥ 1, not {text!r}")
    return list(range(start, start + count))


def name_list(text: str) -> list[str]:
    """'a,b,c' → ['a', 'b', 'c'] (argparse type)."""
    return [part.strip() for part in text.split(",") if part.strip()]


def set_torch_threads(threads: int | None) -> None:
    """Set torch's CPU thread count when --threads was given (None keeps torch's default)."""
    import torch

    if threads is not None:
        torch.set_num_threads(threads)


def synthface_setup(views: list[str], layouts: list[str], threads: int | None):
    """Check view names and resolve layout names (raises KeyError/UnknownLayout); set the
    torch thread count if given (one thread is often fastest on a busy small machine)."""
    from ffedit.camera import NAMED_VIEWS
    from ffedit.layouts import get_layout

    set_torch_threads(threads)
    unknown = [view for view in views if view not in NAMED_VIEWS]
    if unknown:
        raise KeyError(f"unknown views {unknown}; known views: {', '.join(NAMED_VIEWS)}")
    return [get_layout(name) for name in layouts]


def load_cli_generator(preset: str | None, checkpoint: str | None, device):
    """A checkpoint's generator, or a preset's with random weights (weight seed 0)."""
    import torch

    from ffedit.generator import PRESETS, TriplaneGenerator

    if checkpoint is not None:
        from ffedit.io.checkpoint import load_generator

        return load_generator(checkpoint, device)
    name = preset or DEFAULT_RENDER_PRESET
    if name not in PRESETS:
        raise KeyError(f"unknown preset {name!r}; known presets: {', '.join(PRESETS)}")
    torch.manual_seed(0)
    return TriplaneGenerator(PRESETS[name]).eval().to(device)


def layout_generator(model: str, device):
    """The generator of `model` (checkpoint folder, .pkl or .pth) with a friendly error."""
    from ffedit.io.checkpoint import load_generator
    from ffedit.io.errors import CheckpointError

    if model == DEFAULT_MODEL_PATH and not Path(model).exists():
        raise CheckpointError(
            f"the default model {DEFAULT_MODEL_PATH} is not there; train it with "
            f"`{TRAIN_DEFAULT_MODEL}` or pass --model"
        )
    return load_generator(model, device)


def front_ws(generator, latents):
    """ws (B, num_ws, w_dim) of latents (B, z_dim): the mapping conditioned on the front view
    (as every face of the app is); a latent of the wrong size is a ValueError."""
    import torch

    from ffedit.camera import named_camera

    if latents.shape[-1] != generator.config.z_dim:
        raise ValueError(
            f"the latents have {latents.shape[-1]} values but the model's z has "
            f"{generator.config.z_dim}: the samples were made for another model"
        )
    device = generator.device
    with torch.no_grad():
        return generator.mapping(latents.to(device), named_camera("front")[None].to(device))
