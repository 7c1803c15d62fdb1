"""What travels between the web process and a worker, without Redis: Engine arguments and
answers encoded as JSON and back (records by id from the shared storage), domain errors by
name, and the operations a worker serves."""

from __future__ import annotations

import base64
import json
import time

import numpy as np
import pytest

from ffedit.edit.errors import NothingToEdit
from ffedit.service.broker import decode, encode, error_answer, error_of_answer
from ffedit.service.errors import InvalidRequest, NotFound, NotWanted, WorkerFailed
from ffedit.service.storage import Storage
from ffedit.service.views import ViewSpec
from ffedit.service.worker import CALLABLE, call_engine


def _through_json(value, storage):
    return decode(json.loads(json.dumps(encode(value))), storage)


def test_arguments_and_answers_survive_json(tmp_path):
    with Storage(tmp_path) as storage:
        face = storage.add_face(np.zeros((3, 4), np.float32), {"seed": 1})
        latent = np.arange(6, dtype=np.float32).reshape(2, 3)
        view = ViewSpec(yaw=0.25, pitch=-0.1)
        sent = ["owner", 3, None, b"\x89PNG\x00", latent, view, face, {"a": [1.5, b"x"]}]
        back = _through_json(sent, storage)
        assert back[:4] == ("owner", 3, None, b"\x89PNG\x00")
        np.testing.assert_array_equal(back[4], latent)
        assert back[4].dtype == np.float32
        assert back[5] == view
        assert back[6] == storage.get_face(face.id, owner=None)
        assert back[7] == {"a": (1.5, b"x")}


def test_domain_errors_come_back_as_themselves():
    missing = error_of_answer(error_answer(NotFound("face", "abc"))["error"])
    assert isinstance(missing, NotFound) and (missing.kind, missing.id) == ("face", "abc")
    assert str(missing) == "no face with id 'abc'"
    invalid = error_of_answer(error_answer(InvalidRequest("steps must lie in [1, 3]"))["error"])
    assert type(invalid) is InvalidRequest and str(invalid) == "steps must lie in [1, 3]"
    same = error_of_answer(error_answer(NothingToEdit())["error"])
    assert type(same) is NothingToEdit and str(same) == str(NothingToEdit())
    other = error_of_answer(error_answer(ZeroDivisionError("division by zero"))["error"])
    assert isinstance(other, WorkerFailed) and "ZeroDivisionError" in str(other)


def test_a_worker_calls_only_the_operations_it_serves():
    class Engine:
        storage = None

        def delete_face(self, owner, face_id):  # a real operation, but not a worker's
            raise AssertionError("called")

    answer = call_engine(Engine(), "delete_face", {"list": ["owner", "face"]}, lambda: True)
    assert "not an operation workers serve" in answer["error"]["message"]
    assert "delete_face" not in CALLABLE and "render_view" in CALLABLE


@pytest.mark.parametrize("method", sorted(CALLABLE))
def test_every_served_operation_is_an_engine_method(method):
    from ffedit.service.engine import Engine

    assert callable(getattr(Engine, method))


@pytest.fixture
def jobs(tmp_path, redis_url):
    from ffedit.service.broker import CeleryJobs

    with Storage(tmp_path / "data") as storage:
        queue = CeleryJobs(storage, redis_url)
        yield queue
        queue.shutdown()


def test_a_queued_job_is_cancelled_at_once_and_a_full_queue_is_refused(jobs):
    from ffedit.service import broker
    from ffedit.service.errors import QueueFull
    from ffedit.service.storage import JobStatus

    first = jobs.submit("edit", {"n": 0}, None, {"mask.png": b"png"})
    assert jobs.cancel(first.id).status is JobStatus.CANCELLED
    assert jobs.storage.job_input_path(first.id, "mask.png").read_bytes() == b"png"  # kept
    for number in range(broker.MAX_WAITING_JOBS):
        jobs.submit("edit", {"n": number}, None)
    with pytest.raises(QueueFull, match="already waiting"):
        jobs.submit("edit", {"n": -1}, None)


