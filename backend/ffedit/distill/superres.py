"""Fitting the super-resolution head of a distilled generator to teacher renders.

Distillation (`distill.train`) supervises the neural-rendering outputs only (raw RGB, masks,
depth); the super-resolution head (raw RGB and features at the neural rendering resolution
→ the RGB image at its output resolution) is fitted afterwards with everything else frozen:
L1 between SR(raw RGB, features, ws) of training faces at random cameras and synthface's
render of the same faces at the SR resolution.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from ffedit.distill.teacher import TRAINING_SEED_START, TeacherSettings, random_cameras
from ffedit.generator import TriplaneGenerator
from ffedit.synthface import face_from_latent, latent_from_seed, render_face


@dataclass(frozen=True)
class SuperResolutionSettings:
    """How the super-resolution head is fitted."""

    faces: int = 64
    """Training faces (seeds from the training range), one random view each."""
    steps: int = 400
    """Adam steps."""
    batch_size: int = 4
    learning_rate: float = 2e-3
    seed: int = 0


@torch.no_grad()
def superresolution_data(
    generator: TriplaneGenerator, settings: SuperResolutionSettings
) -> dict[str, torch.Tensor]:
    """ws (F, num_ws, w_dim), rgb_raw (F, 3, H, W), features (F, Cf, H, W) of the frozen
    generator and the teacher's image (F, 3, S, S) in [−1, 1], one random view per face."""
    device = next(generator.parameters()).device
    rng = torch.Generator().manual_seed(settings.seed)
    size = generator.config.image_resolution
    zeros = torch.zeros(1, generator.config.c_dim, device=device)
    items: dict[str, list[torch.Tensor]] = {"ws": [], "rgb_raw": [], "features": [], "target": []}
    for index in range(settings.faces):
        z = latent_from_seed(TRAINING_SEED_START + index)
        camera = random_cameras(1, TeacherSettings(), rng)
        ws = generator.mapping(z[None].to(device), zeros)
        output = generator.render(ws, camera.to(device), super_resolve=False)
        teacher = render_face(face_from_latent(z[None]), camera, size)
        items["ws"].append(ws[0].cpu())
        items["rgb_raw"].append(output.rgb_raw[0].cpu())
        items["features"].append(output.features[0].cpu())
        items["target"].append(teacher.rgb[0].float())
    return {name: torch.stack(values) for name, values in items.items()}


def fit_superresolution(
    generator: TriplaneGenerator,
    data: dict[str, torch.Tensor],
    settings: SuperResolutionSettings,
    on_step: Callable[[int, float], None] | None = None,
) -> float:
    """Train the generator's super-resolution head on `superresolution_data`; returns the
    mean L1 of the last tenth of the steps. Only the head's parameters change."""
    device = next(generator.parameters()).device
    head = generator.superresolution
    optimizer = torch.optim.Adam(head.parameters(), lr=settings.learning_rate, betas=(0.9, 0.99))
    rng = torch.Generator().manual_seed(settings.seed)
    losses = []
    head.train()
    for step in range(settings.steps):
        picks = torch.randint(0, len(data["ws"]), (settings.batch_size,), generator=rng)
        batch = {name: value[picks].to(device) for name, value in data.items()}
        image = generator.superresolve(batch["rgb_raw"], batch["features"], batch["ws"])
        loss = (image - batch["target"]).abs().mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        losses.append(float(loss.detach()))
        if on_step is not None:
            on_step(step + 1, losses[-1])
    head.eval()
    tail = losses[-max(1, len(losses) // 10) :]
    return sum(tail) / len(tail)
