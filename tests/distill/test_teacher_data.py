"""`ffedit train-generator`'s teacher data: shards built by worker processes, reused on resume."""

import json

import pytest
import torch

from ffedit.camera import cameras_from_angles, unpack_cameras
from ffedit.cli.train import build_teacher_data
from ffedit.distill.teacher import TeacherSettings, random_cameras
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


def test_runs_recorded_before_a_setting_existed_resume_with_its_default(tmp_path):
    (path,) = build_teacher_data(tmp_path, entries=1, shard_size=1, workers=1)
    record = tmp_path / "data" / "teacher.json"
    older = json.loads(record.read_text())
    del older["zoom_out_max"]
    record.write_text(json.dumps(older))
    assert build_teacher_data(tmp_path, entries=1, shard_size=1, workers=1) == [path]
    with pytest.raises(ValueError, match="zoom_out_max"):
        build_teacher_data(tmp_path, 1, 1, 1, settings=TeacherSettings(zoom_out_max=1.2))


def test_zoomed_out_views_shorten_the_focal_length_within_the_range_and_keep_the_poses():
    plain = random_cameras(200, TeacherSettings(), torch.Generator().manual_seed(3))
    zoomed = random_cameras(
        200, TeacherSettings(zoom_out_max=1.25), torch.Generator().manual_seed(3)
    )
    (poses, focal), (zoomed_poses, zoomed_focal) = (
        (pose, intrinsics[:, 0, 0]) for pose, intrinsics in map(unpack_cameras, (plain, zoomed))
    )
    assert torch.equal(poses, zoomed_poses)
    ratio = focal / zoomed_focal
    assert ratio.min() >= 1.0 and ratio.max() <= 1.25
    assert ratio.max() - ratio.min() > 0.2  # drawn over the range, not one value
    assert torch.equal(unpack_cameras(zoomed)[1][:, 1, 1], zoomed_focal)  # square pixels
    standard_focal = unpack_cameras(cameras_from_angles(torch.zeros(1), torch.zeros(1)))[1][0, 0, 0]
    assert torch.allclose(focal, standard_focal.expand_as(focal))


def test_a_zoom_below_one_is_refused():
    with pytest.raises(ValueError, match="at least 1"):
        TeacherSettings(zoom_out_max=0.9)
