"""`create_app(settings)`: the FastAPI app of ffedit.

The lifespan builds the `Engine` once (model loaded on its device, storage opened with jobs
of a dead process marked failed, records without an owner given to the default owner,
built-in layouts registered, job runner started) and closes it on shutdown, calling
`on_ready` in between. With a broker (`FFEDIT_BROKER_URL`) it is a `RemoteEngine`: no model
here, renders and jobs on `ffedit worker` processes. In multi-user mode (`FFEDIT_USERS=on`)
it first opens the accounts
(`ffedit.service.accounts.Accounts`) and refuses to start without an admin (`NoAccounts`,
saying to run `ffedit users create NAME --admin`); the first admin is the default owner.
Requests pass the guards first (`ffedit.api.guards`: trusted hosts, the Origin, the body's
type and size). Routers live under /api/v1, and every route of them needs credentials
(`ffedit.api.auth.current_principal`) but `/health` and logging in (`POST /session`); each
passes the owner it acts for to the Engine, which enforces ownership. Errors are JSON
{"error", "detail"} (`ffedit.api.errors`). Served without
credentials: the front end's static files (`frontend/`, at / when it has an index.html,
otherwise / redirects to the API docs) and the API docs: they hold no data, and the page
needs them to log in.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles

from ffedit import __version__
from ffedit.api.auth import authenticator_of, current_principal
from ffedit.api.errors import ERROR_RESPONSES, install_error_handlers
from ffedit.api.guards import install_guards
from ffedit.api.routes import faces, jobs, layouts, session, system, tokens
from ffedit.api.settings import Settings
from ffedit.service.accounts import Accounts, LoginThrottle
from ffedit.service.engine import Engine, EngineConfig
from ffedit.service.locking import RequestStreams
from ffedit.service.remote import RemoteEngine
from ffedit.service.storage import SINGLE_USER_OWNER

API_PREFIX = "/api/v1"
PUBLIC_ROUTERS = (system.public_router, session.public_router)
PROTECTED_ROUTERS = (
    session.router,
    tokens.router,
    system.router,
    layouts.router,
    faces.router,
    jobs.router,
)


def accounts_of_settings(settings: Settings) -> Accounts:
    """The accounts of a multi-user server's data folder, with its session and login
    settings."""
    throttle = LoginThrottle(
        settings.login_attempts_per_account,
        settings.login_attempts_per_address,
        settings.login_window_s,
    )
    return Accounts(settings.data_dir, settings.session_hours * 3600, throttle)


def engine_config(settings: Settings, default_owner: str = SINGLE_USER_OWNER) -> EngineConfig:
    """The service's `EngineConfig` of the runtime settings; the per-user job and disk
    limits, and the adoption of records of no account by `default_owner`, are multi-user
    mode's."""
    return EngineConfig(
        model=settings.model,
        data_dir=settings.data_dir,
        device=settings.device,
        training_preset=settings.training_preset,
        training_steps=settings.training_steps,
        edit_steps=settings.edit_steps,
        invert_steps=settings.invert_steps,
        min_samples=settings.min_samples,
        planes_cache_size=settings.planes_cache_size,
        chunk_rays=settings.chunk_rays,
        orbit_frames=settings.orbit_frames,
        torch_threads=settings.torch_threads,
        max_faces=settings.max_faces,
        max_layouts=settings.max_layouts,
        max_samples_per_layout=settings.max_samples_per_layout,
        max_jobs=settings.max_jobs,
        max_queued_jobs=settings.max_queued_jobs if settings.users else None,
        max_disk_bytes=settings.max_disk_bytes if settings.users else None,
        default_owner=default_owner,
        adopt_non_accounts=settings.users,
        broker_url=settings.broker_url,
    )


def engine_of_settings(settings: Settings, owner: str) -> Engine:
    """The web process's Engine: embedded (the model in this process), or without a model
    when a broker is set (`RemoteEngine`: the workers hold it)."""
    config = engine_config(settings, owner)
    if settings.broker_url is None:
        return Engine(config)
    return RemoteEngine(config, settings.worker_timeout_s)


def create_app(
    settings: Settings | None = None, on_ready: Callable[[], None] | None = None
) -> FastAPI:
    """The app; the model is loaded when its lifespan starts (`Settings()` when None), then
    `on_ready()` is called (`ffedit serve` prints the link that logs the page in)."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        accounts = accounts_of_settings(settings) if settings.users else None
        try:
            owner = SINGLE_USER_OWNER if accounts is None else accounts.first_admin().id
            engine = engine_of_settings(settings, owner)
        except BaseException:
            if accounts is not None:
                accounts.close()
            raise
        app.state.authenticator = authenticator_of(settings, accounts)
        app.state.engine = engine
        try:
            if on_ready is not None:
                on_ready()
            yield
        finally:
            engine.close()
            if accounts is not None:
                accounts.close()

    app = FastAPI(
        title="ffedit",
        version=__version__,
        description="Few-shot 3D face editing in NeRFs (FFaceNeRF): faces, layouts, edits.",
        lifespan=lifespan,
        # FastAPI's own multipart limits: every upload route takes one file and a few fields.
        form_limits={"max_files": 1, "max_fields": settings.max_form_fields},
    )
    app.state.settings = settings
    app.state.streams = RequestStreams()
    install_error_handlers(app)
    install_guards(app, settings, API_PREFIX)
    for router in PUBLIC_ROUTERS:
        app.include_router(router, prefix=API_PREFIX, responses=ERROR_RESPONSES)
    for router in PROTECTED_ROUTERS:
        app.include_router(
            router,
            prefix=API_PREFIX,
            responses=ERROR_RESPONSES,
            dependencies=[Depends(current_principal)],
        )
    index = settings.frontend_dir / "index.html"
    if index.is_file():
        app.mount("/", StaticFiles(directory=settings.frontend_dir, html=True), name="frontend")
    else:

        @app.get("/", include_in_schema=False)
        def root() -> RedirectResponse:
            return RedirectResponse("/docs")

    return app
