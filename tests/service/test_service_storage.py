"""Storage: record round trips, deletion rules, crash safety, restart and threads."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import numpy as np
import pytest

from ffedit.service.errors import LimitReached
from ffedit.service.storage import (
    FACES_ROOM,
    INTERRUPTED_REASON,
    Conflict,
    InvalidFileName,
    JobStatus,
    NotFound,
    Storage,
    StoredLimits,
)

BACKEND_DIR = Path(__file__).resolve().parents[2] / "backend"
MASK_PNG = b"\x89PNG\r\n\x1a\n fake mask bytes"


@pytest.fixture
def storage(tmp_path: Path):
    with Storage(tmp_path / "data") as opened:
        yield opened


def _files_under(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def test_face_round_trip_keeps_latent_origin_and_parent(storage: Storage):
    latent = np.arange(14 * 512, dtype=np.float64).reshape(14, 512) / 7
    root = storage.add_face(latent, {"seed": 3})
    child = storage.add_face(latent[:1], {"edit": "job1"}, parent_id=root.id)

    assert storage.get_face(root.id) == root
    assert root.origin == {"seed": 3} and root.parent_id is None
    assert child.parent_id == root.id and child.origin == {"edit": "job1"}
    loaded = storage.load_face_ws(root.id)
    assert loaded.dtype == np.float32 and loaded.shape == (14, 512)
    np.testing.assert_allclose(loaded, latent.astype(np.float32))
    assert [face.id for face in storage.list_faces()] == [root.id, child.id]
    assert root.ws_path == storage.data_dir / "faces" / root.id / "latent.safetensors"
    assert len(root.id) == 11 and root.id != child.id


def test_unknown_ids_raise_not_found_with_kind_and_id(storage: Storage):
    with pytest.raises(NotFound) as caught:
        storage.get_face("nope")
    assert caught.value.kind == "face" and caught.value.id == "nope"
    for call in (
        lambda: storage.add_face(np.zeros(4), {"seed": 1}, parent_id="gone"),
        lambda: storage.get_layout("x"),
        lambda: storage.list_samples("x"),
        lambda: storage.get_job("x"),
        lambda: storage.update_job("x", progress={}),
        lambda: storage.delete_face("x"),
    ):
        with pytest.raises(NotFound):
            call()
    assert storage.list_faces() == []
    assert _files_under(storage.data_dir / "faces") == []


def test_layout_samples_and_adapter_round_trip(storage: Storage):
    face = storage.add_face(np.zeros(512), {"seed": 0})
    layout = storage.add_layout("eyes+", {"labels": ["bg", "eye"], "colours": [[0, 0, 0]]})
    assert layout.adapter_path is None and layout.training_report is None and not layout.builtin
    front = storage.add_sample(layout.id, face.id, {"name": "front"}, MASK_PNG)
    turned = storage.add_sample(layout.id, face.id, {"yaw": 0.3, "pitch": -0.1}, MASK_PNG + b"2")

    assert storage.list_samples(layout.id) == [front, turned]
    assert front.mask_path.read_bytes() == MASK_PNG
    assert turned.view == {"yaw": 0.3, "pitch": -0.1}

    def write_adapter(folder: Path) -> None:
        (folder / "weights.safetensors").write_bytes(b"w1")

    trained = storage.store_layout_adapter(layout.id, write_adapter, {"steps": 10})
    assert (trained.adapter_path / "weights.safetensors").read_bytes() == b"w1"
    assert trained.training_report == {"steps": 10}

    retrained = storage.store_layout_adapter(
        layout.id, lambda folder: (folder / "weights.safetensors").write_bytes(b"w2"), {"steps": 20}
    )
    assert (retrained.adapter_path / "weights.safetensors").read_bytes() == b"w2"
    assert not trained.adapter_path.exists(), "the previous adapter folder is removed"
    assert storage.get_layout(layout.id) == retrained

    storage.delete_sample(front.id)
    assert not front.mask_path.exists()
    assert storage.list_samples(layout.id) == [turned]


def test_failed_adapter_writer_leaves_the_previous_adapter(storage: Storage):
    layout = storage.add_layout("custom", {})
    trained = storage.store_layout_adapter(layout.id, lambda f: (f / "a").write_bytes(b"1"), {})

    def broken_writer(folder: Path) -> None:
        (folder / "a").write_bytes(b"half")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        storage.store_layout_adapter(layout.id, broken_writer, {"steps": 99})
    assert storage.get_layout(layout.id) == trained
    assert _files_under(storage.data_dir / "layouts" / layout.id) == [
        f"{trained.adapter_path.name}/a"
    ]


def test_layout_names_are_unique_and_builtins_cannot_be_deleted(storage: Storage):
    base = storage.add_layout("base15", {"labels": 15}, builtin=True)
    with pytest.raises(Conflict, match="already exists"):
        storage.add_layout("base15", {})
    with pytest.raises(Conflict, match="built in"):
        storage.delete_layout(base.id)
    assert storage.list_layouts() == [base]
    assert [p.name for p in (storage.data_dir / "layouts").iterdir()] == [base.id]


def test_deleting_a_used_face_is_refused_and_a_layout_takes_its_samples_along(storage: Storage):
    face = storage.add_face(np.zeros(8), {"seed": 1})
    edited = storage.add_face(np.ones(8), {"edit": "j"}, parent_id=face.id)
    layout = storage.add_layout("nose", {})
    sample = storage.add_sample(layout.id, face.id, {"name": "left"}, MASK_PNG)

    with pytest.raises(Conflict, match="nose"):
        storage.delete_face(face.id)
    assert storage.get_face(face.id) == face

    storage.delete_layout(layout.id)
    assert not (storage.data_dir / "layouts" / layout.id).exists()
    with pytest.raises(NotFound):
        storage.get_sample(sample.id)

    storage.delete_face(face.id)
    assert not (storage.data_dir / "faces" / face.id).exists()
    assert storage.get_face(edited.id).parent_id is None, "edit chains lose a deleted parent"


def test_job_inputs_outputs_and_status_rules(storage: Storage):
    job = storage.add_job("edit", {"face_id": "f"}, {"mask.png": MASK_PNG})
    assert job.status == JobStatus.QUEUED and job.progress == {} and job.started_at is None
    assert storage.job_input_path(job.id, "mask.png").read_bytes() == MASK_PNG
    for bad_name in ("../x", ".hidden", "", "a/b"):
        with pytest.raises(InvalidFileName):
            storage.add_job("edit", {}, {bad_name: b""})
    with pytest.raises(Conflict, match="cancel it"):
        storage.delete_job(job.id)
    with pytest.raises(Conflict, match="cannot become"):
        storage.update_job(job.id, status=JobStatus.SUCCEEDED)

    running = storage.update_job(job.id, status=JobStatus.RUNNING, progress={"step": 1})
    assert running.started_at is not None and running.progress == {"step": 1}
    storage.write_job_output(job.id, "after.png", b"png")
    done = storage.update_job(job.id, status=JobStatus.SUCCEEDED, result={"face_id": "g"})
    assert done.finished_at >= done.started_at and done.result == {"face_id": "g"}
    assert storage.job_output_path(job.id, "after.png").read_bytes() == b"png"
    with pytest.raises(Conflict, match="already succeeded"):
        storage.update_job(job.id, status=JobStatus.FAILED)
    assert storage.list_jobs(JobStatus.SUCCEEDED) == [done]
    assert storage.list_jobs(JobStatus.RUNNING) == []

    storage.delete_job(job.id)
    assert not (storage.data_dir / "jobs" / job.id).exists()
    assert storage.list_jobs() == []


def test_restart_keeps_everything_and_fails_interrupted_jobs(tmp_path: Path):
    data_dir = tmp_path / "data"
    with Storage(data_dir) as first:
        face = first.add_face(np.full(16, 2.5), {"upload": "me.npy"})
        layout = first.add_layout("lips", {"labels": ["bg", "lip"]})
        sample = first.add_sample(layout.id, face.id, {"name": "front"}, MASK_PNG)
        queued = first.add_job("edit", {}, {"mask.png": MASK_PNG})
        running = first.add_job("train-layout", {"layout_id": layout.id})
        first.update_job(running.id, status=JobStatus.RUNNING, progress={"step": 4})
        finished = first.add_job("export-video", {})
        first.update_job(finished.id, status=JobStatus.RUNNING)
        first.update_job(finished.id, status=JobStatus.SUCCEEDED, result={"ok": True})

    with Storage(data_dir) as second:
        assert second.get_face(face.id) == face
        np.testing.assert_array_equal(second.load_face_ws(face.id), np.full(16, 2.5))
        assert second.list_samples(layout.id) == [sample]
        assert sample.mask_path.read_bytes() == MASK_PNG
        assert second.mark_interrupted_jobs() == sorted([queued.id, running.id])
        for job_id in (queued.id, running.id):
            job = second.get_job(job_id)
            assert job.status == JobStatus.FAILED and job.error == INTERRUPTED_REASON
        assert second.get_job(running.id).progress == {"step": 4}
        assert second.get_job(finished.id).status == JobStatus.SUCCEEDED
        assert second.job_input_path(queued.id, "mask.png").read_bytes() == MASK_PNG
        assert second.mark_interrupted_jobs() == []


def _run_until_crash(data_dir: Path, action: str, crash_after_rename: bool) -> None:
    """Run `action` on a Storage in a child process that dies at its first `os.replace`
    (the rename that puts a file or folder in place), just before it or just after it."""
    script = textwrap.dedent(
        f"""
        import os
        import numpy as np
        from pathlib import Path
        from ffedit.service.storage import Storage
        storage = Storage(Path({str(data_dir)!r}))
        face = storage.add_face(np.zeros(4), {{"seed": 0}})
        layout = storage.add_layout("l", {{}})
        real_replace = os.replace
        def crash(source, target):
            if {crash_after_rename!r}:
                real_replace(source, target)
            os._exit(3)
        os.replace = crash
        {action}
        """
    )
    env = {**os.environ, "PYTHONPATH": str(BACKEND_DIR)}
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, timeout=30)
    assert done.returncode == 3, done.stderr.decode()


def test_crash_after_files_before_row_leaves_no_row_and_the_files_are_removed(tmp_path: Path):
    data_dir = tmp_path / "data"
    _run_until_crash(data_dir, "storage.add_face(np.ones(4), {'seed': 1})", True)
    assert len(list((data_dir / "faces").iterdir())) == 2, "the crashed face's files are in place"

    with Storage(data_dir) as reopened:
        [face] = reopened.list_faces()
        assert face.origin == {"seed": 0}
    assert [p.name for p in (data_dir / "faces").iterdir()] == [face.id]


def test_crash_before_rename_leaves_a_temp_file_that_is_removed(tmp_path: Path):
    data_dir = tmp_path / "data"
    _run_until_crash(
        data_dir, "storage.add_sample(layout.id, face.id, {'name': 'front'}, b'png')", False
    )
    [temp_file] = [p for p in (data_dir / "layouts").rglob("*") if p.is_file()]
    assert temp_file.name.startswith(".") and temp_file.read_bytes() == b"png"

    with Storage(data_dir) as reopened:
        [layout] = reopened.list_layouts()
        assert reopened.list_samples(layout.id) == []
    assert _files_under(data_dir / "layouts") == []


def test_half_written_temporaries_and_orphans_are_removed_at_startup(tmp_path: Path):
    data_dir = tmp_path / "data"
    with Storage(data_dir) as first:
        face = first.add_face(np.zeros(4), {"seed": 0})
        layout = first.add_layout("l", {})
        sample = first.add_sample(layout.id, face.id, {"name": "front"}, MASK_PNG)
    samples_dir = data_dir / "layouts" / layout.id / "samples"
    (samples_dir / ".orphan.png.abc.tmp").write_bytes(b"half")
    (samples_dir / "unrecorded.png").write_bytes(b"never recorded")
    (data_dir / "faces" / ".x.abc.tmp").mkdir()
    (data_dir / "faces" / ".x.abc.tmp" / "latent.safetensors").write_bytes(b"half")
    (data_dir / "layouts" / layout.id / "adapter-stale").mkdir()
    (data_dir / "jobs" / "deadjob").mkdir()

    with Storage(data_dir) as reopened:
        assert reopened.list_samples(layout.id) == [sample]
        assert reopened.load_face_ws(face.id).shape == (4,)
    assert _files_under(data_dir / "layouts") == [f"{layout.id}/samples/{sample.id}.png"]
    assert [p.name for p in (data_dir / "faces").iterdir()] == [face.id]
    assert list((data_dir / "jobs").iterdir()) == []


def test_threads_share_one_storage(storage: Storage):
    job = storage.add_job("train-layout", {})
    storage.update_job(job.id, status=JobStatus.RUNNING)
    errors: list[BaseException] = []

    def add_faces(thread: int) -> None:
        try:
            for index in range(10):
                storage.add_face(np.full(4, thread), {"seed": thread * 100 + index})
                storage.update_job(job.id, progress={"thread": thread, "step": index})
                storage.list_faces()
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=add_faces, args=(t,)) for t in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    faces = storage.list_faces()
    assert sorted(face.origin["seed"] for face in faces) == sorted(
        t * 100 + i for t in range(4) for i in range(10)
    )
    assert len({face.id for face in faces}) == 40
    for face in faces:
        assert storage.load_face_ws(face.id)[0] == face.origin["seed"] // 100
    assert storage.get_job(job.id).progress["step"] == 9


def test_face_extra_arrays_are_stored_with_the_latent(storage: Storage):
    mean, std = np.full((1, 6), 0.5), np.full((1, 6), 2.0)
    face = storage.add_face(np.ones((3, 4)), {"edit": "j"}, extra_arrays={"mean": mean, "std": std})
    arrays = storage.load_face_arrays(face.id)
    assert sorted(arrays) == ["latent", "mean", "std"]
    np.testing.assert_array_equal(arrays["std"], std.astype(np.float32))
    np.testing.assert_array_equal(storage.load_face_ws(face.id), np.ones((3, 4), np.float32))
    with pytest.raises(ValueError, match="latent"):
        storage.add_face(np.ones(2), {"seed": 1}, extra_arrays={"latent": np.ones(2)})


def test_limits_are_checked_with_the_insert_and_leave_no_files(tmp_path: Path):
    limits = StoredLimits(faces=2, custom_layouts=1, samples_per_layout=1)
    with Storage(tmp_path / "data", limits=limits) as storage:
        barrier = threading.Barrier(6)
        outcomes = []

        def add() -> None:
            barrier.wait()
            try:
                outcomes.append(storage.add_face(np.zeros((2, 3)), {}).id)
            except LimitReached as error:
                outcomes.append(str(error))

        threads = [threading.Thread(target=add) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(storage.list_faces()) == 2
        assert sum("at most 2 faces" in outcome for outcome in outcomes) == 4
        assert len(list((tmp_path / "data" / "faces").iterdir())) == 2, "no folder of a refusal"
        with pytest.raises(LimitReached, match="at most 2 faces"):
            storage.ensure_room(FACES_ROOM)
        layout = storage.add_layout("mine", {"classes": []})
        storage.add_layout("built-in", {"classes": []}, builtin=True)  # not counted
        with pytest.raises(LimitReached, match="at most 1 layouts"):
            storage.add_layout("more", {"classes": []})
        face = storage.list_faces()[0].id
        storage.add_sample(layout.id, face, {"name": "front"}, b"png")
        with pytest.raises(LimitReached, match="layout 'mine' keeps at most 1 samples"):
            storage.add_sample(layout.id, face, {"name": "front"}, b"png")
        assert len(storage.list_samples(layout.id)) == 1
