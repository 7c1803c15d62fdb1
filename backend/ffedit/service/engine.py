"""The Engine: the loaded generator, its device and lock, caches, and the app's operations.

One `Engine` per server process. It loads the model once (our checkpoint folder, an
EG3D/NeRFFaceEditing `.pkl` or an FFaceNeRF `.pth`), opens the `Storage` (failing jobs a
previous process left running), registers the built-in layouts and starts the `JobRunner`.

Device work is serialised by `device_lock`, a first-come first-served lock: a render holds it
for one render, a job for one optimisation step at a time (`JobSteps.between_steps` hands it
to whoever waits), so renders are still served while a training or an edit runs.

Caches: the tri-planes of recently rendered faces (LRU, `planes_cache_size`), and loaded
adapters by folder. A layout's masks come from, in order: its trained adapter; for a built-in
layout, the adapter shipped with the model (`<model>/adapters/<layout>/`); the generator's own
segmentation logits when the layout is the generator's base layout (`base15`). Predictions to
start annotating from may also fall back to the layout's base layout (its classes are a
prefix of the new layout's).

Views are `ViewSpec`s: a named view (front/left/right) or yaw/pitch in radians relative to
the front view (positive yaw turns toward the face's left, as `left` does negatively).
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ffedit.adapter import MIN_SAMPLES, TRAINING_PRESETS, AdapterTrainingConfig, GeometryAdapter
from ffedit.adapter.config import with_steps
from ffedit.camera import NAMED_VIEWS, camera_from_angles
from ffedit.config import TRAIN_DEFAULT_MODEL
from ffedit.device import resolve_device
from ffedit.edit.views import overlay_image
from ffedit.generator import (
    GeneratorOutput,
    SegHead,
    TriplaneGenerator,
    uint8_image,
    ws_from_latent,
    ws_from_seed,
)
from ffedit.generator.planes import PlaneStatistics
from ffedit.io.adapters import NoSegHead, layout_adapter_folder, load_adapter, seg_head_folder
from ffedit.io.checkpoint import load_generator
from ffedit.io.images import png_bytes
from ffedit.layouts import (
    BASE_LAYOUT,
    BUILTIN_LAYOUTS,
    Layout,
    LayoutClass,
    extend_layout,
    indexed_png_from_labels,
    layout_from_json,
    layout_to_json,
)
from ffedit.service.errors import InvalidRequest, ModelMissing, NoAdapter
from ffedit.service.jobs import JobRunner
from ffedit.service.storage import FaceRecord, LayoutRecord, NotFound, Storage

PLANE_MEAN_KEY = "plane_mean"
PLANE_STD_KEY = "plane_std"
RENDER_KINDS = ("rgb", "mask", "overlay")
MAX_ANGLE = math.pi / 2
"""Largest |yaw| or |pitch| (radians from the front view) a view may ask for."""


@dataclass(frozen=True)
class EngineConfig:
    """What the Engine is built from (the API fills it from its settings)."""

    model: Path
    """Checkpoint folder, `.pkl` or `.pth` of the generator."""
    data_dir: Path
    """Where the storage keeps records and files."""
    device: str = "auto"
    """'auto' (cuda when available), 'cpu' or 'cuda[:i]'."""
    training_preset: str = "fast"
    """`TRAINING_PRESETS` entry used to train layouts."""
    training_steps: int | None = None
    """Override of the preset's steps (None: the preset's)."""
    edit_steps: int = 100
    """Default and largest number of steps of an edit."""
    min_samples: int = MIN_SAMPLES
    """Annotated samples a layout needs before it can be trained."""
    planes_cache_size: int = 16
    """Faces whose tri-planes are kept in memory."""
    chunk_rays: int = 1024
    """Rays per rendering pass."""
    orbit_frames: int = 48
    """Frames of the orbit video of an export."""
    progress_interval_s: float = 0.25
    """Least time between two persisted progress reports of a job."""
    torch_threads: int | None = None
    """CPU threads of torch's operators (process-wide); None leaves torch's default. On a
    busy machine 1 can be many times faster than spinning threads competing for cores."""


@dataclass(frozen=True)
class ViewSpec:
    """A camera: a named view, or yaw/pitch (radians) relative to the front view."""

    name: str | None = None
    yaw: float = 0.0
    pitch: float = 0.0

    def __post_init__(self) -> None:
        if self.name is not None and self.name not in NAMED_VIEWS:
            raise InvalidRequest(
                f"unknown view {self.name!r}; known views: {', '.join(NAMED_VIEWS)}"
            )
        for axis in ("yaw", "pitch"):
            value = getattr(self, axis)
            if not math.isfinite(value) or abs(value) > MAX_ANGLE:
                raise InvalidRequest(
                    f"{axis} must be a number of radians in [−π/2, π/2], got {value}"
                )

    def camera(self) -> torch.Tensor:
        """(25,) camera vector."""
        if self.name is not None:
            yaw, pitch = NAMED_VIEWS[self.name]
        else:
            yaw, pitch = math.pi / 2 + self.yaw, math.pi / 2 + self.pitch
        return camera_from_angles(yaw, pitch)

    def to_dict(self) -> dict:
        """How a sample stores it: {"name": "front"} or {"yaw": …, "pitch": …}."""
        return {"name": self.name} if self.name else {"yaw": self.yaw, "pitch": self.pitch}

    @classmethod
    def from_dict(cls, data: dict) -> ViewSpec:
        if data.get("name"):
            return cls(name=data["name"])
        return cls(yaw=float(data.get("yaw", 0.0)), pitch=float(data.get("pitch", 0.0)))


@dataclass(frozen=True)
class FaceState:
    """What rendering a face needs, on the device."""

    ws: torch.Tensor
    """(num_ws, w_dim)."""
    planes: torch.Tensor
    """(1, 3, C, R, R) raw tri-planes."""
    plane_stats: PlaneStatistics | None
    """An edited face's appearance lock (mean, std (1, 3·C)); None: its own."""


