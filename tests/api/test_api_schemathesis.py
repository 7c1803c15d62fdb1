"""Schemathesis against the app's own OpenAPI spec: every operation, a bounded number of
generated requests each (valid and invalid), sent over HTTP to the real app (lifespan
running: tiny model, temporary data folder) served by uvicorn on loopback. No answer may be
a 5xx, and every answer must conform to the spec (status codes, content types, bodies);
invalid requests must be rejected. Requests carry the access token (`Authorization: Bearer`)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import hypothesis
import pytest
import schemathesis
from api_helpers import bearer, served_in_thread
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import positive_data_acceptance

from ffedit.api.app import create_app
from ffedit.api.settings import Settings

pytestmark = pytest.mark.slow

EXAMPLES_PER_OPERATION = 12
EXCLUDED_CHECKS = [positive_data_acceptance]
"""Requests valid per the schema may still be 4xx by design: image content (masks, .npy
latents), view XOR yaw/pitch, built-in layouts that cannot be trained, names taken."""


@pytest.fixture(scope="module")
def api_settings(tiny_model, tmp_path_factory) -> Settings:
    folder = tmp_path_factory.mktemp("schemathesis")
    return Settings(
        model=tiny_model,
        data_dir=folder / "data",
        device="cpu",
        training_steps=2,
        edit_steps=2,
        orbit_frames=2,
        max_upload_bytes=64 * 1024,
        torch_threads=1,
        frontend_dir=folder / "no-frontend",
    )


@pytest.fixture(scope="module")
def api_url(api_settings: Settings) -> Iterator[str]:
    with served_in_thread(create_app(api_settings)) as url:
        yield url


def _examine(
    operation, mode: GenerationMode, api_url: str, known: dict[str, str], headers: dict[str, str]
) -> tuple[list[tuple[str, int]], list[str]]:
    """(label, status) of every generated request of `operation` and its failures; about
    half of the requests use `known` path parameters (real ids, never deleted) so that they
    reach the core."""
    answered: list[tuple[str, int]] = []
    failures: list[str] = []

    @hypothesis.settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(hypothesis.HealthCheck),
        phases=[hypothesis.Phase.generate],
    )
    @hypothesis.given(case=operation.as_strategy(mode), use_known=st.booleans())
    def check(case, use_known):
        if use_known and operation.method.upper() != "DELETE":
            real = {name: known[name] for name in case.path_parameters.keys() & known.keys()}
            case.path_parameters = {**case.path_parameters, **real}
        try:
            response = case.call(base_url=api_url, headers=headers)
            answered.append((operation.label, response.status_code))
            case.validate_response(response, excluded_checks=EXCLUDED_CHECKS)
        except (AssertionError, FailureGroup) as failure:
            failures.append(f"{operation.label} ({mode.value}): {failure}")

    try:
        check()
    except hypothesis.errors.Unsatisfiable:
        # no invalid request exists (an operation without inputs)
        assert mode is GenerationMode.NEGATIVE, operation.label
    return answered, failures


def _wait_until_no_job_waits(api: httpx.Client, timeout_s: float = 120) -> None:
    """Let the jobs one operation's requests queued finish before the next operation: a full
    queue answers 503 `busy` by design, and a job holding the device slows renders."""
    deadline = time.monotonic() + timeout_s
    while any(api.get("/jobs", params={"status": s}).json() for s in ("queued", "running")):
        assert time.monotonic() < deadline, "the generated jobs did not finish"
        time.sleep(0.1)


def test_every_operation_answers_generated_requests_per_its_spec(api_url, api_settings):
    schema = schemathesis.openapi.from_url(f"{api_url}/openapi.json")
    headers = bearer(api_settings)
    api = httpx.Client(base_url=f"{api_url}/api/v1", headers=headers)
    face = api.post("/faces", json={"seed": 1}).json()["id"]
    layouts = api.get("/layouts").json()
    base17 = next(layout["id"] for layout in layouts if layout["name"] == "base17")
    known = {"face_id": face, "layout_id": base17}  # writes address layouts by id
    answered: list[tuple[str, int]] = []
    failures: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            operation_answers, operation_failures = _examine(
                operation, mode, api_url, known, headers
            )
            answered += operation_answers
            failures += operation_failures
            _wait_until_no_job_waits(api)
    assert {label for label, _ in answered} == {operation.label for operation in operations}
    rendered = ("GET /api/v1/faces/{face_id}/render", 200)
    # the derandomised draws depend on the whole spec: at least one must reach the real face
    renders = [status for label, status in answered if label == rendered[0]]
    assert answered.count(rendered) >= 1, f"no generated render reached a real face: {renders}"
    assert not failures, "\n\n".join(failures)
