"""Engine pieces: the fair device lock, views, and upload masks at the model's resolution."""

from __future__ import annotations

import math
import threading
import time

import numpy as np
import pytest
import torch

from ffedit.camera import named_camera
from ffedit.layouts import (
    BUILTIN_LAYOUTS,
    InvalidMask,
    indexed_png_from_labels,
    labels_at_resolution,
    majority_downsample,
)
from ffedit.service.engine import FairLock, ViewSpec, labels_from_upload
from ffedit.service.errors import InvalidRequest
from ffedit.service.views import named_view_angles


def test_a_job_yielding_between_steps_lets_a_waiting_render_go_first():
    lock, order = FairLock(), []
    lock.acquire()  # the job holds the device

    def render() -> None:
        with lock:
            order.append("render")

    waiter = threading.Thread(target=render)
    waiter.start()
    while lock._next_ticket < 2:  # the render is waiting
        time.sleep(0.001)
    lock.yield_to_waiters()
    order.append("next step")
    lock.release()
    waiter.join(5)
    assert order == ["render", "next step"]


def test_yield_without_waiters_keeps_the_lock():
    lock = FairLock()
    with lock:
        lock.yield_to_waiters()
        assert lock._serving == 0 and lock._next_ticket == 1


def test_views_are_named_or_angles_from_the_front():
    assert torch.equal(ViewSpec(name="left").camera(), named_camera("left"))
    assert torch.allclose(ViewSpec(yaw=-0.4).camera(), named_camera("left"), atol=1e-6)
    for name, angles in named_view_angles().items():  # what the model info tells the page
        assert torch.allclose(ViewSpec(**angles).camera(), named_camera(name), atol=1e-6)
    assert ViewSpec.from_dict(ViewSpec(yaw=0.1, pitch=-0.2).to_dict()) == ViewSpec(
        0 or None, 0.1, -0.2
    )
    for bad in ({"name": "top"}, {"yaw": math.pi}, {"pitch": float("nan")}):
        with pytest.raises(InvalidRequest):
            ViewSpec(**bad)


def test_majority_downsample_votes_per_block_ties_to_the_lower_id():
    labels = np.array([[1, 1, 2, 3], [1, 2, 3, 2], [0, 0, 4, 4], [5, 5, 5, 4]])
    np.testing.assert_array_equal(majority_downsample(labels, 2, 6), [[1, 2], [0, 4]])


def test_upload_masks_must_be_the_resolution_or_an_exact_multiple():
    layout = BUILTIN_LAYOUTS["base15"]
    labels = np.random.default_rng(0).integers(0, 15, (8, 8))
    doubled = labels.repeat(2, 0).repeat(2, 1)
    np.testing.assert_array_equal(
        labels_from_upload(indexed_png_from_labels(doubled, layout), layout, 8), labels
    )
    with pytest.raises(InvalidMask, match="8×8"):
        labels_at_resolution(np.zeros((12, 12), np.int64), 8, 15)
    with pytest.raises(InvalidMask, match="8×8"):
        labels_at_resolution(np.zeros((8, 16), np.int64), 8, 15)