@dataclass(frozen=True)
class ModelInfo:
    """What the front end needs to know about the loaded model."""

    source: str
    device: str
    mask_resolution: int
    image_resolution: int
    z_dim: int
    num_ws: int
    w_dim: int
    seg_classes: int
    views: tuple[str, ...]
    training_preset: str
    training_steps: int
    min_samples: int
    edit_steps: int


class FairLock:
    """A first-come first-served lock (a ticket lock): waiters get it in arrival order."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._next_ticket = 0
        self._serving = 0

    def acquire(self) -> None:
        with self._condition:
            ticket = self._next_ticket
            self._next_ticket += 1
            self._condition.wait_for(lambda: self._serving == ticket)

    def release(self) -> None:
        with self._condition:
            self._serving += 1
            self._condition.notify_all()

    def yield_to_waiters(self) -> None:
        """Held by the caller: let everyone already waiting go first, then take it back."""
        with self._condition:
            waiting = self._next_ticket - self._serving > 1
        if waiting:
            self.release()
            self.acquire()

    def __enter__(self) -> FairLock:
        self.acquire()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.release()


def layout_of(record: LayoutRecord) -> Layout:
    return layout_from_json(record.definition)


class Engine:
    """The model, the storage and the job runner of one server process."""

    def __init__(self, config: EngineConfig) -> None:
        if not Path(config.model).exists():
            raise ModelMissing(
                f"the model {config.model} does not exist; train the default one with "
                f"`{TRAIN_DEFAULT_MODEL}`, or set FFEDIT_MODEL to a checkpoint folder or an "
                "EG3D/NeRFFaceEditing .pkl"
            )
        if config.training_preset not in TRAINING_PRESETS:
            raise InvalidRequest(
                f"unknown training preset {config.training_preset!r}; "
                f"known: {', '.join(TRAINING_PRESETS)}"
            )
        self.config = config
        if config.torch_threads is not None:
            torch.set_num_threads(config.torch_threads)
        self.device = resolve_device(config.device)
        self.generator: TriplaneGenerator = load_generator(config.model, self.device)
        self.device_lock = FairLock()
        self.storage = Storage(config.data_dir)
        self.interrupted_jobs = self.storage.mark_interrupted_jobs()
        self._register_builtin_layouts()
        self.runner = JobRunner(self.storage, progress_interval_s=config.progress_interval_s)
        self._cache_lock = threading.Lock()
        self._faces: OrderedDict[str, FaceState] = OrderedDict()
        self._adapters: dict[Path, GeometryAdapter] = {}

    def close(self) -> None:
        """Stop the job runner (a running job fails with the shutdown reason), close storage."""
        self.runner.shutdown()
        self.storage.close()

    # ---------------------------------------------------------------- model

    @property
    def mask_resolution(self) -> int:
        return self.generator.config.neural_rendering_resolution

    def model_info(self) -> ModelInfo:
        config = self.generator.config
        return ModelInfo(
            source=str(self.config.model),
            device=str(self.device),
            mask_resolution=config.neural_rendering_resolution,
            image_resolution=config.image_resolution,
            z_dim=config.z_dim,
            num_ws=config.num_ws,
            w_dim=config.w_dim,
            seg_classes=config.seg_classes,
            views=tuple(NAMED_VIEWS),
            training_preset=self.config.training_preset,
            training_steps=self.training_config().steps,
            min_samples=self.config.min_samples,
            edit_steps=self.config.edit_steps,
        )

    def training_config(self) -> AdapterTrainingConfig:
        """The `AdapterTrainingConfig` layouts are trained with."""
        preset = TRAINING_PRESETS[self.config.training_preset]
        steps = self.config.training_steps
        return preset if steps is None else with_steps(preset, steps)

    # -------------------------------------------------------------- layouts

    def _register_builtin_layouts(self) -> None:
        stored = {record.name for record in self.storage.list_layouts()}
        for name, layout in BUILTIN_LAYOUTS.items():
            if name not in stored:
                self.storage.add_layout(name, layout_to_json(layout), builtin=True)

    def find_layout(self, reference: str) -> LayoutRecord:
        """A layout by id, or else by name; `NotFound` otherwise."""
        try:
            return self.storage.get_layout(reference)
        except NotFound:
            for record in self.storage.list_layouts():
                if record.name == reference:
                    return record
            raise

    def create_layout(
        self, name: str, base: str, new_classes: list[tuple[str, tuple[int, int, int]]]
    ) -> LayoutRecord:
        """Store a layout: the classes of the layout `base` (id or name) plus new ones."""
        base_layout = layout_of(self.find_layout(base))
        layout = extend_layout(
            base_layout, name, tuple(LayoutClass(n, tuple(c)) for n, c in new_classes)
        )
        return self.storage.add_layout(name, layout_to_json(layout))

    def shipped_adapter_path(self, record: LayoutRecord) -> Path | None:
        path = layout_adapter_folder(self.config.model, record.name)
        return path if record.builtin and path.is_dir() else None

    def can_predict(self, record: LayoutRecord) -> bool:
        """Masks of this layout can be rendered (without falling back to a base)."""
        try:
            self._own_seg_head(record)
        except NoAdapter:
            return False
        return True

    def seg_head(self, record: LayoutRecord, fall_back_to_base: bool = False) -> SegHead | None:
        """The layout's segmentation head (None: the generator's own logits); `NoAdapter` when
        it has none (and, with `fall_back_to_base`, neither has its base)."""
        try:
            return self._own_seg_head(record)
        except NoAdapter:
            base = layout_of(record).base
            if not fall_back_to_base or base is None:
                raise
            return self.seg_head(self.find_layout(base), fall_back_to_base=True)

    def _own_seg_head(self, record: LayoutRecord) -> SegHead | None:
        try:
            folder = seg_head_folder(
                record.adapter_path or self.shipped_adapter_path(record),
                record.name,
                len(record.definition["classes"]),
                self.generator.config,
            )
        except NoSegHead:
            raise NoAdapter(
                f"layout {record.name!r} has no trained adapter yet: add annotated samples and "
                "train it first"
            ) from None
        return None if folder is None else self._adapter(folder)

    def _adapter(self, folder: Path) -> GeometryAdapter:
        with self._cache_lock:
            adapter = self._adapters.get(folder)
        if adapter is None:
            saved = load_adapter(folder, self.device, self.generator.config)
            adapter = saved.adapter
            with self._cache_lock:
                self._adapters[folder] = adapter
        return adapter

    # ---------------------------------------------------------------- faces

    def create_face_from_seed(self, seed: int) -> FaceRecord:
        with self.device_lock:
            ws = ws_from_seed(self.generator, seed)
        return self.storage.add_face(ws.cpu().numpy(), {"seed": int(seed)})

    def create_face_from_latent(self, latent: np.ndarray, file_name: str) -> FaceRecord:
        """A face from an uploaded z (z_dim,) or ws (num_ws, w_dim) / (1, num_ws, w_dim)."""
        config = self.generator.config
        array = np.asarray(latent, dtype=np.float32)
        if not np.isfinite(array).all():
            raise InvalidRequest("the latent holds NaN or infinite values")
        if array.shape == (config.z_dim,):
            with self.device_lock:
                ws = ws_from_latent(self.generator, torch.from_numpy(array)).cpu().numpy()
        elif array.reshape(-1).shape == (config.num_ws * config.w_dim,) and array.ndim in (2, 3):
            ws = array.reshape(config.num_ws, config.w_dim)
        else:
            raise InvalidRequest(
                f"a latent of this model is z ({config.z_dim},) or ws ({config.num_ws}, "
                f"{config.w_dim}); got shape {tuple(array.shape)}"
            )
        return self.storage.add_face(ws, {"upload": file_name})

    def add_edited_face(
        self, ws: torch.Tensor, plane_stats: PlaneStatistics, parent_id: str, origin: dict
    ) -> FaceRecord:
        extra = {
            PLANE_MEAN_KEY: plane_stats.mean.detach().cpu().numpy(),
            PLANE_STD_KEY: plane_stats.std.detach().cpu().numpy(),
        }
        return self.storage.add_face(ws.detach().cpu().numpy(), origin, parent_id, extra)

    def delete_face(self, face_id: str) -> None:
        self.storage.delete_face(face_id)
        with self._cache_lock:
            self._faces.pop(face_id, None)

    def face_state(self, face_id: str) -> FaceState:
        """The face's ws, tri-planes and appearance lock (cached; call with the lock held)."""
        with self._cache_lock:
            state = self._faces.get(face_id)
            if state is not None:
                self._faces.move_to_end(face_id)
                return state
        arrays = self.storage.load_face_arrays(face_id)
        ws = torch.from_numpy(arrays["latent"]).to(self.device)
        plane_stats = None
        if PLANE_MEAN_KEY in arrays:
            plane_stats = PlaneStatistics(
                torch.from_numpy(arrays[PLANE_MEAN_KEY]).to(self.device),
                torch.from_numpy(arrays[PLANE_STD_KEY]).to(self.device),
            )
        with torch.no_grad():
            planes = self.generator.synthesize_planes(ws[None])
        state = FaceState(ws, planes, plane_stats)
        with self._cache_lock:
            self._faces[face_id] = state
            while len(self._faces) > self.config.planes_cache_size:
                self._faces.popitem(last=False)
        return state

    # -------------------------------------------------------------- renders

    def render_png(
        self,
        face_id: str,
        view: ViewSpec,
        kind: str,
        layout_reference: str = BASE_LAYOUT,
        size: int | None = None,
    ) -> bytes:
        """PNG of a face: RGB (super-resolved, or raw at `size`² when given), the layout's
        predicted mask (indexed PNG, mask resolution or `size`²) or both blended."""
        if kind not in RENDER_KINDS:
            raise InvalidRequest(f"kind must be one of {', '.join(RENDER_KINDS)}, not {kind!r}")
        self.storage.get_face(face_id)
        record = self.find_layout(layout_reference)
        layout = layout_of(record)
        head = None if kind == "rgb" else self.seg_head(record, fall_back_to_base=True)
        output = self.render_output(face_id, view, head, size, kind != "mask" and size is None)
        labels = output.seg_logits[0].argmax(0).cpu().numpy()
        if kind == "mask":
            return indexed_png_from_labels(labels, layout)
        rgb = uint8_image(output.image[0] if output.image is not None else output.rgb_raw[0])
        if kind == "rgb":
            return png_bytes(rgb)
        return png_bytes(overlay_image(rgb, labels, layout))

    def predicted_labels(self, face_id: str, view: ViewSpec, record: LayoutRecord) -> np.ndarray:
        """(H, W) int64 class ids of the layout at the mask resolution (base fallback)."""
        head = self.seg_head(record, fall_back_to_base=True)
        output = self.render_output(face_id, view, head)
        return output.seg_logits[0].argmax(0).cpu().numpy()

    def render_output(
        self,
        face_id: str,
        view: ViewSpec,
        head: SegHead | None,
        size: int | None = None,
        super_resolve: bool = False,
    ) -> GeneratorOutput:
        """One deterministic render of a stored face (holding the device lock)."""
        with self.device_lock:
            state = self.face_state(face_id)
            with torch.no_grad():
                return self.generator.render(
                    state.ws[None],
                    view.camera()[None].to(self.device),
                    size,
                    planes=state.planes,
                    plane_stats=state.plane_stats,
                    super_resolve=super_resolve,
                    chunk_rays=self.config.chunk_rays,
                    seg_head=head,
                )
