"""The bodies of the app's jobs: layout training and edits, on inputs already decoded.

The Engine checks a request, decodes what the job reads (the layout's samples, the target
mask, the seg head, the camera) and queues one of these on its runner; a job gets those
values, not the Engine. It holds the device lock for one optimisation step at a time
(`JobSteps`), reports progress (losses and a small preview PNG) and stops when cancelled;
it returns the fit or the edit (None when cancelled), which the Engine stores.

- training (`TRAIN_KIND`): `fit_adapter` on the samples, its caching of them first (stage
  `PREPARE_STAGE`, a step per latent variant); result: the `AdapterFit`; then
  `check_training_samples`, the per-class report of how well the samples are reproduced:
  from the fast trainer's own pool rays (no render), or with a render of each sample at
  its own view (`predict_training_samples`, stage `CHECK_STAGE`);
- edit (`EDIT_KIND`): `optimize_latent` toward the target; result: the `EditResult`;
- export (`EXPORT_KIND`): the Engine's own export bundle, a frame at a time (no body here);
- large render (`RENDER_KIND`): `render_in_bands`, a raw render a band of rows at a time;
- photo inversion (`INVERT_KIND`): `invert_image` on the aligned crop; result: the
  `InversionResult`, which the Engine stores as a new face.
- mesh (`MESH_KIND`): the Engine's own marching-cubes export of a face (no body here).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from ffedit.adapter import (
    AdapterFit,
    AdapterTrainingConfig,
    ClassFit,
    GeometryAdapter,
    LayoutSample,
    class_iou_on_samples,
    fit_adapter,
    predict_masks,
)
from ffedit.edit import EditConfig, EditResult, optimize_latent
from ffedit.generator import SegHead, TriplaneGenerator, images_from_rays, uint8_image
from ffedit.invert import Camera, InversionConfig, InversionResult, invert_image
from ffedit.invert.optimize import cameras_from_parameters
from ffedit.io.images import png_bytes
from ffedit.layouts import Layout, color_png_from_labels
from ffedit.service.jobs import JobContext
from ffedit.service.locking import FairLock, JobSteps

TRAIN_KIND = "train-layout"
EDIT_KIND = "edit"
EXPORT_KIND = "export"
"""A face's export bundle rendered as a job (`Engine.submit_export`); its file is the output."""
RENDER_KIND = "render"
"""A raw render too large for a request (`Engine.submit_render`); its PNG is the output."""
INVERT_KIND = "invert-photo"
"""A photo inverted into a new face (`Engine.submit_photo`)."""
MESH_KIND = "mesh"
"""A face's surface as a GLB or PLY file (`Engine.submit_mesh`); the file is the output."""
RENDER_BANDS = 16
"""A large render is rendered in this many bands of rows, the device free between two."""
PREVIEWS_PER_JOB = 10
"""A job renders about this many previews over its steps."""
PREVIEW_SIZE = 64
"""Side of a preview image (pixels)."""
PREPARE_STAGE = "preparing the samples"
"""The progress stage of a training's first phase (the fast trainer caching its samples)."""
CHECK_STAGE = "checking the training samples"
"""The progress stage of a training's last phase (`predict_training_samples`)."""


@dataclass(frozen=True)
class Device:
    """What a job needs of the loaded model: the generator, its lock and rendering pass."""

    generator: TriplaneGenerator
    lock: FairLock
    chunk_rays: int


