"""An `ffedit worker` process: one Engine holding the model on one device, serving the
broker's `render` and `jobs` queues (`ffedit.service.broker`).

Celery runs the tasks on a small pool of threads in this one process (`--pool=threads`), not
on the solo pool: a solo worker does one task at a time, so its renders would wait for the
whole of a 5-minute training. With threads the worker behaves as the embedded server does:
one job at a time (a job message that comes while one runs goes back to the queue for
another worker), renders served between its optimisation steps (the Engine's device lock),
one process and one copy of the model per device. A heartbeat thread keeps the worker's
key alive, so the web process learns of its death (`LostJobMonitor`).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable

from ffedit.service.broker import (
    CALL_TASK,
    HEARTBEAT_S,
    RUN_JOB_TASK,
    WORKER_TTL_S,
    CeleryJobs,
    answer_call,
    decode,
    encode,
    error_answer,
    is_domain_error,
    unwanted_key,
    worker_key,
)
from ffedit.service.engine import Engine, EngineConfig

log = logging.getLogger(__name__)

CALLABLE = frozenset(
    {
        "generator_config_dict",
        "create_face_from_seed",
        "create_face_from_latent",
        "render_png",
        "render_view",
        "submit_edit",
    }
)
"""The Engine operations the web process calls on a worker (the ones that need the model)."""
SKIPPED_WHEN_UNWANTED = frozenset({"render_png", "render_view"})
"""The operations that take `wanted`: skipped at their turn on the device once the caller
no longer waits (`broker.unwanted_key`)."""
BUSY_REQUEUE_S = 1.0
"""How long a job message that came while a job runs waits before it goes back to the queue."""


def default_worker_name(device: str) -> str:
    return f"{socket.gethostname()}-{device.replace(':', '')}-{os.getpid()}"


def call_engine(
    engine: Engine, method: str, encoded_args: object, wanted: Callable[[], bool]
) -> dict:
    """The encoded answer of `engine.method(*args)` (a render given `wanted`), or of the
    error it raised."""
    if method not in CALLABLE:
        return error_answer(ValueError(f"{method!r} is not an operation workers serve"))
    try:
        args = decode(encoded_args, engine.storage)
        options = {"wanted": wanted} if method in SKIPPED_WHEN_UNWANTED else {}
        return {"value": encode(getattr(engine, method)(*args, **options))}
    except Exception as error:
        if not is_domain_error(error):
            log.exception("%s failed", method)
        return error_answer(error)


def _beat(jobs: CeleryJobs, name: str, stop: threading.Event) -> None:
    while True:
        try:
            jobs.redis.set(worker_key(name), os.getpid(), ex=int(WORKER_TTL_S))
        except Exception:
            log.exception("could not refresh the heartbeat")
        if stop.wait(HEARTBEAT_S):
            return


def serve_worker(config: EngineConfig, queues: list[str], name: str, concurrency: int = 4) -> None:
    """Load the model, then serve `queues` until stopped (SIGTERM/SIGINT: warm shutdown)."""
    engine = Engine(config)
    jobs: CeleryJobs = engine.runner
    app = jobs.app
    job_slot = threading.Lock()

    @app.task(name=CALL_TASK)
    def call(reply: str, method: str, encoded_args: object) -> None:
        def wanted() -> bool:
            return not jobs.redis.exists(unwanted_key(reply))

        answer_call(jobs.redis, reply, call_engine(engine, method, encoded_args, wanted))

    @app.task(name=RUN_JOB_TASK)
    def run_job(job_id: str) -> None:
        if not job_slot.acquire(blocking=False):  # one job at a time: let another take it
            time.sleep(BUSY_REQUEUE_S)
            app.send_task(RUN_JOB_TASK, args=[job_id])
            return
        try:
            jobs.run(job_id, engine.run_job, name)
        finally:
            job_slot.release()

    stop = threading.Event()
    heartbeat = threading.Thread(target=_beat, args=(jobs, name, stop), daemon=True)
    heartbeat.start()
    log.info("worker %s serving %s on %s", name, ",".join(queues), engine.device)
    try:
        app.worker_main(
            [
                "worker",
                "--pool=threads",
                f"--concurrency={concurrency}",
                f"--queues={','.join(queues)}",
                f"--hostname={name}@%h",
                "--loglevel=INFO",
                "--without-gossip",
                "--without-mingle",
            ]
        )
    finally:
        stop.set()
        jobs.redis.delete(worker_key(name))
        engine.close()
