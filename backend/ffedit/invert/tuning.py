"""Pivotal tuning (Roich et al. 2022): the generator's weights nudged around one face's latent.

After W+ inversion, the latent is the pivot: it stays fixed, and the synthesis network's
fine blocks (`TUNED_PREFIXES`: the 32², 64² and 128² blocks) and the colour decoder are
tuned so that the render at the inverted camera matches the photo more closely, with an L2
pull of the weights toward the shared model's. The result is a delta per tuned tensor, kept
per face: the shared model never changes. Renders of a tuned face go through
`torch.func.functional_call` with the delta added (`tuned_render`), so no module is mutated
and another face rendered at the same time sees the shared weights.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import NamedTuple

import torch
from torch import nn
from torch.func import functional_call

from ffedit.edit.optimize import frozen
from ffedit.generator import GeneratorOutput, TriplaneGenerator
from ffedit.invert.optimize import (
    DEFAULT_INVERSION,
    InversionConfig,
    StepCallback,
    StopCheck,
    cameras_from_parameters,
    image_loss,
)

TUNED_PREFIXES = (
    "backbone.synthesis.b32.",
    "backbone.synthesis.b64.",
    "backbone.synthesis.b128.",
    "decoder.app_net.",
)
"""Parameter name prefixes pivotal tuning changes (the fine, high-resolution part)."""


@dataclass(frozen=True)
class TuningConfig:
    """Settings of `tune_generator`."""

    steps: int = 100
    learning_rate: float = 1e-3
    """Adam step of the weight deltas."""
    weight_pull: float = 1.0
    """Weight of the mean squared delta (keeps the tuned model near the shared one)."""


DEFAULT_TUNING = TuningConfig()


class TuningResult(NamedTuple):
    delta: dict[str, torch.Tensor]
    """Parameter name → its change (same shape), detached, on the generator's device."""
    losses: list[float]
    cancelled: bool
    seconds: float


class _Render(nn.Module):
    """`generator.render` as a forward, so that `functional_call` can swap its weights."""

    def __init__(self, generator: TriplaneGenerator) -> None:
        super().__init__()
        self.generator = generator

    def forward(self, ws: torch.Tensor, cameras: torch.Tensor, resolution: int):
        return self.generator.render(ws, cameras, resolution, super_resolve=False)


def tuned_parameters(generator: TriplaneGenerator) -> dict[str, torch.Tensor]:
    """The generator's parameters pivotal tuning changes (name → tensor)."""
    return {
        name: parameter
        for name, parameter in generator.named_parameters()
        if name.startswith(TUNED_PREFIXES)
    }


def tuned_render(
    generator: TriplaneGenerator,
    delta: dict[str, torch.Tensor],
    ws: torch.Tensor,
    cameras: torch.Tensor,
    resolution: int | None = None,
) -> GeneratorOutput:
    """The raw render (no super-resolution) of ws (B, num_ws, w_dim) from cameras with the
    weights + `delta` (empty: the shared model's)."""
    base = dict(generator.named_parameters())
    weights = {f"generator.{name}": base[name] + change for name, change in delta.items()}
    resolution = resolution or generator.config.neural_rendering_resolution
    return functional_call(_Render(generator), weights, (ws, cameras, resolution))


def tune_generator(
    generator: TriplaneGenerator,
    target: torch.Tensor,
    ws: torch.Tensor,
    camera: tuple[float, ...],
    config: TuningConfig = DEFAULT_TUNING,
    inversion: InversionConfig = DEFAULT_INVERSION,
    on_step: StepCallback | None = None,
    should_stop: StopCheck | None = None,
) -> TuningResult:
    """Tune the fine weights around pivot ws (1, num_ws, w_dim) seen from `camera` (the
    inversion's (yaw, pitch, log zoom, shift x, shift y)) toward target (3, H, W) in [−1, 1],
    with the inversion's image loss at its resolution (the generator's own parameters need
    no gradient meanwhile: only the deltas do; their flags are restored)."""
    with frozen(generator):
        return _tune(generator, target, ws, camera, config, inversion, on_step, should_stop)


def _tune(generator, target, ws, camera, config, inversion, on_step, should_stop) -> TuningResult:
    begin = time.perf_counter()
    device = generator.device
    image = nn.functional.interpolate(
        target[None].to(device).float(), size=(inversion.resolution,) * 2, mode="area"
    )
    cameras = cameras_from_parameters(torch.tensor(list(camera), dtype=torch.float32)).to(device)
    pivot = ws.to(device).detach()
    delta = {
        name: torch.zeros_like(p, requires_grad=True)
        for name, p in tuned_parameters(generator).items()
    }
    optimizer = torch.optim.Adam(delta.values(), lr=config.learning_rate)
    losses: list[float] = []
    cancelled = False
    count = sum(d.numel() for d in delta.values())
    for _ in range(config.steps):
        optimizer.zero_grad(set_to_none=True)
        render = tuned_render(generator, delta, pivot, cameras, inversion.resolution).rgb_raw
        pull = sum(d.square().sum() for d in delta.values()) / count
        loss = image_loss(render, image, inversion) + config.weight_pull * pull
        loss.backward()
        optimizer.step()
        losses.append(float(loss.detach()))
        if on_step is not None:
            on_step(len(losses), config.steps, losses[-1])
        if should_stop is not None and should_stop():
            cancelled = True
            break
    return TuningResult(
        delta={name: d.detach() for name, d in delta.items()},
        losses=losses,
        cancelled=cancelled,
        seconds=time.perf_counter() - begin,
    )
