"""Checkpoint folders with a manifest: files written together, each verified when read.

A folder holds named files plus `manifest.json` (format version, creator, and the sha256 and
size of every other file). It is written to a temporary sibling and renamed into place
(`atomic_folder`), and read back only through the manifest: a missing, truncated or modified
file is a `CheckpointError` naming it. Generator and adapter checkpoints both use this.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

from ffedit import __version__
from ffedit.io.errors import CheckpointError
from ffedit.io.files import atomic_folder

FORMAT_VERSION = 1
MANIFEST_FILE = "manifest.json"


def write_manifest_folder(folder: str | os.PathLike, files: dict[str, bytes]) -> Path:
    """Write `files` (name → bytes) and their manifest as `folder`, atomically; returns it.

    Anything else already in `folder` (a model card, a contact sheet, adapters) is carried
    over unchanged: re-exporting weights must not delete what a user stored beside them.
    """
    manifest = {
        "format_version": FORMAT_VERSION,
        "created_by": f"ffedit {__version__}",
        "files": {
            name: {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
            for name, data in files.items()
        },
    }
    with atomic_folder(folder) as staging:
        _carry_over(Path(folder), staging, skip={*files, MANIFEST_FILE})
        for name, data in {**files, MANIFEST_FILE: json_bytes(manifest)}.items():
            with open(staging / name, "wb") as file:
                file.write(data)
                file.flush()
                os.fsync(file.fileno())
    return Path(folder)


def _carry_over(folder: Path, staging: Path, skip: set[str]) -> None:
    """Copy the entries of an existing `folder` not named in `skip` into `staging`."""
    if not folder.is_dir():
        return
    for entry in folder.iterdir():
        if entry.name in skip:
            continue
        if entry.is_dir():
            shutil.copytree(entry, staging / entry.name)
        else:
            shutil.copy2(entry, staging / entry.name)


def read_manifest_folder(folder: str | os.PathLike, required: tuple[str, ...]) -> dict[str, bytes]:
    """Every file the manifest of `folder` lists (name → bytes), each checked against it;
    the manifest must list all `required` names."""
    folder = Path(folder)
    manifest = read_json(folder / MANIFEST_FILE)
    if int(manifest.get("format_version", 0)) > FORMAT_VERSION:
        raise CheckpointError(
            f"{folder} uses checkpoint format {manifest['format_version']}; "
            f"this ffedit reads up to {FORMAT_VERSION}"
        )
    listed = manifest.get("files")
    if not isinstance(listed, dict) or not set(required) <= set(listed):
        raise CheckpointError(f"{folder}/{MANIFEST_FILE} does not list {' and '.join(required)}")
    return {name: _verified_bytes(folder / name, entry) for name, entry in listed.items()}


def _verified_bytes(path: Path, entry: object) -> bytes:
    if not isinstance(entry, dict) or "sha256" not in entry or "size" not in entry:
        raise CheckpointError(
            f"{path.parent}/{MANIFEST_FILE} has a malformed entry for {path.name}"
        )
    if not path.is_file():
        raise CheckpointError(f"{path} is missing (listed in {MANIFEST_FILE})")
    data = path.read_bytes()
    if len(data) < entry["size"]:
        raise CheckpointError(
            f"{path} is truncated or modified: {len(data)} of the {entry['size']} bytes "
            f"listed in {MANIFEST_FILE}"
        )
    if len(data) != entry["size"] or hashlib.sha256(data).hexdigest() != entry["sha256"]:
        raise CheckpointError(
            f"{path} is corrupt or modified: its sha256 does not match {MANIFEST_FILE}"
        )
    return data


def read_json(path: Path) -> dict:
    """The JSON object in `path`; a missing file means `path.parent` is no checkpoint folder."""
    if not path.is_file():
        raise CheckpointError(
            f"{path} is missing: {path.parent} is not an ffedit checkpoint folder"
        )
    return parse_json(path.read_bytes(), path)


def parse_json(data: bytes, path: Path) -> dict:
    """The JSON object encoded in `data` (read from `path`, named in errors)."""
    try:
        value = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise CheckpointError(f"{path} is not valid JSON: {error}") from error
    if not isinstance(value, dict):
        raise CheckpointError(f"{path} does not hold a JSON object")
    return value


def json_bytes(value: dict) -> bytes:
    """Indented, key-sorted UTF-8 JSON with a final newline."""
    return (json.dumps(value, indent=2, sort_keys=True) + "\n").encode("utf-8")
