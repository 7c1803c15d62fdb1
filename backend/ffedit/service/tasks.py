"""The app's long work as jobs: layout training and edits; and the export archive.

`submit_training` and `submit_edit` check their inputs at once (so bad input is an error of
the request, not a failed job), store what the job reads, and queue a job function on the
Engine's runner. A job holds the device lock for one optimisation step at a time
(`JobSteps`), reports progress (losses and a small preview PNG) and stops when cancelled.

- training (`train-layout`): `fit_adapter` with the configured preset on the layout's
  samples; the adapter and a training report are stored with the layout
  (`Storage.store_layout_adapter`). Result: {"layout_id", "steps", "seconds", "losses"}.
- edit (`edit`): `optimize_latent` toward the uploaded target mask (stored as the job's
  input `mask.png`); the edited latent becomes a new face whose parent is the source, with the
  appearance lock of the original face. Result: {"face_id", "parent_id", "steps", "seconds"}.
- `export_zip`: three views (RGB, mask, overlay), an orbit video, the latent and the layout
  (JSON, and the adapter's files when it has one) as one ZIP.
"""

from __future__ import annotations

import io
import json
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ffedit.adapter import LayoutSample, TooFewSamples, fit_adapter
from ffedit.edit import EditConfig, optimize_latent
from ffedit.edit.views import orbit_frames, overlay_image
from ffedit.generator import uint8_image
from ffedit.io.adapters import save_adapter
from ffedit.io.images import png_bytes
from ffedit.io.video import write_video
from ffedit.layouts import color_png_from_labels, indexed_png_from_labels, labels_from_png
from ffedit.service.engine import Engine, FairLock, ViewSpec, layout_of
from ffedit.service.errors import AlreadyTraining, InvalidRequest
from ffedit.service.jobs import JobContext
from ffedit.service.masks import labels_from_upload
from ffedit.service.storage import JobRecord, LayoutRecord

TRAIN_KIND = "train-layout"
EDIT_KIND = "edit"
PREVIEWS_PER_JOB = 10
"""A job renders about this many previews over its steps."""
PREVIEW_SIZE = 64
"""Side of a preview image (pixels)."""
EXPORT_VIEWS = ("front", "left", "right")
VIDEO_FPS = 24


class JobSteps:
    """A job's hold on the device lock: taken for the job, handed over between steps."""

    def __init__(self, lock: FairLock) -> None:
        self._lock = lock

    def __enter__(self) -> JobSteps:
        self._lock.acquire()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._lock.release()

    def between_steps(self) -> None:
        """Let renders waiting for the device go first."""
        self._lock.yield_to_waiters()


