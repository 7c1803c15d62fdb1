"""The dependency rule of docs/architecture.md: the ML core never loads the web stack, and
every package imports only the packages the rule allows (read from every import statement,
those inside functions too)."""

import ast
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
    "ffedit.photo",
    "ffedit.invert",
    "ffedit.mesh",
]
WEB_MODULES = ["fastapi", "starlette", "pydantic", "uvicorn"]
PACKAGE_ROOT = Path(__file__).resolve().parents[1] / "backend" / "ffedit"
LEAVES = {"config", "device", "camera", "render", "layouts"}
"""Settings, the device rule, cameras, pure tensor functions, layouts as data: no other
ffedit package."""
CORE = LEAVES | {
    "generator",
    "synthface",
    "adapter",
    "edit",
    "io",
    "distill",
    "mesh",
    "photo",
    "invert",
}
ALLOWED_IMPORTS = {
    "config": set(),
    "device": set(),
    "camera": set(),
    "render": set(),
    "layouts": set(),
    "generator": {"render", "camera", "config"},
    "synthface": {"render", "camera", "layouts"},
    "adapter": {"generator", "render", "camera", "layouts", "config"},
    "edit": {"adapter", "generator", "render", "camera", "layouts", "config"},
    "io": {"generator", "adapter", "edit", "photo", "render", "camera", "layouts", "config"},
    "mesh": {"generator", "render", "camera", "config"},
    "distill": {"generator", "synthface", "render", "camera", "layouts", "config"},
    "photo": {"render", "camera"},
    "invert": {"photo", "generator", "edit", "render", "camera", "config"},
    "bench": CORE | {"cli.common"},
    "service": set(CORE),
    "api": {"service", "layouts", "config"},
}
"""Package (or top-level module) → the other ffedit packages it may import (a dotted entry
allows one module of a package). `cli` may import anything; nothing imports `cli` but
`bench` (the argument types every command shares)."""


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


def _imported_ffedit_modules(path: Path) -> set[str]:
    """Every `ffedit.…` module an import statement of `path` names, at any depth."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return {name for name in names if name.startswith("ffedit.")}


def _package_files(package: str) -> list[Path]:
    single = PACKAGE_ROOT / f"{package}.py"
    return [single] if single.is_file() else sorted((PACKAGE_ROOT / package).rglob("*.py"))


@pytest.mark.parametrize("package", sorted(ALLOWED_IMPORTS))
def test_every_package_imports_only_what_the_dependency_rule_allows(package):
    allowed = ALLOWED_IMPORTS[package] | {package}
    offenders = []
    for path in _package_files(package):
        for module in _imported_ffedit_modules(path):
            parts = module.split(".")
            if parts[1] not in allowed and ".".join(parts[1:3]) not in allowed:
                offenders.append(f"{path.relative_to(PACKAGE_ROOT)} imports {module}")
    assert offenders == [], f"{package} breaks the dependency rule: {offenders}"


def test_the_rule_covers_every_package():
    packages = {
        path.stem if path.is_file() else path.name
        for path in PACKAGE_ROOT.iterdir()
        if (path.is_dir() and (path / "__init__.py").is_file())
        or (path.suffix == ".py" and path.stem != "__init__")
    }
    assert packages - {"cli"} == set(ALLOWED_IMPORTS)
