"""The Engine: the service's one front door, and the loaded model behind it.

One `Engine` per server process. It loads the model once (our checkpoint folder, an
EG3D/NeRFFaceEditing `.pkl` or an FFaceNeRF `.pth`), opens the `Storage` (failing jobs a
previous process left running), registers the built-in layouts and starts the `JobRunner`.

Every operation of the app is a method taking plain values (ids, `ViewSpec`s, PNG bytes,
numbers) and returning records or bytes, and every one a user's request reaches takes first
the `owner` it acts for (a user id, or `SINGLE_USER_OWNER`): it sees only that owner's faces,
layouts, samples and jobs (and the shared built-in layouts, read-only), another owner's id is
`NotFound` as an unknown one is, and what it makes (a face, an edit's result face, a job)
belongs to that owner. Operations: faces (create from a seed, a latent or a photo, list,
delete, render), layouts and their samples, training, edits and photo inversions (checked at
once, then stored and queued as jobs whose record and input files hold everything they need:
`run_job` rebuilds one from them and runs its body of `ffedit.service.tasks`), jobs, meshes
(a job writing a GLB or PLY) and the export (a ZIP holding the meshes too). The API's routes
call only these; so does any other front end.

Jobs run on this process's `JobRunner` (embedded), or, when `EngineConfig.broker_url` is
set, this Engine is an `ffedit worker`'s: its jobs go to the broker's queue and it runs the
jobs and calls it takes from there (`ffedit.service.broker`); the web process then holds a
`RemoteEngine` (`ffedit.service.remote`) without a model.

Device work is serialised by `device_lock` (`ffedit.service.locking`): a render holds it
for one render, a job for one optimisation step at a time, so renders are still served while
a training or an edit runs.

Caches: the tri-planes of recently rendered faces (LRU, `planes_cache_size`), and loaded
adapters by folder (a layout's are dropped when it is deleted or retrained). A layout's masks
come from, in order: its trained adapter; for a built-in layout, the adapter shipped with the
model (`<model>/adapters/<layout>/`); the generator's own segmentation logits when the layout
is the generator's base layout (`base15`; `ffedit.io.adapters.seg_head_folder` holds that
rule for the CLI too). Predictions to start annotating from may also fall back to the
layout's base layout (its classes are a prefix of the new layout's).
"""

from __future__ import annotations

import contextlib
import functools
import io
import json
import threading
import zipfile
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ffedit.adapter import (
    MIN_SAMPLES,
    TRAINING_PRESETS,
    AdapterTrainingConfig,
    GeometryAdapter,
    LayoutSample,
    TooFewSamples,
)
from ffedit.adapter.config import with_steps
from ffedit.camera import NAMED_VIEWS
from ffedit.config import TRAIN_DEFAULT_MODEL, GeneratorConfig
from ffedit.device import resolve_device
from ffedit.edit import EditConfig
from ffedit.edit.errors import NothingToEdit
from ffedit.edit.views import ViewRender, orbit_frames, overlay_image
from ffedit.generator import (
    GeneratorOutput,
    SegHead,
    TriplaneGenerator,
    signed_image,
    uint8_image,
    ws_from_seed,
    ws_from_z,
)
from ffedit.generator.planes import PlaneStatistics
from ffedit.invert import Camera, InversionConfig
from ffedit.io.adapters import (
    NoSegHead,
    layout_adapter_folder,
    load_adapter,
    save_adapter,
    seg_head_folder,
)
from ffedit.io.bundle import BUNDLE_VIEWS, write_face_bundle
from ffedit.io.checkpoint import load_generator
from ffedit.io.detector import load_mtcnn
from ffedit.io.images import PNG_SIGNATURE, InvalidImage, load_png, png_bytes, png_size
from ffedit.io.meshes import MESH_FORMATS, mesh_bytes
from ffedit.io.photos import read_photo
from ffedit.layouts import (
    BASE_LAYOUT,
    BUILTIN_LAYOUTS,
    InvalidMask,
    Layout,
    LayoutClass,
    extend_layout,
    indexed_png_from_labels,
    labels_at_resolution,
    labels_from_png,
    layout_from_json,
    layout_to_json,
)
from ffedit.mesh import (
    DEFAULT_GRID,
    MAX_GRID,
    MIN_GRID,
    EmptySurface,
    FaceMesh,
    InvalidMeshRequest,
    MeshSettings,
    extract_mesh,
)
from ffedit.photo import align_photo
from ffedit.photo.mtcnn import Mtcnn
from ffedit.service import broker, tasks
from ffedit.service.errors import (
    AlreadyTraining,
    Conflict,
    InvalidRequest,
    ModelMissing,
    NoAdapter,
    NotWanted,
)
from ffedit.service.jobs import JobContext, JobRunner
from ffedit.service.locking import FairLock, JobSteps
from ffedit.service.storage import (
    FACES_ROOM,
    LAYOUTS_ROOM,
    QUEUED_JOBS_ROOM,
    SAMPLES_ROOM,
    SINGLE_USER_OWNER,
    FaceRecord,
    JobRecord,
    JobStatus,
    LayoutRecord,
    NotFound,
    SampleRecord,
    Storage,
    StoredLimits,
)
from ffedit.service.storage.schema import WS_KEY
from ffedit.service.views import MAX_ANGLE, ViewSpec, named_view_angles

