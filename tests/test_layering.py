"""The dependency rule of architecture.md: the ML core never loads the web stack."""

import subprocess
import sys
from pathlib import Path

import pytest

CORE_MODULES = [
    "ffedit.config",
    "ffedit.camera",
    "ffedit.render",
    "ffedit.generator",
    "ffedit.adapter",
    "ffedit.io",
    "ffedit.layouts",
    "ffedit.synthface",
]
WEB_MODULES = ["fastapi", "starlette", "pydantic", "uvicorn"]


@pytest.mark.parametrize("module", CORE_MODULES)
def test_core_module_does_not_load_the_web_stack(module):
    probe = f"import sys, {module}; print(','.join(m for m in {WEB_MODULES!r} if m in sys.modules))"
    loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert loaded == "", f"{module} loads {loaded}"


@pytest.mark.parametrize("module", ["ffedit.camera", "ffedit.render", "ffedit.layouts"])
def test_leaf_packages_import_no_other_ffedit_package_but_their_own(module):
    own = module.split(".")[1]
    probe = (
        f"import sys, {module}; "
        "print(','.join(sorted({m.split('.')[1] for m in sys.modules "
        "if m.startswith('ffedit.') and m.count('.') >= 1})))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert set(loaded.split(",")) <= {own}, f"{module} imports ffedit.{loaded}"


@pytest.mark.parametrize("module", ["ffedit.service.engine", "ffedit.service.tasks"])
def test_the_service_does_not_load_the_web_stack(module):
    test_core_module_does_not_load_the_web_stack(module)


@pytest.mark.parametrize("module", ["ffedit.api.schemas", "ffedit.api.settings"])
def test_api_schemas_and_settings_do_not_load_torch(module):
    probe = f"import sys, {module}; print('torch' in sys.modules)"
    loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert loaded == "False", f"{module} loads torch"


def test_the_api_does_no_torch_math():
    api = Path(__file__).resolve().parents[1] / "backend" / "ffedit" / "api"
    offenders = [
        str(path.relative_to(api))
        for path in api.rglob("*.py")
        if any(
            line.strip().startswith(("import torch", "from torch"))
            for line in path.read_text().splitlines()
        )
    ]
    assert offenders == [], f"api modules importing torch: {offenders}"