def _preview_due(step: int, total: int) -> bool:
    return step == total or step % max(1, total // PREVIEWS_PER_JOB) == 0


def train_layout(
    device: Device,
    samples: list[LayoutSample],
    layout: Layout,
    config: AdapterTrainingConfig,
    context: JobContext,
) -> AdapterFit | None:
    """Fit the layout's adapter on `samples` (on the device); None when cancelled."""
    generator = device.generator
    with JobSteps(device.lock) as steps:

        def on_step(step: int, total: int, losses: dict[str, float], adapter) -> None:
            preview = None
            if _preview_due(step, total):
                with torch.no_grad():
                    output = generator.render(
                        samples[0].ws[None],
                        samples[0].camera[None],
                        PREVIEW_SIZE,
                        super_resolve=False,
                        chunk_rays=device.chunk_rays,
                        seg_head=adapter,
                    )
                labels = output.seg_logits[0].argmax(0).cpu().numpy()
                preview = color_png_from_labels(labels, layout)
            context.report(step, total, losses, preview)
            steps.between_steps()

        def on_prepare(step: int, total: int) -> None:
            context.report(step, total, {}, stage=PREPARE_STAGE)
            steps.between_steps()

        fit = fit_adapter(
            generator, samples, layout, config, on_step, context.should_stop, on_prepare
        )
    return None if fit.cancelled or context.should_stop() else fit


def check_training_samples(
    device: Device,
    fit: AdapterFit,
    samples: list[LayoutSample],
    layout: Layout,
    first_new: int,
    context: JobContext,
) -> list[ClassFit] | None:
    """Per class of `layout`, how well the fit reproduces its training samples: from the fast
    trainer's pool rays when it has them, else rendered (`predict_training_samples`). None
    when cancelled."""
    if fit.pool_check is not None:
        check = fit.pool_check
        return class_iou_on_samples(
            check.predicted, check.painted, layout, first_new, check.pixel_weights
        )
    predicted = predict_training_samples(device, fit.adapter, samples, context)
    if predicted is None:
        return None
    painted = torch.stack([sample.labels for sample in samples])
    return class_iou_on_samples(predicted, painted, layout, first_new)


def predict_training_samples(
    device: Device, adapter: GeometryAdapter, samples: list[LayoutSample], context: JobContext
) -> torch.Tensor | None:
    """Class ids (N, H, W) int64 (on the CPU) the trained adapter predicts for every sample at
    its own view, as the served masks are made (a deterministic render at the mask
    resolution; the super-resolution and an edited face's appearance lock do not change the
    logits). One render per sample, the device handed over between two, progress reported
    with the stage `CHECK_STAGE`. None when cancelled."""
    predictions = []
    with JobSteps(device.lock) as steps:
        for step, sample in enumerate(samples, start=1):
            if context.should_stop():
                return None
            labels = predict_masks(
                device.generator,
                adapter,
                sample.ws[None],
                sample.camera[None],
                chunk_rays=device.chunk_rays,
            )
            predictions.append(labels[0].cpu())
            context.report(step, len(samples), {}, stage=CHECK_STAGE)
            steps.between_steps()
    return torch.stack(predictions)


@dataclass(frozen=True)
class EditInputs:
    """An edit as the Engine checked and decoded it."""

    head: SegHead | None
    """The layout's seg head (None: the generator's own logits)."""
    camera: torch.Tensor
    """(25,) the view the target is painted at."""
    target: torch.Tensor
    """(H, W) int64 class ids at the mask resolution."""
    config: EditConfig


def edit_face(
    device: Device, source: Callable[[], object], inputs: EditInputs, context: JobContext
) -> EditResult | None:
    """Optimise the face's ws toward the target; `source()` (called with the device lock
    held) gives the face's `FaceState`. None when cancelled."""
    generator = device.generator
    camera = inputs.camera.to(generator.device)
    with JobSteps(device.lock) as steps:
        state = source()

        def on_step(step: int, total: int, losses: dict[str, float], ws: torch.Tensor) -> None:
            preview = None
            if _preview_due(step, total):
                with torch.no_grad():
                    output = generator.render(
                        ws[None],
                        camera[None],
                        PREVIEW_SIZE,
                        plane_stats=state.plane_stats,
                        super_resolve=False,
                        chunk_rays=device.chunk_rays,
                    )
                preview = png_bytes(uint8_image(output.rgb_raw[0]))
            context.report(step, total, losses, preview)
            steps.between_steps()

        result = optimize_latent(
            generator,
            inputs.head,
            state.ws,
            inputs.camera,
            inputs.target,
            inputs.config,
            on_step,
            context.should_stop,
            plane_stats=state.plane_stats,
        )
    return None if result.cancelled or context.should_stop() else result


def invert_photo(
    device: Device,
    crop: torch.Tensor,
    start: Camera,
    config: InversionConfig,
    context: JobContext,
) -> InversionResult | None:
    """Invert the aligned crop (3, S, S) in [−1, 1] from the landmark camera `start`, the
    device lock handed over between steps; the last progress report carries a preview of the
    result at the inverted camera. None when cancelled."""
    generator = device.generator
    with JobSteps(device.lock) as steps:

        def on_step(step: int, total: int, loss: float) -> None:
            context.report(step, total, {"total": loss})
            steps.between_steps()

        result = invert_image(generator, crop, start, config, on_step, context.should_stop)
        if result.cancelled or context.should_stop():
            return None
        with torch.no_grad():
            camera = cameras_from_parameters(torch.tensor(list(result.camera)))
            output = generator.render(
                result.ws.to(generator.device),
                camera.to(generator.device),
                PREVIEW_SIZE,
                super_resolve=False,
                chunk_rays=device.chunk_rays,
            )
        total = config.w_steps + config.wplus_steps
        preview = png_bytes(uint8_image(output.rgb_raw[0]))
        context.report(total, total, {"total": result.losses[-1]}, preview)
    return result


@dataclass(frozen=True)
class BandedRender:
    """A raw render of one face and camera."""

    rgb: torch.Tensor
    """(3, S, S) in [-1, 1]."""
    seg_logits: torch.Tensor
    """(K, S, S)."""


def render_in_bands(
    device: Device,
    source: Callable[[], object],
    camera: torch.Tensor,
    size: int,
    head: SegHead | None,
    context: JobContext,
) -> BandedRender | None:
    """A raw `size`² render (camera (25,)) of the face `source()` gives (its `FaceState`,
    called holding the device lock), `RENDER_BANDS` bands of rows one after the other with
    the device lock handed over between them and progress reported after each: the same
    pixels as one `render` call, without holding the device for all of it. None when
    cancelled."""
    generator = device.generator
    with JobSteps(device.lock) as steps:
        state = source()
        origins, directions = generator.camera_rays(camera[None], 1, size, state.planes)
        bands = torch.tensor_split(torch.arange(size * size), RENDER_BANDS)
        features, logits = [], []
        for step, rays in enumerate(bands, start=1):
            if context.should_stop():
                return None
            with torch.no_grad():
                output = generator.render_rays(
                    state.planes,
                    origins[:, rays],
                    directions[:, rays],
                    plane_stats=state.plane_stats,
                    chunk_rays=device.chunk_rays,
                    seg_head=head,
                )
            features.append(output.features[..., :3])
            logits.append(output.seg_logits)
            context.report(step, len(bands), {})
            steps.between_steps()
    rgb = images_from_rays(torch.cat(features, dim=1), size)[0]
    return BandedRender(rgb, images_from_rays(torch.cat(logits, dim=1), size)[0])