PLANE_MEAN_KEY = "plane_mean"
PLANE_STD_KEY = "plane_std"
RENDER_KINDS = ("rgb", "mask", "overlay")
EXPORT_FILE = "export.zip"
"""The output file of an export job."""
RENDER_FILE = "render.png"
"""The output file of a large-render job."""
PHOTO_CROP_FILE = "aligned.png"
"""An input and the output file of a photo inversion: the aligned crop it inverts (shown
beside the render)."""
EDIT_TARGET_FILE = "mask.png"
"""The input file of an edit job: its target mask (indexed PNG in the layout)."""
MAX_DIRECT_RENDER_SIDE = 256
"""Largest side of a raw render made inside a request; larger ones are jobs (`submit_render`)."""
MAX_RENDER_SIDE = 1024
"""Largest side of a large-render job."""
MESH_FILE = "mesh"
"""The output file of a mesh job, with the format as its suffix (`mesh.glb`, `mesh.ply`)."""
EXPORT_MESH_FORMATS = ("glb", "ply")
"""The mesh files an export ZIP holds (`mesh.glb`, `mesh.ply`)."""
MAX_MASK_SIDE = 2048
"""Largest side of an uploaded mask PNG (checked from its header, before decoding)."""
__all__ = [
    "DEFAULT_GRID",
    "MAX_ANGLE",
    "MAX_GRID",
    "MESH_FORMATS",
    "MIN_GRID",
    "Engine",
    "EngineConfig",
    "FairLock",
    "ViewSpec",
    "labels_from_upload",
]


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
    invert_steps: int = 150
    """Steps of each stage (w, then W+) of a photo's inversion."""
    min_samples: int = MIN_SAMPLES
    """Annotated samples a layout needs before it can be trained."""
    planes_cache_size: int = 16
    """Faces whose tri-planes are kept in memory."""
    chunk_rays: int = 1024
    """Rays per rendering pass."""
    orbit_frames: int = 24
    """Frames of the orbit video of an export."""
    progress_interval_s: float = 0.25
    """Least time between two persisted progress reports of a job."""
    torch_threads: int | None = None
    """CPU threads of torch's operators (process-wide); None leaves torch's default. On a
    busy machine 1 can be many times faster than spinning threads competing for cores."""
    max_faces: int = 10_000
    """Faces each owner keeps (`LimitReached` beyond: delete some first)."""
    max_layouts: int = 100
    """Custom layouts each owner keeps."""
    max_samples_per_layout: int = 200
    """Annotated samples one owner keeps on one layout."""
    max_jobs: int = 500
    """Jobs kept in the history; the oldest finished ones are removed to make room."""
    max_queued_jobs: int | None = None
    """Jobs one owner may have waiting (`LimitReached` beyond); None: only the runner's
    queue bounds them."""
    max_disk_bytes: int | None = None
    """Bytes of files each owner keeps (`DiskQuotaReached` beyond); None: no quota."""
    default_owner: str = SINGLE_USER_OWNER
    """Who gets, at start-up, the records without an owner (a data folder from before
    owners): the single-user owner, or the first admin of a server with accounts."""
    adopt_non_accounts: bool = False
    """With accounts: `default_owner` also gets the records whose owner is no account (made
    in single-user mode, or of a deleted user)."""
    broker_url: str | None = None
    """None: embedded (this process runs the jobs). A Redis URL: this Engine is a worker's
    (`ffedit worker`): its jobs go to the broker's `jobs` queue and it shares the storage
    with the web process and the other workers (`ffedit.service.broker`)."""


@dataclass(frozen=True)
class FaceState:
    """What rendering a face needs, on the device."""

    ws: torch.Tensor
    """(num_ws, w_dim)."""
    planes: torch.Tensor
    """(1, 3, C, T, T) raw tri-planes."""
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
    view_angles: dict[str, dict[str, float]]
    """Each named view's {"yaw", "pitch"} in radians from the front view."""
    training_preset: str
    training_steps: int
    min_samples: int
    edit_steps: int


def layout_of(record: LayoutRecord) -> Layout:
    return layout_from_json(record.definition)


