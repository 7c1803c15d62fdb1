"""Runtime settings of the server, from `FFEDIT_*` environment variables (pydantic-settings).

Read only by `ffedit.api` and `ffedit.cli`; the service gets a plain `EngineConfig` built
from them (`ffedit.api.app.engine_config`).
"""

from __future__ import annotations

import secrets
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from ffedit.config import DEFAULT_MODEL_PATH

REPOSITORY_ROOT = Path(__file__).resolve().parents[3]
DEFAULT_MODEL = Path(DEFAULT_MODEL_PATH)
TOKEN_BYTES = 32


def random_token() -> SecretStr:
    """A fresh access token: 32 random bytes, URL-safe base64 (43 characters)."""
    return SecretStr(secrets.token_urlsafe(TOKEN_BYTES))


class Settings(BaseSettings):
    """Every runtime setting; each is the environment variable FFEDIT_<NAME>."""

    model_config = SettingsConfigDict(
        env_prefix="FFEDIT_", protected_namespaces=(), hide_input_in_errors=True
    )

    users: bool = Field(
        False,
        description="on: multi-user mode, with accounts (`ffedit users create NAME --admin` "
        "makes the first), a login form, personal API tokens and per-user data; off (the "
        "default): single-user mode, one access token",
    )
    token: SecretStr = Field(
        default_factory=random_token,
        min_length=16,
        description="the access token every request but /health needs (`Authorization: "
        "Bearer`, or the page's session cookie made from it); unset: a random one each start, "
        "printed with the link that logs the page in",
    )

    model: Path = Field(DEFAULT_MODEL, description="generator checkpoint folder, .pkl or .pth")
    data_dir: Path = Field(Path("data"), description="records and files of the app")
    device: str = Field("auto", description="auto, cpu or cuda[:i]")
    max_upload_bytes: int = Field(8 * 1024 * 1024, ge=1024, description="largest upload")
    max_json_bytes: int = Field(
        64 * 1024, ge=1024, description="largest request body that is not a multipart upload"
    )
    max_form_fields: int = Field(
        16, ge=1, description="most text fields of one multipart request (and one file)"
    )
    trusted_hosts: list[str] = Field(
        ["localhost", "127.0.0.1", "[::1]"],
        description="Host header names served (JSON list; '*.example.com' patterns, '*' any); "
        "anything else is refused (DNS rebinding)",
    )
    allowed_origins: list[str] = Field(
        [],
        description="Origins (scheme://host[:port]) besides the server's own that may send "
        "state-changing requests and open job WebSockets",
    )
    training_preset: str = Field("fast", description="adapter training preset for layouts")
    training_steps: int | None = Field(None, ge=1, description="override the preset's steps")
    edit_steps: int = Field(100, ge=1, description="default and largest steps of an edit")
    invert_steps: int = Field(
        150, ge=1, description="steps of each stage (w, then W+) of a photo's inversion"
    )
    min_samples: int = Field(1, ge=1, description="samples a layout needs to be trained")
    planes_cache_size: int = Field(16, ge=1, description="faces whose tri-planes stay cached")
    chunk_rays: int = Field(1024, ge=64, description="rays per rendering pass")
    orbit_frames: int = Field(24, ge=2, le=300, description="frames of an export's orbit video")
    torch_threads: int | None = Field(
        None, ge=1, description="CPU threads of torch (process-wide); unset: torch's default"
    )
    max_faces: int = Field(10_000, ge=1, description="faces each user keeps (429 beyond)")
    max_layouts: int = Field(100, ge=1, description="custom layouts each user keeps (429 beyond)")
    max_samples_per_layout: int = Field(
        200, ge=1, description="annotated samples one user keeps on one layout (429 beyond)"
    )
    max_queued_jobs: int = Field(
        4, ge=1, description="multi-user mode: jobs one user may have waiting (429 beyond)"
    )
    max_disk_bytes: int = Field(
        10 * 1024**3,
        ge=1024,
        description="multi-user mode: bytes of files (faces, layouts, samples, jobs) each "
        "user keeps (413 beyond)",
    )
    session_hours: float = Field(
        168, gt=0, description="multi-user mode: how long a login session lasts"
    )
    login_attempts_per_account: int = Field(
        5, ge=1, description="failed logins of one account within login_window_s (429 beyond)"
    )
    login_attempts_per_address: int = Field(
        20, ge=1, description="failed logins from one client address within login_window_s"
    )
    login_window_s: float = Field(
        300, gt=0, description="the window failed logins are counted in, in seconds"
    )
    max_jobs: int = Field(
        500, ge=1, description="jobs kept in the history (the oldest finished go first)"
    )
    broker_url: str | None = Field(
        None,
        description="redis://host:port/db of the job broker: the web process then holds no "
        "model, and `ffedit worker` processes (one per GPU) serve its renders and jobs; unset "
        "(the default): one process does everything",
    )
    worker_timeout_s: float = Field(
        60, gt=0, description="with a broker: how long a request waits for a worker's answer"
    )
    frontend_dir: Path = Field(
        REPOSITORY_ROOT / "frontend", description="static front end served at /"
    )