def test_the_running_jobs_of_lost_workers_fail_and_the_others_run_on(jobs):
    from ffedit.service.broker import (
        WORKER_LOST_REASON,
        job_worker_key,
        worker_key,
    )
    from ffedit.service.storage import JobStatus

    records = [jobs.submit("edit", {"n": n}, None) for n in range(3)]
    for record in records:
        jobs.storage.update_job(record.id, status=JobStatus.RUNNING)
    alive, dead, unnamed = (record.id for record in records)
    jobs.redis.set(worker_key("w-alive"), 1, ex=30)
    jobs.redis.set(job_worker_key(alive), "w-alive")
    jobs.redis.set(job_worker_key(dead), "w-dead")  # its heartbeat expired: no key
    assert sorted(jobs.fail_lost_jobs()) == sorted([dead, unnamed])
    assert jobs.storage.get_job(alive, owner=None).status is JobStatus.RUNNING
    for job_id in (dead, unnamed):
        failed = jobs.storage.get_job(job_id, owner=None)
        assert failed.status is JobStatus.FAILED and failed.error == WORKER_LOST_REASON
    assert jobs.fail_lost_jobs() == []


def test_queued_jobs_are_sent_again_and_run_once(jobs):
    from ffedit.service.broker import JOBS_QUEUE
    from ffedit.service.storage import JobStatus

    first, second = (jobs.submit("edit", {"n": n}, None) for n in range(2))
    jobs.cancel(second.id)
    before = jobs.redis.llen(JOBS_QUEUE)
    assert jobs.resend_queued() == [first.id]  # only what still waits
    assert jobs.redis.llen(JOBS_QUEUE) == before + 1
    ran = []
    jobs.run(first.id, lambda context: ran.append(context.job_id) or {"ok": 1}, "w1")
    jobs.run(first.id, lambda context: ran.append("again"), "w2")  # the second delivery
    assert ran == [first.id]
    done = jobs.storage.get_job(first.id, owner=None)
    assert done.status is JobStatus.SUCCEEDED and done.result == {"ok": 1}


def test_a_render_gets_the_callers_wanted_and_other_operations_do_not():
    class Engine:
        storage = None

        def render_view(self, owner, face_id, view, layout, wanted):
            if not wanted():
                raise NotWanted()
            return b"png", b"mask"

        def create_face_from_seed(self, owner, seed, **options):
            assert options == {}
            raise NotFound("face", str(seed))

    arguments = encode(["owner", "face", ViewSpec(name="front"), "base15"])
    done = call_engine(Engine(), "render_view", arguments, lambda: True)
    assert decode(done["value"], None) == (b"png", b"mask")
    skipped = call_engine(Engine(), "render_view", arguments, lambda: False)
    assert skipped["error"]["type"] == "NotWanted"
    other = call_engine(Engine(), "create_face_from_seed", encode(["owner", 7]), lambda: False)
    assert other["error"] == {
        "type": "NotFound",
        "message": "no face with id '7'",
        "kind": "face",
        "id": "7",
    }


def test_a_call_no_longer_wanted_stops_waiting_and_tells_the_worker(jobs):
    from ffedit.service.broker import CALL_TASK, RENDER_QUEUE, WorkerCalls, unwanted_key

    calls = WorkerCalls(jobs.app, jobs.broker_url, jobs.storage, timeout_s=30)
    answers = iter([True, True, False])
    started = time.monotonic()
    with pytest.raises(NotWanted):
        calls.call("render_view", "owner", "face", wanted=lambda: next(answers))
    assert time.monotonic() - started < 5  # not the 30-s timeout
    (message,) = jobs.redis.lrange(RENDER_QUEUE, 0, -1)
    task = json.loads(message)
    assert task["headers"]["task"] == CALL_TASK
    reply = json.loads(base64.b64decode(task["body"]))[0][0]
    assert jobs.redis.exists(unwanted_key(reply))
    calls.close()