def labels_from_upload(data: bytes, layout: Layout, resolution: int) -> np.ndarray:
    """(resolution, resolution) int64 class ids of an uploaded mask PNG in `layout` (checked
    by content; an exact multiple of the resolution is reduced by majority vote).

    The size the PNG declares is checked from its header before any pixel is decoded: a
    square exact multiple of the resolution, at most `MAX_MASK_SIDE` pixels a side."""
    if not data.startswith(PNG_SIGNATURE):
        raise InvalidImage("the mask is not a PNG image (checked by content, not by name)")
    width, height = png_size(data)
    side = max(MAX_MASK_SIDE, resolution)
    if width != height or width % resolution or not 0 < width <= side:
        raise InvalidMask(
            f"the mask is {width}×{height} pixels; this model's masks are "
            f"{resolution}×{resolution} (or an exact multiple, e.g. {2 * resolution}×"
            f"{2 * resolution}, at most {side}×{side})"
        )
    try:
        labels = labels_from_png(data, layout)
    except MemoryError as error:
        raise InvalidMask(f"the {width}×{height} mask is too large to decode here") from error
    return labels_at_resolution(labels, resolution, layout.num_classes)


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
        self._load_model()
        self._open_storage()
        self._cache_lock = threading.Lock()
        self._faces: OrderedDict[str, FaceState] = OrderedDict()
        self._adapters: dict[Path, GeometryAdapter] = {}
        self._mtcnn: Mtcnn | None = None
        self._training_lock = threading.Lock()
        """Held from the not-already-training check to the job's insertion (one at a time)."""

    def close(self) -> None:
        """Stop the job runner (a running job fails with the shutdown reason), close storage."""
        self.runner.shutdown()
        self.storage.close()

    def _load_model(self) -> None:
        if self.config.torch_threads is not None:
            torch.set_num_threads(self.config.torch_threads)
        self.device = resolve_device(self.config.device)
        self.generator: TriplaneGenerator = load_generator(self.config.model, self.device)
        self.device_lock = FairLock()

    def _limits(self) -> StoredLimits:
        config = self.config
        return StoredLimits(
            faces=config.max_faces,
            custom_layouts=config.max_layouts,
            samples_per_layout=config.max_samples_per_layout,
            queued_jobs=config.max_queued_jobs,
            disk_bytes=config.max_disk_bytes,
        )

    def _open_storage(self) -> None:
        config = self.config
        if config.broker_url is None:
            self._open_server_storage(mark_interrupted=True)
            self.runner = JobRunner(self.storage, progress_interval_s=config.progress_interval_s)
        else:  # a worker: the web process owns the folder (its lock, leftovers, start-up)
            self.storage = Storage(config.data_dir, limits=self._limits(), remove_leftovers=False)
            self.interrupted_jobs = []
            self.runner = broker.CeleryJobs(
                self.storage, config.broker_url, config.progress_interval_s
            )

    def _open_server_storage(self, mark_interrupted: bool) -> None:
        """The server's storage (exclusive: one server per data folder), with the jobs a dead
        process left failed (when `mark_interrupted`), the records without an owner adopted
        and the built-in layouts registered."""
        self.storage = Storage(self.config.data_dir, exclusive=True, limits=self._limits())
        self.interrupted_jobs = self.storage.mark_interrupted_jobs() if mark_interrupted else []
        self.storage.adopt_unowned(self.config.default_owner, self.config.adopt_non_accounts)
        self._register_builtin_layouts()

    # ---------------------------------------------------------------- model

    @property
    def model_source(self) -> str:
        """The name of the checkpoint the model was loaded from (its file or folder name: the
        server's filesystem paths are not for its clients)."""
        return Path(self.config.model).name

    @property
    def generator_config(self) -> GeneratorConfig:
        return self.generator.config

    def generator_config_dict(self) -> dict:
        """The loaded generator's config as JSON (what a web process without the model
        needs of it: `ffedit.service.remote`)."""
        return self.generator_config.to_dict()

    @property
    def mask_resolution(self) -> int:
        return self.generator_config.neural_rendering_resolution

    def model_info(self) -> ModelInfo:
        config = self.generator_config
        return ModelInfo(
            source=self.model_source,
            device=str(self.device),
            mask_resolution=config.neural_rendering_resolution,
            image_resolution=config.image_resolution,
            z_dim=config.z_dim,
            num_ws=config.num_ws,
            w_dim=config.w_dim,
            seg_classes=config.seg_classes,
            views=tuple(NAMED_VIEWS),
            view_angles=named_view_angles(),
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
        stored = {record.name for record in self.storage.list_layouts(None)}
        for name, layout in BUILTIN_LAYOUTS.items():
            if name not in stored:
                self.storage.add_layout(name, layout_to_json(layout), builtin=True)

    def layout_by_id(self, owner: str, layout_id: str) -> LayoutRecord:
        """A layout by id only, as every write addresses it (a name is not unguessable)."""
        return self.storage.get_layout(layout_id, owner=owner)

    def find_layout(self, owner: str | None, reference: str) -> LayoutRecord:
        """A layout of the owner's or a built-in one by id, or else by name (for reads);
        `NotFound` otherwise. `owner` None: the built-in layouts only (a built-in's base)."""
        if owner is not None:
            with contextlib.suppress(NotFound):
                return self.storage.get_layout(reference, owner=owner)
        for record in self.storage.list_layouts(owner):
            if record.name == reference:
                return record
        raise NotFound("layout", reference)

    def create_layout(
        self, owner: str, name: str, base: str, new_classes: list[tuple[str, tuple[int, int, int]]]
    ) -> LayoutRecord:
        """Store a layout: the classes of the layout `base` (id or name) plus new ones."""
        self.storage.ensure_room(LAYOUTS_ROOM, owner)
        base_layout = layout_of(self.find_layout(owner, base))
        layout = extend_layout(
            base_layout, name, tuple(LayoutClass(n, tuple(c)) for n, c in new_classes)
        )
        return self.storage.add_layout(name, layout_to_json(layout), owner=owner)

    def shipped_adapter_path(self, record: LayoutRecord) -> Path | None:
        path = layout_adapter_folder(self.config.model, record.name)
        return path if record.builtin and path.is_dir() else None

    def can_predict(self, record: LayoutRecord) -> bool:
        """Masks of this layout can be rendered (without falling back to a base)."""
        try:
            self._own_seg_head_source(record)
        except NoAdapter:
            return False
        return True

    def seg_head(self, record: LayoutRecord, fall_back_to_base: bool = False) -> SegHead | None:
        """The layout's segmentation head (None: the generator's own logits); `NoAdapter` when
        it has none (and, with `fall_back_to_base`, neither has its base)."""
        folder = self.seg_head_source(record, fall_back_to_base)
        return None if folder is None else self._adapter(folder)

    def seg_head_source(self, record: LayoutRecord, fall_back_to_base: bool = False) -> Path | None:
        """The adapter folder `seg_head` loads (None: the generator's own logits), found
        without loading it; `NoAdapter` as `seg_head`."""
        try:
            return self._own_seg_head_source(record)
        except NoAdapter:
            base = layout_of(record).base
            if not fall_back_to_base or base is None:
                raise
            return self.seg_head_source(self.find_layout(record.owner, base), True)

    def _own_seg_head_source(self, record: LayoutRecord) -> Path | None:
        try:
            return seg_head_folder(
                record.adapter_path or self.shipped_adapter_path(record),
                record.name,
                len(record.definition["classes"]),
                self.generator_config,
            )
        except NoSegHead:
            raise NoAdapter(
                f"layout {record.name!r} has no trained adapter yet: add annotated samples and "
                "train it first"
            ) from None

    def _forget_adapters(self, layout_folder: Path, keep: Path | None = None) -> None:
        """Drop the cached adapters of a layout's folder (deleted or retrained), but `keep`."""
        with self._cache_lock:
            for folder in [f for f in self._adapters if f.parent == layout_folder and f != keep]:
                del self._adapters[folder]

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

    def create_face_from_seed(self, owner: str, seed: int) -> FaceRecord:
        self.storage.ensure_room(FACES_ROOM, owner)
        with self.device_lock:
            ws = ws_from_seed(self.generator, seed)
        return self.storage.add_face(ws.cpu().numpy(), {"seed": int(seed)}, owner=owner)

    def create_face_from_latent(self, owner: str, latent: np.ndarray, file_name: str) -> FaceRecord:
        """A face from an uploaded z (z_dim,) or ws (num_ws, w_dim) / (1, num_ws, w_dim)."""
        self.storage.ensure_room(FACES_ROOM, owner)
        config = self.generator.config
        array = np.asarray(latent, dtype=np.float32)
        if not np.isfinite(array).all():
            raise InvalidRequest("the latent holds NaN or infinite values")
        if array.shape == (config.z_dim,):
            with self.device_lock:
                ws = ws_from_z(self.generator, torch.from_numpy(array)).cpu().numpy()
        elif array.reshape(-1).shape == (config.num_ws * config.w_dim,) and array.ndim in (2, 3):
            ws = array.reshape(config.num_ws, config.w_dim)
        else:
            raise InvalidRequest(
                f"a latent of this model is z ({config.z_dim},) or ws ({config.num_ws}, "
                f"{config.w_dim}); got shape {tuple(array.shape)}"
            )
        return self.storage.add_face(ws, {"upload": file_name}, owner=owner)

    def _detector(self) -> Mtcnn:
        """The face detector, loaded on first use (CPU: it is small and runs per upload)."""
        with self._cache_lock:
            if self._mtcnn is None:
                self._mtcnn = load_mtcnn("cpu")
            return self._mtcnn

    def submit_photo(self, owner: str, data: bytes, file_name: str) -> JobRecord:
        """Check an uploaded photo (a JPEG or PNG with one face large enough: `PhotoError`
        otherwise, before anything is stored), align it, and queue its inversion; the job's
        result names the new face, its output file is the aligned crop (`PHOTO_CROP_FILE`).

        Detection and alignment run here, in the calling process: they need the detector
        (`_detector`, CPU) and the mask resolution, not the generator, so a web process
        without the model (`RemoteEngine`) refuses a bad photo at once too. The photo and
        its aligned crop are the job's input files, the landmark camera its params:
        `_run_photo` rebuilds the inversion from them in whichever process runs it."""
        self.storage.ensure_room(FACES_ROOM, owner)
        photo = torch.from_numpy(read_photo(data)).permute(2, 0, 1)
        aligned = align_photo(self._detector(), photo, self.mask_resolution)
        params = {
            "file_name": file_name,
            "steps": self.config.invert_steps,
            "landmark_fit": aligned.fit._asdict(),
            "face_box": list(aligned.box),
        }
        inputs = {
            "photo" + _photo_suffix(data): data,
            PHOTO_CROP_FILE: png_bytes(uint8_image(aligned.crop)),
        }
        self._make_room_for_a_job(owner)
        return self.runner.submit(
            tasks.INVERT_KIND, params, self.run_job, inputs=inputs, owner=owner
        )

    def _run_photo(self, job: JobRecord, context: JobContext) -> dict | None:
        params = job.params
        crop_png = self.storage.job_input_path(job.id, PHOTO_CROP_FILE).read_bytes()
        crop = signed_image(torch.from_numpy(load_png(crop_png)).permute(2, 0, 1))
        fit = params["landmark_fit"]
        config = InversionConfig(w_steps=params["steps"], wplus_steps=params["steps"])
        start = Camera(fit["yaw"], fit["pitch"])
        result = tasks.invert_photo(self._job_device(), crop, start, config, context)
        if result is None:
            return None
        self.storage.write_job_output(context.job_id, PHOTO_CROP_FILE, crop_png)
        camera = result.camera._asdict()
        origin = {"photo": params["file_name"], "invert": context.job_id, "camera": camera}
        face = self.storage.add_face(result.ws[0].cpu().numpy(), origin, owner=job.owner)
        return {
            "face_id": face.id,
            "file": PHOTO_CROP_FILE,
            "camera": camera,
            "landmark_fit": fit,
            "face_box": params["face_box"],
            "seconds": round(result.seconds, 3),
        }

    def add_edited_face(
        self,
        owner: str,
        ws: torch.Tensor,
        plane_stats: PlaneStatistics,
        parent_id: str,
        origin: dict,
    ) -> FaceRecord:
        extra = {
            PLANE_MEAN_KEY: plane_stats.mean.detach().cpu().numpy(),
            PLANE_STD_KEY: plane_stats.std.detach().cpu().numpy(),
        }
        return self.storage.add_face(
            ws.detach().cpu().numpy(), origin, parent_id, extra, owner=owner
        )

    def delete_face(self, owner: str, face_id: str) -> None:
        self.storage.delete_face(face_id, owner=owner)
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
        ws = torch.from_numpy(arrays[WS_KEY]).to(self.device)
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
        owner: str,
        face_id: str,
        view: ViewSpec,
        kind: str,
        layout_reference: str = BASE_LAYOUT,
        size: int | None = None,
        wanted: Callable[[], bool] | None = None,
    ) -> bytes:
        """PNG of a face: RGB (super-resolved, or raw at `size`² when given), the layout's
        predicted mask (indexed PNG, mask resolution or `size`²) or both blended. Sides above
        `MAX_DIRECT_RENDER_SIDE` are refused (`InvalidRequest`): they are `submit_render` jobs.
        `wanted`: asked when the device's turn comes; False → `NotWanted`, nothing rendered."""
        _check_render_kind(kind)
        if size is not None and size > MAX_DIRECT_RENDER_SIDE:
            raise InvalidRequest(
                f"size {size} is above the {MAX_DIRECT_RENDER_SIDE} px rendered inside a request; "
                "ask for it as a render job instead (POST the same query to the face's renders)"
            )
        self.storage.get_face(face_id, owner=owner)
        record = self.find_layout(owner, layout_reference)
        head = None if kind == "rgb" else self.seg_head(record, fall_back_to_base=True)
        super_resolve = kind != "mask" and size is None
        output = self.render_output(face_id, view, head, size, super_resolve, wanted)
        rgb = output.image[0] if output.image is not None else output.rgb_raw[0]
        return face_png(rgb, output.seg_logits[0], kind, layout_of(record))

    def render_view(
        self,
        owner: str,
        face_id: str,
        view: ViewSpec,
        layout_reference: str = BASE_LAYOUT,
        wanted: Callable[[], bool] | None = None,
    ) -> tuple[bytes, bytes]:
        """What the page shows of a view, from one render: the super-resolved RGB PNG and the
        layout's predicted mask (indexed PNG at the mask resolution, base fallback)."""
        self.storage.get_face(face_id, owner=owner)
        record = self.find_layout(owner, layout_reference)
        head = self.seg_head(record, fall_back_to_base=True)
        output = self.render_output(face_id, view, head, super_resolve=True, wanted=wanted)
        layout = layout_of(record)
        rgb = output.image[0]
        return face_png(rgb, output.seg_logits[0], "rgb", layout), face_png(
            rgb, output.seg_logits[0], "mask", layout
        )

    def submit_render(
        self,
        owner: str,
        face_id: str,
        view: ViewSpec,
        kind: str,
        layout_reference: str = BASE_LAYOUT,
        size: int = MAX_RENDER_SIDE,
    ) -> JobRecord:
        """Queue a raw `size`² render (up to `MAX_RENDER_SIDE`) as a job: rendered a band of
        rows at a time (progress per band, cancel), its PNG is `RENDER_FILE` (`job_file`).
        The same render done before answers with its job (cached)."""
        _check_render_kind(kind)
        if not 16 <= size <= MAX_RENDER_SIDE:
            raise InvalidRequest(f"size must be from 16 to {MAX_RENDER_SIDE} px, not {size}")
        self.storage.get_face(face_id, owner=owner)
        record = self.find_layout(owner, layout_reference)
        if kind != "rgb":
            self.seg_head_source(record, fall_back_to_base=True)  # NoAdapter now
        params = {
            "face_id": face_id,
            "view": view.to_dict(),
            "kind": kind,
            "layout_id": record.id,
            "adapter": _adapter_name(record.adapter_path or self.shipped_adapter_path(record)),
            "size": size,
        }
        done = self._finished_job_with(owner, tasks.RENDER_KIND, params, RENDER_FILE)
        if done is not None:
            return done
        self._make_room_for_a_job(owner)
        return self.runner.submit(tasks.RENDER_KIND, params, self.run_job, owner=owner)

    def _run_render(self, job: JobRecord, context: JobContext) -> dict | None:
        params = job.params
        face_id, kind = params["face_id"], params["kind"]
        record = self.storage.get_layout(params["layout_id"], owner=None)
        head = None if kind == "rgb" else self.seg_head(record, fall_back_to_base=True)
        camera = ViewSpec.from_dict(params["view"]).camera().to(self.device)
        output = tasks.render_in_bands(
            self._job_device(),
            lambda: self.face_state(face_id),
            camera,
            params["size"],
            head,
            context,
        )
        if output is None:
            return None
        data = face_png(output.rgb, output.seg_logits, kind, layout_of(record))
        self.storage.write_job_output(context.job_id, RENDER_FILE, data)
        return {"file": RENDER_FILE, "bytes": len(data), "face_id": face_id}

    def run_job(self, context: JobContext) -> dict | None:
        """Run the stored job `context.job_id` (everything it needs is in its record and its
        input files, so that any process holding the model can run it: this one's runner, or
        a worker's); its result, or None when it stopped."""
        job = self.storage.get_job(context.job_id, owner=None)
        bodies = {
            tasks.TRAIN_KIND: self._run_training,
            tasks.EDIT_KIND: self._run_edit,
            tasks.EXPORT_KIND: self._run_export,
            tasks.RENDER_KIND: self._run_render,
            tasks.MESH_KIND: self._run_mesh,
            tasks.INVERT_KIND: self._run_photo,
        }
        return bodies[job.kind](job, context)

    def _finished_job_with(
        self, owner: str, kind: str, params: dict, file: str
    ) -> JobRecord | None:
        """The owner's newest succeeded job of `kind` with these `params` whose `file` is
        still stored (a cached export or render), or None."""
        jobs = self.storage.list_jobs(JobStatus.SUCCEEDED, newest_first=True, owner=owner)
        for done in jobs:
            if done.kind == kind and done.params == params:
                with contextlib.suppress(NotFound):
                    self.storage.job_output_path(done.id, file)
                    return done
        return None

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
        wanted: Callable[[], bool] | None = None,
    ) -> GeneratorOutput:
        """One deterministic render of a stored face (holding the device lock). `wanted`:
        asked when the lock's turn comes; False → `NotWanted`, and the turn passes on."""
        if not self.device_lock.acquire_if(wanted or _always):
            raise NotWanted()
        try:
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
        finally:
            self.device_lock.release()

    # ------------------------------------------------- layouts and samples

    def list_layouts(self, owner: str) -> list[LayoutRecord]:
        """Built-in layouts first, then the owner's, oldest first."""
        return self.storage.list_layouts(owner)

    def delete_layout(self, owner: str, layout_id: str) -> None:
        """Delete a custom layout (by id) with its samples and adapter (`Conflict` for
        built-ins)."""
        record = self.layout_by_id(owner, layout_id)
        self.storage.delete_layout(record.id, owner=owner)
        if record.adapter_path is not None:
            self._forget_adapters(record.adapter_path.parent)

    def add_sample(
        self, owner: str, layout_id: str, face_id: str, view: ViewSpec, mask_png: bytes
    ) -> SampleRecord:
        """Store an annotated sample of a layout (by id): a face seen from a view with its
        uploaded mask (any PNG form the codecs read, at the mask resolution or a multiple),
        stored indexed."""
        record = self.layout_by_id(owner, layout_id)
        self.storage.get_face(face_id, owner=owner)
        self.storage.ensure_room(SAMPLES_ROOM, owner, record.id)
        layout = layout_of(record)
        labels = labels_from_upload(mask_png, layout, self.mask_resolution)
        mask = indexed_png_from_labels(labels, layout)
        return self.storage.add_sample(record.id, face_id, view.to_dict(), mask, owner=owner)

    def list_samples(self, owner: str, layout_reference: str) -> list[SampleRecord]:
        """The owner's samples of the layout."""
        record = self.find_layout(owner, layout_reference)
        return self.storage.list_samples(record.id, owner=owner)

    def get_sample(self, owner: str, layout_reference: str, sample_id: str) -> SampleRecord:
        """A sample of the layout (`NotFound` when it belongs to another one)."""
        record = self.find_layout(owner, layout_reference)
        sample = self.storage.get_sample(sample_id, owner=owner)
        if sample.layout_id != record.id:
            raise NotFound("sample", sample_id)
        return sample

    def delete_sample(self, owner: str, layout_id: str, sample_id: str) -> None:
        sample = self.get_sample(owner, self.layout_by_id(owner, layout_id).id, sample_id)
        self.storage.delete_sample(sample.id, owner=owner)

    # ----------------------------------------------------------- faces

    def get_face(self, owner: str, face_id: str) -> FaceRecord:
        return self.storage.get_face(face_id, owner=owner)

    def list_faces(self, owner: str) -> list[FaceRecord]:
        return self.storage.list_faces(owner)

    # ------------------------------------------------------------ jobs

    def list_jobs(
        self, owner: str, status: str | None = None, limit: int | None = None, offset: int = 0
    ) -> list[JobRecord]:
        """The owner's jobs (with `status` when given), newest first, paged by `limit` and
        `offset`."""
        return self.storage.list_jobs(status, limit, offset, newest_first=True, owner=owner)

    def _make_room_for_a_job(self, owner: str) -> None:
        """`LimitReached` when the owner has the most jobs waiting already, `DiskQuotaReached`
        when their files fill their quota; then remove the oldest finished jobs (of anyone,
        and their files) beyond `max_jobs`."""
        self.storage.ensure_room(QUEUED_JOBS_ROOM, owner)
        self.storage.ensure_disk_room(owner, 0)  # room for what the job will write
        excess = self.storage.count_jobs() + 1 - self.config.max_jobs
        for job_id in self.storage.oldest_finished_jobs(excess) if excess > 0 else []:
            with contextlib.suppress(NotFound):  # deleted meanwhile
                self.storage.delete_job(job_id, owner=None)

    def get_job(self, owner: str, job_id: str) -> JobRecord:
        return self.storage.get_job(job_id, owner=owner)

    def cancel_job(self, owner: str, job_id: str) -> JobRecord:
        """Cancel: a queued job at once, a running one after its current step."""
        return self.runner.cancel(self.get_job(owner, job_id).id)

    def delete_job(self, owner: str, job_id: str) -> None:
        """Delete a finished job and its files (`Conflict` while queued or running)."""
        self.storage.delete_job(job_id, owner=owner)

    def job_events(self, owner: str, job_id: str):
        """An async iterator of the job's current state, then its events until it ends
        (`NotFound` for an unknown job or another owner's)."""
        return self.runner.subscribe(self.get_job(owner, job_id).id)

    def is_training(self, record: LayoutRecord) -> bool:
        """A training job of the layout is queued or running (never for a built-in one)."""
        if record.owner is None:
            return False
        return any(
            job.kind == tasks.TRAIN_KIND and job.params.get("layout_id") == record.id
            for status in (JobStatus.QUEUED, JobStatus.RUNNING)
            for job in self.storage.list_jobs(status, owner=record.owner)
        )

    def _job_device(self) -> tasks.Device:
        return tasks.Device(self.generator, self.device_lock, self.config.chunk_rays)

    # -------------------------------------------------------- training

    def submit_training(self, owner: str, layout_id: str) -> JobRecord:
        """Queue the training of a layout's (by id) adapter on its samples, decoded now
        (`AlreadyTraining`, `TooFewSamples`, `InvalidRequest` for built-ins)."""
        record = self.layout_by_id(owner, layout_id)
        with self._training_lock:  # check and insert at once: two requests, one job
            return self._queue_training(owner, record)

    def _queue_training(self, owner: str, record: LayoutRecord) -> JobRecord:
        if record.builtin:
            raise InvalidRequest(f"layout {record.name!r} is built in; create a layout to train")
        if self.is_training(record):
            raise AlreadyTraining(f"layout {record.name!r} is already being trained")
        stored = self.storage.list_samples(record.id, owner=owner)
        if len(stored) < self.config.min_samples:
            raise TooFewSamples(
                f"training layout {record.name!r} needs at least {self.config.min_samples} "
                f"annotated sample(s) (10 recommended); it has {len(stored)}"
            )
        params = {
            "layout_id": record.id,
            "samples": [s.id for s in stored],
            "steps": self.training_config().steps,
        }
        self._make_room_for_a_job(owner)
        return self.runner.submit(tasks.TRAIN_KIND, params, self.run_job, owner=owner)

    def _run_training(self, job: JobRecord, context: JobContext) -> dict | None:
        record = self.storage.get_layout(job.params["layout_id"], owner=None)
        layout = layout_of(record)
        samples = [
            self._layout_sample(self.storage.get_sample(sample_id, owner=None), layout)
            for sample_id in job.params["samples"]
        ]
        first_new = self._first_new_class(job.owner, layout)
        config = with_steps(self.training_config(), job.params["steps"])
        device = self._job_device()
        fit = tasks.train_layout(device, samples, layout, config, context)
        if fit is None:
            return None
        classes = tasks.check_training_samples(device, fit, samples, layout, first_new, context)
        if classes is None:
            return None
        report = {
            "steps": fit.steps,
            "seconds": round(fit.seconds, 3),
            "final_losses": fit.final_losses,
            "samples": len(samples),
            "preset": self.config.training_preset,
            "job_id": context.job_id,
            "classes": [fit_of_class.as_dict() for fit_of_class in classes],
        }
        trained = self.storage.store_layout_adapter(
            record.id,
            lambda folder: save_adapter(folder, fit.adapter, layout, config, report),
            report,
        )
        self._forget_adapters(trained.adapter_path.parent, keep=trained.adapter_path)
        return {"layout_id": record.id, **report}

    def _first_new_class(self, owner: str, layout: Layout) -> int:
        """The id of the layout's first class beyond its base's (0 without a base)."""
        if layout.base is None:
            return 0
        try:
            return len(self.find_layout(owner, layout.base).definition["classes"])
        except NotFound:  # its base was deleted since: every class is reported as its own
            return 0

    def _layout_sample(self, sample: SampleRecord, layout: Layout) -> LayoutSample:
        ws = torch.from_numpy(self.storage.load_face_ws(sample.face_id))
        labels = labels_from_png(sample.mask_path.read_bytes(), layout)
        camera = ViewSpec.from_dict(sample.view).camera()
        return LayoutSample(ws.to(self.device), camera.to(self.device), torch.from_numpy(labels))

    # ----------------------------------------------------------- edits

    def submit_edit(
        self,
        owner: str,
        face_id: str,
        layout_reference: str,
        view: ViewSpec,
        mask_png: bytes,
        steps: int | None = None,
        overlap_weight: float = 0.5,
        seed: int = 0,
    ) -> JobRecord:
        """Check an edit toward the uploaded target mask and queue it; the job gets the
        decoded target and the layout's seg head. `steps` None: the configured default (at
        most the configured maximum). The mask is stored (indexed) as the job's input."""
        self.storage.get_face(face_id, owner=owner)
        self.storage.ensure_room(FACES_ROOM, owner)  # its result is a new face
        record = self.find_layout(owner, layout_reference)
        self.seg_head_source(record)  # NoAdapter now, rather than a failed job later
        layout = layout_of(record)
        labels = labels_from_upload(mask_png, layout, self.mask_resolution)
        if np.array_equal(labels, self.predicted_labels(face_id, view, record)):
            raise NothingToEdit()
        steps = steps or self.config.edit_steps
        if not 1 <= steps <= self.config.edit_steps:
            raise InvalidRequest(f"steps must lie in [1, {self.config.edit_steps}], got {steps}")
        params = {
            "face_id": face_id,
            "layout_id": record.id,
            "view": view.to_dict(),
            "steps": steps,
            "overlap_weight": overlap_weight,
            "seed": seed,
        }
        mask = indexed_png_from_labels(labels, layout)
        self._make_room_for_a_job(owner)
        return self.runner.submit(
            tasks.EDIT_KIND, params, self.run_job, inputs={EDIT_TARGET_FILE: mask}, owner=owner
        )

    def _run_edit(self, job: JobRecord, context: JobContext) -> dict | None:
        params = job.params
        face_id = params["face_id"]
        record = self.storage.get_layout(params["layout_id"], owner=None)
        layout = layout_of(record)
        target = self.storage.job_input_path(job.id, EDIT_TARGET_FILE).read_bytes()
        config = EditConfig(
            steps=params["steps"], overlap_weight=params["overlap_weight"], seed=params["seed"]
        )
        camera = ViewSpec.from_dict(params["view"]).camera()
        labels = torch.from_numpy(labels_from_png(target, layout))
        inputs = tasks.EditInputs(self.seg_head(record), camera, labels, config)
        source = functools.partial(self.face_state, face_id)  # called under the lock
        result = tasks.edit_face(self._job_device(), source, inputs, context)
        if result is None:
            return None
        origin = {"edit": context.job_id, "layout_id": record.id, "view": params["view"]}
        face = self.add_edited_face(job.owner, result.ws, result.plane_stats, face_id, origin)
        return {
            "face_id": face.id,
            "parent_id": face_id,
            "steps": result.steps,
            "seconds": round(result.seconds, 3),
            "final_losses": result.losses[-1] if result.losses else {},
            "outcome": result.outcome.as_dict(),
        }

    # ---------------------------------------------------------- meshes

    def submit_mesh(
        self,
        owner: str,
        face_id: str,
        layout_reference: str = BASE_LAYOUT,
        file_format: str = "glb",
        grid: int = DEFAULT_GRID,
    ) -> JobRecord:
        """Queue the face's surface (`extract_mesh`) with each vertex's colour and class in the
        layout, as a GLB or PLY job; its output is `mesh.<format>` (`job_file`). The layout
        must predict its own classes (`NoAdapter` otherwise: no base fallback, the classes
        would not be the layout's); the same mesh made before answers with its job."""
        self.storage.get_face(face_id, owner=owner)
        record = self.find_layout(owner, layout_reference)
        self.seg_head_source(record)  # NoAdapter now, rather than a failed job later
        if file_format not in MESH_FORMATS:
            raise InvalidRequest(
                f"format must be one of {', '.join(MESH_FORMATS)}, not {file_format!r}"
            )
        _mesh_settings(grid)  # InvalidRequest now
        params = {
            "face_id": face_id,
            "layout_id": record.id,
            "adapter": _adapter_name(record.adapter_path or self.shipped_adapter_path(record)),
            "format": file_format,
            "grid": grid,
        }
        done = self._finished_job_with(owner, tasks.MESH_KIND, params, _mesh_file(file_format))
        if done is not None:
            return done
        self._make_room_for_a_job(owner)
        return self.runner.submit(tasks.MESH_KIND, params, self.run_job, owner=owner)

    def _run_mesh(self, job: JobRecord, context: JobContext) -> dict | None:
        params = job.params
        if context.should_stop():
            return None
        record = self.storage.get_layout(params["layout_id"], owner=None)
        context.report(0, 2, {})
        mesh = self.face_mesh(
            params["face_id"], self.seg_head(record), _mesh_settings(params["grid"])
        )
        name = _mesh_file(params["format"])
        data = mesh_bytes(mesh, layout_of(record), params["format"])
        self.storage.write_job_output(context.job_id, name, data)
        context.report(2, 2, {})
        return {
            "file": name,
            "bytes": len(data),
            "face_id": params["face_id"],
            "vertices": len(mesh.vertices),
            "triangles": len(mesh.faces),
        }

    def face_mesh(self, face_id: str, head: SegHead | None, settings: MeshSettings) -> FaceMesh:
        """A stored face's mesh (`extract_mesh`: about 1.5–3 s at 128³ on a 2-core CPU),
        holding the device lock for one pass of decoding at a time: renders waiting for
        the device go between two."""
        with JobSteps(self.device_lock) as steps:
            state = self.face_state(face_id)
            return extract_mesh(
                self.generator,
                state.planes,
                settings,
                head,
                state.plane_stats,
                between_passes=steps.between_steps,
            )

    # ---------------------------------------------------------- export

    def submit_export(
        self,
        owner: str,
        face_id: str,
        layout_reference: str,
        orbit_frames_count: int | None = None,
    ) -> JobRecord:
        """Queue the face's export bundle as a job (progress per orbit frame, cancel); its
        output is `EXPORT_FILE` (`job_file`). An export that already succeeded with the same
        face, layout, adapter and frames is answered with its job (cached)."""
        self.storage.get_face(face_id, owner=owner)
        record = self.find_layout(owner, layout_reference)
        self.seg_head_source(record, fall_back_to_base=True)  # NoAdapter now, not a failed job
        params = {
            "face_id": face_id,
            "layout_id": record.id,
            "adapter": _adapter_name(record.adapter_path or self.shipped_adapter_path(record)),
            "frames": orbit_frames_count or self.config.orbit_frames,
        }
        done = self._finished_job_with(owner, tasks.EXPORT_KIND, params, EXPORT_FILE)
        if done is not None:
            return done

        self._make_room_for_a_job(owner)
        return self.runner.submit(tasks.EXPORT_KIND, params, self.run_job, owner=owner)

    def _run_export(self, job: JobRecord, context: JobContext) -> dict | None:
        params = job.params
        try:
            data = self._export_zip(
                params["face_id"], params["layout_id"], params["frames"], context
            )
        except _Stopped:
            return None
        self.storage.write_job_output(context.job_id, EXPORT_FILE, data)
        return {"file": EXPORT_FILE, "bytes": len(data), "face_id": params["face_id"]}

    def job_file(self, owner: str, job_id: str) -> tuple[Path, JobRecord]:
        """The output file of a succeeded job and its record (`Conflict` before it succeeded,
        `NotFound` when it has none)."""
        record = self.storage.get_job(job_id, owner=owner)
        if record.status is not JobStatus.SUCCEEDED:
            raise Conflict(f"job {job_id!r} is {record.status.value}; it has no file to download")
        name = (record.result or {}).get("file")
        if not isinstance(name, str):
            raise NotFound("job file", job_id)
        return self.storage.job_output_path(job_id, name), record

    def _export_zip(
        self,
        face_id: str,
        layout_id: str,
        orbit_frames_count: int | None,
        context: JobContext | None = None,
    ) -> bytes:
        """The bundle of a face in a layout (both checked by the caller, read again now); with
        a job's `context`, progress per frame and `_Stopped` once it should stop."""
        face = self.storage.get_face(face_id, owner=None)
        record = self.storage.get_layout(layout_id, owner=None)
        layout = layout_of(record)
        head = self.seg_head(record, fall_back_to_base=True)
        views = {}
        for name in BUNDLE_VIEWS:
            output = self.render_output(face_id, ViewSpec(name=name), head, super_resolve=True)
            rgb = uint8_image(output.image[0])
            labels = output.seg_logits[0].argmax(0).cpu().numpy()
            views[name] = ViewRender(rgb, labels, overlay_image(rgb, labels, layout))
        arrays = self.storage.load_face_arrays(face_id)
        extra = {"ws.npy": _npy_bytes(arrays[WS_KEY])}
        extra |= {f"{key}.npy": _npy_bytes(arrays[key]) for key in sorted(set(arrays) - {WS_KEY})}
        extra["layout.json"] = json.dumps(record.definition, indent=2).encode()
        adapter_folder = record.adapter_path or self.shipped_adapter_path(record)
        if adapter_folder is not None:
            for path in sorted(adapter_folder.iterdir()):
                extra[f"adapter/{path.name}"] = path.read_bytes()
        face_info = {"id": face.id, "origin": face.origin, "parent_id": face.parent_id}
        try:
            mesh = self.face_mesh(face_id, head, MeshSettings())
        except EmptySurface as error:  # a face without a surface still exports the rest
            face_info["mesh"] = str(error)
        else:
            for file_format in EXPORT_MESH_FORMATS:
                extra[_mesh_file(file_format)] = mesh_bytes(mesh, layout, file_format)
        extra["face.json"] = json.dumps(face_info, indent=2).encode()
        count = orbit_frames_count or self.config.orbit_frames
        frames = self._locked_orbit_frames(face_id, count, context)
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            write_face_bundle(archive.writestr, views, layout, frames, extra)
        return buffer.getvalue()

    def _locked_orbit_frames(self, face_id: str, frames: int, context: JobContext | None = None):
        """The face's orbit frames, each rendered holding the device lock (with a job's
        `context`: reported, and `_Stopped` raised before the next once it should stop)."""
        with self.device_lock:
            state = self.face_state(face_id)
        iterator = orbit_frames(
            self.generator, state.ws, state.plane_stats, frames, self.config.chunk_rays
        )
        for step in range(1, frames + 2):
            if context is not None and context.should_stop():
                raise _Stopped()
            with self.device_lock:
                frame = next(iterator, None)
            if frame is None:
                return
            if context is not None:
                context.report(step, frames, {})
            yield frame


