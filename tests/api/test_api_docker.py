"""Dockerfile.gpu and docker-compose.yml agree with the app: the port `ffedit serve` binds,
the FFEDIT_* names of the settings, the /data and /models volumes, the health endpoint, a
non-root user, and the same pinned torch as pyproject.toml (CUDA build); the compose file's
web service and GPU workers share the data folder and the broker, one GPU each."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import pytest
import yaml

from ffedit.api.app import API_PREFIX
from ffedit.api.settings import DEFAULT_MODEL, Settings

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile.gpu"


@pytest.fixture(scope="module")
def services() -> dict:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    assert list(compose["services"]) == ["redis", "ffedit", "worker-gpu0", "worker-gpu1"]
    return compose["services"]


@pytest.fixture(scope="module")
def service(services) -> dict:
    """The web service."""
    return services["ffedit"]


WORKERS = ("worker-gpu0", "worker-gpu1")


@pytest.fixture(scope="module")
def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the Dockerfile, continuation lines joined."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    lines = [line.strip() for line in text.splitlines()]
    return [
        (line.split(maxsplit=1)[0].upper(), line.split(maxsplit=1)[1])
        for line in lines
        if line and not line.startswith("#")
    ]


def _arguments(instructions, name: str) -> list[str]:
    return [arguments for instruction, arguments in instructions if instruction == name]


def _container_port(instructions) -> int:
    command = _arguments(instructions, "CMD")[-1]
    assert '"ffedit", "serve"' in command and '"0.0.0.0"' in command
    return int(re.search(r'"--port", "(\d+)"', command).group(1))


def test_compose_builds_the_gpu_image_and_publishes_the_served_port_on_loopback(
    service, instructions
):
    assert (ROOT / service["build"]["context"] / service["build"]["dockerfile"]) == DOCKERFILE
    port = _container_port(instructions)
    assert _arguments(instructions, "EXPOSE") == [str(port)]
    assert service["ports"] == [f"127.0.0.1:{port}:{port}"]
    assert "deploy" not in service  # the web process holds no model


def test_each_worker_serves_both_queues_on_its_own_gpu_with_the_web_services_data(services):
    web = services["ffedit"]
    gpus = []
    for name in WORKERS:
        worker = services[name]
        assert worker["build"] == web["build"] and worker["volumes"] == web["volumes"]
        assert worker["command"][:4] == ["ffedit", "worker", "--queues", "render,jobs"]
        assert worker["environment"]["FFEDIT_BROKER_URL"] == web["environment"]["FFEDIT_BROKER_URL"]
        assert worker["environment"]["FFEDIT_DATA_DIR"] == web["environment"]["FFEDIT_DATA_DIR"]
        (device,) = worker["deploy"]["resources"]["reservations"]["devices"]
        assert device["driver"] == "nvidia" and "gpu" in device["capabilities"]
        gpus += device["device_ids"]
    assert sorted(gpus) == ["0", "1"]  # one GPU each
    broker = web["environment"]["FFEDIT_BROKER_URL"]
    assert broker.startswith("redis://redis:") and "redis" in web["depends_on"]


def test_environment_names_are_settings_and_paths_are_the_volumes(services, service, instructions):
    fields = {f"FFEDIT_{name.upper()}" for name in Settings.model_fields}
    dockerfile_env = dict(
        re.findall(r"(FFEDIT_\w+)=(\S+)", " ".join(_arguments(instructions, "ENV")))
    )
    environment = service["environment"]
    assert set(environment) <= fields and set(dockerfile_env) <= fields
    for name in WORKERS:
        assert set(services[name]["environment"]) <= fields
    mounts = {volume.split(":")[1]: volume.split(":")[0] for volume in service["volumes"]}
    assert (
        set(mounts)
        == {"/data", "/models"}
        == set(json.loads(_arguments(instructions, "VOLUME")[0]))
    )
    for env in (environment, dockerfile_env):
        assert env["FFEDIT_DATA_DIR"] == "/data"
        assert Path(env["FFEDIT_MODEL"]) == Path("/models") / DEFAULT_MODEL.name
    assert mounts["/models"] == "./" + DEFAULT_MODEL.parent.as_posix()
    copied = {args.split()[-1].rstrip("/") for args in _arguments(instructions, "COPY")}
    assert Path(dockerfile_env["FFEDIT_FRONTEND_DIR"]).name in {Path(c).name for c in copied}


def test_the_image_runs_as_a_user_and_checks_the_health_endpoint(instructions):
    assert _arguments(instructions, "USER")[-1] not in {"root", "0"}
    healthcheck = _arguments(instructions, "HEALTHCHECK")[0]
    port = _container_port(instructions)
    assert f"http://127.0.0.1:{port}{API_PREFIX}/health" in healthcheck


def test_the_image_installs_the_pinned_torch_as_a_cuda_build_then_the_package(instructions):
    pins = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    torch_pin = next(pin for pin in pins if pin.startswith("torch=="))
    runs = _arguments(instructions, "RUN")
    torch_step = next(i for i, run in enumerate(runs) if torch_pin in run)
    assert re.search(r"download\.pytorch\.org/whl/cu\d+", runs[torch_step])
    assert any("pip install ." in run for run in runs[torch_step + 1 :])
