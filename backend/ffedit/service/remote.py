"""`RemoteEngine`: the web process's Engine when a broker is set, holding no model.

It is an `Engine` (the same front door for the API's routes) whose storage and checks run
here, on the storage it shares with the workers, and whose operations that need the model
(renders, faces from a seed or a z, an edit's check against the face's current mask) are
calls on a worker (`ffedit.service.broker.WorkerCalls`, the `render` queue). Its job queue
is `CeleryJobs` (the `jobs` queue); its `LostJobMonitor` fails the jobs of dead workers. The
generator's config (mask resolution, classes) is asked of a worker once, when first needed.
Jobs a previous web process left queued or running are not failed at start-up: workers may
still be running them (a lost worker's job is failed by the monitor); the queued ones are
sent to the queue again, in case the broker lost their messages.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import numpy as np

from ffedit.config import GeneratorConfig
from ffedit.layouts import BASE_LAYOUT
from ffedit.service import broker
from ffedit.service.engine import Engine, EngineConfig
from ffedit.service.locking import FairLock
from ffedit.service.storage import FaceRecord, JobRecord
from ffedit.service.views import ViewSpec

DEVICE = "workers"
"""What `model_info` says the device is: the workers' (each has its own)."""


class RemoteEngine(Engine):
    """The Engine of a web process whose model work is done by `ffedit worker` processes."""

    def __init__(self, config: EngineConfig, call_timeout_s: float = 60.0) -> None:
        if config.broker_url is None:
            raise ValueError("a RemoteEngine needs the broker's URL")
        self._call_timeout_s = call_timeout_s
        self._config_lock = threading.Lock()
        self._generator_config: GeneratorConfig | None = None
        super().__init__(config)

    def _load_model(self) -> None:
        self.device = DEVICE
        self.device_lock = FairLock()  # no device here; kept for the Engine's interface

    def _open_storage(self) -> None:
        self._open_server_storage(mark_interrupted=False)
        jobs = broker.CeleryJobs(
            self.storage, self.config.broker_url, self.config.progress_interval_s
        )
        self.runner = jobs
        jobs.resend_queued()
        self.calls = broker.WorkerCalls(
            jobs.app, self.config.broker_url, self.storage, self._call_timeout_s
        )
        self.monitor = broker.LostJobMonitor(jobs)

    def close(self) -> None:
        self.monitor.stop()
        self.calls.close()
        super().close()

    @property
    def generator_config(self) -> GeneratorConfig:
        with self._config_lock:
            if self._generator_config is None:
                data = self.calls.call("generator_config_dict")
                self._generator_config = GeneratorConfig.from_dict(data)
            return self._generator_config

    def create_face_from_seed(self, owner: str, seed: int) -> FaceRecord:
        return self.calls.call("create_face_from_seed", owner, int(seed))

    def create_face_from_latent(self, owner: str, latent: np.ndarray, file_name: str) -> FaceRecord:
        return self.calls.call("create_face_from_latent", owner, np.asarray(latent), file_name)

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
        return self.calls.call(
            "render_png", owner, face_id, view, kind, layout_reference, size, wanted=wanted
        )

    def render_view(
        self,
        owner: str,
        face_id: str,
        view: ViewSpec,
        layout_reference: str = BASE_LAYOUT,
        wanted: Callable[[], bool] | None = None,
    ) -> tuple[bytes, bytes]:
        return self.calls.call("render_view", owner, face_id, view, layout_reference, wanted=wanted)

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
        return self.calls.call(
            "submit_edit",
            owner,
            face_id,
            layout_reference,
            view,
            mask_png,
            steps,
            overlap_weight,
            seed,
        )
