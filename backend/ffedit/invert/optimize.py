"""`invert_image`: the latent and camera that make the generator render an aligned photo.

Two stages, as in the EG3D family's projectors: first one w shared by every ws row, from
`w_avg` (stays on the generator's manifold: plausible geometry at unseen views), then W+
(every row free, starting from that w, pulled back toward it by a small penalty) for the
detail one w cannot hold. The camera (yaw, pitch) starts at the landmark fit and is refined
jointly in both stages, with a zoom and principal-point shift that correct the crop (the
landmarks place an average face; this face's head may be larger or sit higher). The loss
compares the raw neural render with the photo at the optimisation resolution: MSE +
(1 − SSIM) + a Laplacian-pyramid L1 (`ffedit.invert.losses`). The loop reports through
`on_step` and stops early when `should_stop()` says so; it never logs, saves or sleeps.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

import torch
import torch.nn.functional as F

from ffedit.camera import fov_to_intrinsics, look_at_poses, pack_cameras
from ffedit.edit.optimize import frozen
from ffedit.generator import TriplaneGenerator
from ffedit.invert.losses import image_ssim, laplacian_l1


@dataclass(frozen=True)
class InversionConfig:
    """Settings of `invert_image`."""

    w_steps: int = 150
    """Steps optimising one w (all ws rows equal)."""
    wplus_steps: int = 150
    """Steps optimising every ws row (W+) after the w stage; 0 stops at w."""
    resolution: int = 64
    """Side of the raw render compared with the photo during optimisation."""
    learning_rate: float = 0.02
    """Adam step of w and W+ (latent units)."""
    camera_learning_rate: float = 0.005
    """Adam step of yaw, pitch (radians), log zoom and principal point shift; 0 keeps the
    landmark fit's camera and crop."""
    ssim_weight: float = 0.5
    """Weight of 1 − SSIM."""
    pyramid_weight: float = 1.0
    """Weight of the Laplacian-pyramid L1."""
    wplus_pull: float = 0.01
    """Weight of the mean squared distance of the W+ rows from the w stage's result."""

    def __post_init__(self) -> None:
        if self.w_steps < 1 or self.wplus_steps < 0:
            raise ValueError(
                f"the w stage needs at least 1 step and W+ at least 0, not {self.w_steps} and "
                f"{self.wplus_steps}"
            )
        if not 16 <= self.resolution <= 512:
            raise ValueError(f"the fitting resolution must be 16…512, not {self.resolution}")


DEFAULT_INVERSION = InversionConfig()


class Camera(NamedTuple):
    """The inversion's camera: a look-at pose and the crop's correction of the intrinsics."""

    yaw: float
    """Radians, EG3D's convention (π/2 is the front)."""
    pitch: float
    log_zoom: float = 0.0
    """log of the focal length's factor: the crop was this much too wide."""
    shift_x: float = 0.0
    """Principal point offset (image widths): the crop was off-centre by this much."""
    shift_y: float = 0.0


def cameras_from_parameters(params: torch.Tensor) -> torch.Tensor:
    """(1, 25) camera vector of params (5,) = (yaw, pitch, log zoom, shift x, shift y) with
    the generator's radius, pivot and FFHQ focal length (differentiable)."""
    intrinsics = fov_to_intrinsics().to(params)
    zoom = torch.exp(params[2])
    row0 = torch.stack([intrinsics[0, 0] * zoom, params.new_zeros(()), 0.5 + params[3]])
    row1 = torch.stack([params.new_zeros(()), intrinsics[1, 1] * zoom, 0.5 + params[4]])
    matrix = torch.stack([row0, row1, intrinsics[2]])
    return pack_cameras(look_at_poses(params[:1], params[1:2]).to(params), matrix[None])


class InversionResult(NamedTuple):
    """What `invert_image` found."""

    w_ws: torch.Tensor
    """(1, num_ws, w_dim) the w stage's latent (rows equal)."""
    ws: torch.Tensor
    """(1, num_ws, w_dim) the final latent (W+ when wplus_steps > 0)."""
    w_camera: Camera
    """The camera after the w stage."""
    camera: Camera
    """The final camera."""
    losses: list[float]
    """Total loss per step."""
    cancelled: bool
    seconds: float


