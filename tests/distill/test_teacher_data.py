"""`ffedit train-generator`'s teacher data: shards built by worker processes, reused on resume."""

import pytest

from ffedit.cli.train import build_teacher_data
from ffedit.distill.teacher import TeacherSettings
from ffedit.io.tensors import load_tensors


def test_missing_shards_are_built_in_workers_and_existing_ones_kept(tmp_path):
    paths = build_teacher_data(tmp_path, entries=3, shard_size=2, workers=2)
    assert [path.name for path in paths] == [
        "shard-0000000-2.safetensors",
        "shard-0000002-2.safetensors",
    ]
    assert [len(load_tensors(path)["z_shape"]) for path in paths] == [2, 1]
    first = paths[0].read_bytes()
    paths[1].unlink()
    stamp = paths[0].stat().st_mtime_ns
    again = build_teacher_data(tmp_path, entries=3, shard_size=2, workers=1)
    assert again == paths and paths[1].exists()
    assert paths[0].stat().st_mtime_ns == stamp and paths[0].read_bytes() == first


def test_shards_hold_the_requested_views_and_other_settings_are_refused(tmp_path):
    (path,) = build_teacher_data(
        tmp_path, entries=1, shard_size=1, workers=1, settings=TeacherSettings(views=1)
    )
    assert load_tensors(path)["rgb"].shape[:2] == (1, 1)
    with pytest.raises(ValueError, match="views"):
        build_teacher_data(
            tmp_path, entries=1, shard_size=1, workers=1, settings=TeacherSettings(views=2)
        )
    assert load_tensors(path)["rgb"].shape[:2] == (1, 1)  # the stored shard is untouched