class _Stopped(Exception):
    """An export job was cancelled (or the server is stopping) between two frames."""


def _photo_suffix(data: bytes) -> str:
    """'.png' or '.jpg' for a photo read by `read_photo` (JPEG or PNG)."""
    return ".png" if data.startswith(PNG_SIGNATURE) else ".jpg"


def _mesh_file(file_format: str) -> str:
    return f"{MESH_FILE}.{file_format}"


def _mesh_settings(grid: int) -> MeshSettings:
    try:
        return MeshSettings(grid=grid)
    except InvalidMeshRequest as error:
        raise InvalidRequest(str(error)) from None


def _always() -> bool:
    return True


def _check_render_kind(kind: str) -> None:
    if kind not in RENDER_KINDS:
        raise InvalidRequest(f"kind must be one of {', '.join(RENDER_KINDS)}, not {kind!r}")


def _adapter_name(folder: Path | None) -> str | None:
    return None if folder is None else folder.name


def face_png(rgb: torch.Tensor, seg_logits: torch.Tensor, kind: str, layout: Layout) -> bytes:
    """The PNG of one render: "rgb" (rgb (3, H, W) in [-1, 1]), "mask" (the argmax of
    seg_logits (K, h, w) as an indexed PNG) or "overlay" (the mask over the RGB)."""
    labels = seg_logits.argmax(0).cpu().numpy()
    if kind == "mask":
        return indexed_png_from_labels(labels, layout)
    image = uint8_image(rgb)
    if kind == "rgb":
        return png_bytes(image)
    return png_bytes(overlay_image(image, labels, layout))


def _npy_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()
