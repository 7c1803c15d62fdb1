"""HTTP schemas: the JSON the API answers with and accepts (pydantic only, no torch).

They are built from the service's records by the routers; they never travel into the core.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

Color = tuple[int, int, int]


class ErrorOut(BaseModel):
    """Every error answer: a short sentence and details (the offending values, limits…)."""

    error: str
    detail: str | list | dict | None = None


class HealthOut(BaseModel):
    status: Literal["ok"]
    model: str


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


class LayoutOut(BaseModel):
    id: str
    name: str
    base: str | None
    builtin: bool
    classes: list[LayoutClassOut]
    trained: bool = Field(description="has its own trained adapter")
    can_predict: bool = Field(description="its masks can be rendered (adapter or base logits)")
    training: bool = Field(description="a training job is queued or running")
    training_report: dict | None
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
    progress: dict = Field(description="step, total, losses, preview_png (base64) when reported")
    result: dict | None
    error: str | None
    created_at: float
    started_at: float | None
    finished_at: float | None
