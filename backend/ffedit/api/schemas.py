"""HTTP schemas: the JSON the API answers with and accepts (pydantic only, no torch).

They are built from the service's records by the routers; they never travel into the core.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Color = tuple[int, int, int]


class ErrorOut(BaseModel):
    """Every error answer: a short sentence and details (the offending values, limits…)."""

    error: str
    detail: str | list | dict | None = None


class HealthOut(BaseModel):
    status: Literal["ok"]
    model: str
    users: bool = Field(
        description="multi-user mode: the page logs in with a user name and password (else "
        "with the start-up link's token)"
    )


class LoginIn(BaseModel):
    name: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)


class SessionOut(BaseModel):
    """Who the request acts for."""

    user: str = Field(description="the user's name (`owner` in single-user mode)")
    admin: bool
    users: bool = Field(description="multi-user mode (accounts); false: single-user mode")


class TokenIn(BaseModel):
    name: str = Field(min_length=1, max_length=64, description="what the token is for")


class TokenOut(BaseModel):
    """A personal API token (its secret is shown only once, when it is made)."""

    id: str
    name: str
    created_at: float
    last_used_at: float | None = Field(description="to the minute; null: never used")


class NewTokenOut(TokenOut):
    token: str = Field(
        description="the secret, sent as `Authorization: Bearer <token>`: shown only now"
    )


class ModelOut(BaseModel):
    source: str
    device: str
    mask_resolution: int = Field(description="side of masks (uploads may be exact multiples)")
    image_resolution: int = Field(description="side of the super-resolved RGB")
    z_dim: int
    num_ws: int
    w_dim: int
    seg_classes: int
    views: list[str]
    view_angles: dict[str, dict[str, float]] = Field(
        description='each named view\'s {"yaw", "pitch"} in radians from the front view'
    )
    training_preset: str
    training_steps: int
    min_samples: int
    edit_steps: int
    max_upload_bytes: int


class ViewOut(BaseModel):
    """What the page shows of a view, from one render."""

    image_png: str = Field(description="the super-resolved RGB, a base64 PNG")
    mask_png: str = Field(description="the layout's predicted mask, a base64 indexed PNG")


class LayoutClassOut(BaseModel):
    name: str
    color: Color


class TrainedClassOut(BaseModel):
    """One class of a trained layout, measured on its own training samples (each predicted
    once at its view with the trained adapter)."""

    name: str
    new: bool = Field(description="the layout adds it over its base")
    iou: float | None = Field(
        description="pooled IoU over the training samples; null: neither painted nor predicted"
    )
    painted_pixels: int = Field(description="its pixels in the samples' masks, all together")
    predicted_pixels: int = Field(description="its pixels in the predictions of the samples")
    learned: bool = Field(description="iou ≥ 0.2 (false for a class painted nowhere)")


class TrainingReportOut(BaseModel):
    """What the training that made a layout's adapter reported (also a training job's
    result, with the layout's id)."""

    model_config = ConfigDict(extra="allow")

    steps: int | None = None
    seconds: float | None = None
    final_losses: dict[str, float] = Field(default_factory=dict)
    samples: int | None = Field(None, description="training samples")
    preset: str | None = None
    job_id: str | None = None
    classes: list[TrainedClassOut] = Field(
        default_factory=list,
        description="every class measured on the training samples, in class-id order (empty "
        "for a training from before this report)",
    )


class LayoutOut(BaseModel):
    id: str
    name: str
    base: str | None
    builtin: bool
    classes: list[LayoutClassOut]
    trained: bool = Field(description="has its own trained adapter")
    can_predict: bool = Field(description="its masks can be rendered (adapter or base logits)")
    training: bool = Field(description="a training job is queued or running")
    training_report: TrainingReportOut | None
    created_at: float


class NewClassIn(BaseModel):
    name: str = Field(min_length=1, max_length=48)
    color: Color


class LayoutIn(BaseModel):
    name: str = Field(min_length=1, max_length=48)
    base: str = Field(description="id or name of the layout whose classes come first")
    classes: list[NewClassIn] = Field(min_length=1, max_length=64)


class FaceIn(BaseModel):
    seed: int = Field(ge=0, le=2**31 - 1)


class FaceOut(BaseModel):
    id: str
    origin: dict
    parent_id: str | None
    created_at: float


class SampleOut(BaseModel):
    id: str
    layout_id: str
    face_id: str
    view: dict
    created_at: float


class JobOut(BaseModel):
    id: str
    kind: str
    status: Literal["queued", "running", "succeeded", "failed", "cancelled"]
    params: dict
    progress: dict = Field(
        description="step, total, losses, preview_png (base64) when reported; stage (what the "
        "steps are, in words) for steps other than the job's main ones"
    )
    result: dict | None = Field(
        description="the job's outcome; a training's is its `TrainingReportOut` and layout_id"
    )
    error: str | None
    created_at: float
    started_at: float | None
    finished_at: float | None