def _preview_due(step: int, total: int) -> bool:
    return step == total or step % max(1, total // PREVIEWS_PER_JOB) == 0


# ------------------------------------------------------------------- training


def is_training(engine: Engine, layout_id: str) -> bool:
    return any(
        job.kind == TRAIN_KIND and job.params.get("layout_id") == layout_id
        for job in engine.storage.list_jobs()
        if not job.status.is_terminal
    )


def submit_training(engine: Engine, record: LayoutRecord) -> JobRecord:
    """Queue the training of a layout's adapter (`AlreadyTraining`, `TooFewSamples`)."""
    if is_training(engine, record.id):
        raise AlreadyTraining(f"layout {record.name!r} is already being trained")
    if record.builtin:
        raise InvalidRequest(f"layout {record.name!r} is built in; create a layout to train")
    samples = engine.storage.list_samples(record.id)
    if len(samples) < engine.config.min_samples:
        raise TooFewSamples(
            f"training layout {record.name!r} needs at least {engine.config.min_samples} "
            f"annotated sample(s) (10 recommended); it has {len(samples)}"
        )
    config = engine.training_config()
    params = {"layout_id": record.id, "samples": [s.id for s in samples], "steps": config.steps}
    return engine.runner.submit(
        TRAIN_KIND, params, lambda context: _run_training(engine, record.id, context)
    )


def _layout_samples(engine: Engine, record: LayoutRecord) -> list[LayoutSample]:
    layout = layout_of(record)
    samples = []
    for sample in engine.storage.list_samples(record.id):
        ws = torch.from_numpy(engine.storage.load_face_ws(sample.face_id))
        labels = labels_from_png(sample.mask_path.read_bytes(), layout)
        camera = ViewSpec.from_dict(sample.view).camera()
        samples.append(
            LayoutSample(ws.to(engine.device), camera.to(engine.device), torch.from_numpy(labels))
        )
    return samples


def _run_training(engine: Engine, layout_id: str, context: JobContext) -> dict | None:
    record = engine.storage.get_layout(layout_id)
    layout = layout_of(record)
    samples = _layout_samples(engine, record)
    config = engine.training_config()
    generator = engine.generator

    with JobSteps(engine.device_lock) as steps:

        def on_step(step: int, total: int, losses: dict[str, float], adapter) -> None:
            preview = None
            if _preview_due(step, total):
                with torch.no_grad():
                    output = generator.render(
                        samples[0].ws[None],
                        samples[0].camera[None],
                        PREVIEW_SIZE,
                        super_resolve=False,
                        chunk_rays=engine.config.chunk_rays,
                        seg_head=adapter,
                    )
                labels = output.seg_logits[0].argmax(0).cpu().numpy()
                preview = color_png_from_labels(labels, layout)
            context.report(step, total, losses, preview)
            steps.between_steps()

        fit = fit_adapter(generator, samples, layout, config, on_step, context.should_stop)
    if fit.cancelled or context.should_stop():
        return None
    report = {
        "steps": fit.steps,
        "seconds": round(fit.seconds, 3),
        "final_losses": fit.final_losses,
        "samples": len(samples),
        "preset": engine.config.training_preset,
        "job_id": context.job_id,
    }
    engine.storage.store_layout_adapter(
        layout_id,
        lambda folder: save_adapter(folder, fit.adapter, layout, config, report),
        report,
    )
    return {"layout_id": layout_id, **report}


# ---------------------------------------------------------------------- edits


@dataclass(frozen=True)
class EditRequest:
    """An edit as the API receives it (validated by `submit_edit`)."""

    face_id: str
    layout: str
    """Layout id or name of the target mask."""
    view: ViewSpec
    mask_png: bytes
    steps: int | None = None
    """None: the configured default; at most the configured maximum."""
    overlap_weight: float = 0.5
    seed: int = 0


def submit_edit(engine: Engine, request: EditRequest) -> JobRecord:
    """Check an edit request and queue it; the mask is stored as the job's input first."""
    engine.storage.get_face(request.face_id)
    record = engine.find_layout(request.layout)
    engine.seg_head(record)  # NoAdapter now, rather than a failed job later
    layout = layout_of(record)
    labels = labels_from_upload(request.mask_png, layout, engine.mask_resolution)
    steps = request.steps or engine.config.edit_steps
    if not 1 <= steps <= engine.config.edit_steps:
        raise InvalidRequest(f"steps must lie in [1, {engine.config.edit_steps}], got {steps}")
    config = EditConfig(steps=steps, overlap_weight=request.overlap_weight, seed=request.seed)
    params = {
        "face_id": request.face_id,
        "layout_id": record.id,
        "view": request.view.to_dict(),
        "steps": steps,
        "overlap_weight": request.overlap_weight,
        "seed": request.seed,
    }
    mask = indexed_png_from_labels(labels, layout)
    return engine.runner.submit(
        EDIT_KIND,
        params,
        lambda context: _run_edit(engine, params, config, context),
        inputs={"mask.png": mask},
    )


def _run_edit(engine: Engine, params: dict, config: EditConfig, context: JobContext) -> dict:
    storage = engine.storage
    record = storage.get_layout(params["layout_id"])
    layout = layout_of(record)
    head = engine.seg_head(record)
    target = labels_from_png(
        storage.job_input_path(context.job_id, "mask.png").read_bytes(), layout
    )
    view = ViewSpec.from_dict(params["view"])
    generator = engine.generator
    with JobSteps(engine.device_lock) as steps:
        source = engine.face_state(params["face_id"])

        def on_step(step: int, total: int, losses: dict[str, float], ws: torch.Tensor) -> None:
            preview = None
            if _preview_due(step, total):
                with torch.no_grad():
                    output = generator.render(
                        ws[None],
                        view.camera()[None].to(engine.device),
                        PREVIEW_SIZE,
                        plane_stats=source.plane_stats,
                        super_resolve=False,
                        chunk_rays=engine.config.chunk_rays,
                    )
                preview = png_bytes(uint8_image(output.rgb_raw[0]))
            context.report(step, total, losses, preview)
            steps.between_steps()

        result = optimize_latent(
            generator,
            head,
            source.ws,
            view.camera(),
            torch.from_numpy(target),
            config,
            on_step,
            context.should_stop,
            plane_stats=source.plane_stats,
        )
    if result.cancelled or context.should_stop():
        return None
    origin = {"edit": context.job_id, "layout_id": record.id, "view": params["view"]}
    face = engine.add_edited_face(result.ws, result.plane_stats, params["face_id"], origin)
    final = result.losses[-1] if result.losses else {}
    return {
        "face_id": face.id,
        "parent_id": params["face_id"],
        "steps": result.steps,
        "seconds": round(result.seconds, 3),
        "final_losses": final,
    }


# --------------------------------------------------------------------- export


def export_zip(engine: Engine, face_id: str, layout_reference: str, orbit_frames_count: int):
    """ZIP bytes: views (RGB, mask, overlay), orbit video, latent, layout (+ adapter files)."""
    face = engine.storage.get_face(face_id)
    record = engine.find_layout(layout_reference)
    layout = layout_of(record)
    head = engine.seg_head(record, fall_back_to_base=True)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in EXPORT_VIEWS:
            output = engine.render_output(face_id, ViewSpec(name=name), head, super_resolve=True)
            rgb = uint8_image(output.image[0])
            labels = output.seg_logits[0].argmax(0).cpu().numpy()
            archive.writestr(f"views/{name}.png", png_bytes(rgb))
            archive.writestr(f"views/{name}-mask.png", indexed_png_from_labels(labels, layout))
            archive.writestr(
                f"views/{name}-overlay.png", png_bytes(overlay_image(rgb, labels, layout))
            )
        video_name, video = _orbit_video(engine, face_id, orbit_frames_count)
        archive.writestr(video_name, video)
        arrays = engine.storage.load_face_arrays(face_id)
        archive.writestr("latent.npy", _npy_bytes(arrays["latent"]))
        for key in sorted(set(arrays) - {"latent"}):
            archive.writestr(f"{key}.npy", _npy_bytes(arrays[key]))
        archive.writestr("layout.json", json.dumps(record.definition, indent=2))
        adapter_folder = record.adapter_path or engine.shipped_adapter_path(record)
        if adapter_folder is not None:
            for path in sorted(adapter_folder.iterdir()):
                archive.writestr(f"adapter/{path.name}", path.read_bytes())
        face_info = {"id": face.id, "origin": face.origin, "parent_id": face.parent_id}
        archive.writestr("face.json", json.dumps(face_info, indent=2))
    return buffer.getvalue()


def _orbit_video(engine: Engine, face_id: str, frames: int) -> tuple[str, bytes]:
    def locked_frames():
        with engine.device_lock:
            state = engine.face_state(face_id)
        iterator = orbit_frames(
            engine.generator, state.ws, state.plane_stats, frames, engine.config.chunk_rays
        )
        while True:
            with engine.device_lock:
                frame = next(iterator, None)
            if frame is None:
                return
            yield frame

    with tempfile.TemporaryDirectory(prefix="ffedit-export-") as folder:
        written = write_video(Path(folder) / "orbit.mp4", locked_frames(), VIDEO_FPS)
        return written.name, written.read_bytes()


def _npy_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()