StepCallback = Callable[[int, int, float], None]
"""on_step(steps done, total steps, total loss)."""
StopCheck = Callable[[], bool]


def image_loss(render: torch.Tensor, target: torch.Tensor, config: InversionConfig):
    """Scalar loss of a raw render against the target, both (1, 3, H, W) in [−1, 1]."""
    mse = F.mse_loss(render, target)
    ssim = image_ssim(render, target).mean()
    pyramid = laplacian_l1(render, target).mean()
    return mse + config.ssim_weight * (1 - ssim) + config.pyramid_weight * pyramid


def _render_raw(
    generator: TriplaneGenerator, ws: torch.Tensor, params: torch.Tensor, resolution: int
) -> torch.Tensor:
    cameras = cameras_from_parameters(params).to(ws)
    return generator.render(ws, cameras, resolution, super_resolve=False).rgb_raw


def invert_image(
    generator: TriplaneGenerator,
    target: torch.Tensor,
    start: Camera,
    config: InversionConfig = DEFAULT_INVERSION,
    on_step: StepCallback | None = None,
    should_stop: StopCheck | None = None,
) -> InversionResult:
    """Invert target (3, H, W) in [−1, 1] (an aligned crop) starting from camera `start`
    (the generator's parameters need no gradient meanwhile; their flags are restored)."""
    with frozen(generator):
        return _invert(generator, target, start, config, on_step, should_stop)


def _invert(
    generator: TriplaneGenerator,
    target: torch.Tensor,
    start: Camera,
    config: InversionConfig,
    on_step: StepCallback | None,
    should_stop: StopCheck | None,
) -> InversionResult:
    begin = time.perf_counter()
    device = generator.device
    image = F.interpolate(
        target[None].to(device).float(), size=(config.resolution,) * 2, mode="area"
    )
    num_ws = generator.config.num_ws
    w = generator.backbone.mapping.w_avg.detach().clone()[None, None].requires_grad_(True)
    angles = torch.tensor(list(start), dtype=torch.float32, requires_grad=True)
    total = config.w_steps + config.wplus_steps
    losses: list[float] = []

    def stage(latent: torch.Tensor, steps: int, make_ws, pull) -> bool:
        groups = [{"params": [latent], "lr": config.learning_rate}]
        if config.camera_learning_rate > 0:
            groups.append({"params": [angles], "lr": config.camera_learning_rate})
        optimizer = torch.optim.Adam(groups)
        for _ in range(steps):
            optimizer.zero_grad(set_to_none=True)
            ws = make_ws(latent)
            loss = image_loss(_render_raw(generator, ws, angles, config.resolution), image, config)
            loss = loss + pull(latent)
            loss.backward()
            if config.camera_learning_rate == 0:
                angles.grad = None
            optimizer.step()
            losses.append(float(loss.detach()))
            if on_step is not None:
                on_step(len(losses), total, losses[-1])
            if should_stop is not None and should_stop():
                return True
        return False

    def no_pull(_latent: torch.Tensor) -> torch.Tensor:
        return torch.zeros((), device=device)

    cancelled = stage(w, config.w_steps, lambda w: w.expand(1, num_ws, -1), no_pull)
    w_ws = w.detach().expand(1, num_ws, -1).clone()
    w_camera = Camera(*(float(a) for a in angles.detach()))
    wplus = w_ws.clone().requires_grad_(True)
    if not cancelled and config.wplus_steps > 0:

        def pull(latent: torch.Tensor) -> torch.Tensor:
            return config.wplus_pull * (latent - w_ws).square().mean()

        cancelled = stage(wplus, config.wplus_steps, lambda ws: ws, pull)
    return InversionResult(
        w_ws=w_ws,
        ws=wplus.detach().clone(),
        w_camera=w_camera,
        camera=Camera(*(float(a) for a in angles.detach())),
        losses=losses,
        cancelled=cancelled,
        seconds=time.perf_counter() - begin,
    )
