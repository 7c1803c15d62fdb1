"""Job bodies: a layout training reports its preparation before its first step and hands
the device over between the prepared variants."""

from __future__ import annotations

import threading
import time

import torch

from ffedit.adapter import AdapterTrainingConfig, LayoutSample
from ffedit.camera import named_camera
from ffedit.generator import PRESETS, TriplaneGenerator
from ffedit.layouts import Layout, LayoutClass
from ffedit.service import tasks
from ffedit.service.locking import FairLock

LAYOUT = Layout("spot", (LayoutClass("background", (0, 0, 0)), LayoutClass("spot", (255, 0, 0))))


class RecordingContext:
    """A `JobContext` stand-in that keeps every report (stage, step, total) in order; at the
    first one a render starts waiting for the device lock, as a page's would."""

    job_id = "job"

    def __init__(self, lock: FairLock) -> None:
        self.records: list = []
        self.lock = lock
        self.render = threading.Thread(target=self._render)

    def _render(self) -> None:
        with self.lock:
            self.records.append("render")

    def report(self, step, total, losses, preview=None, stage=None) -> None:
        self.records.append((stage, step, total))
        if len(self.records) == 1:
            self.render.start()
            while self.lock.waiting == 0:
                time.sleep(0.001)

    def should_stop(self) -> bool:
        return False


def test_training_reports_preparation_first_and_lets_a_render_in_between_variants():
    torch.manual_seed(0)
    generator = TriplaneGenerator(PRESETS["tiny"]).eval().requires_grad_(False)
    size = generator.config.neural_rendering_resolution
    labels = torch.zeros(size, size, dtype=torch.long)
    labels[: size // 2] = 1
    ws = generator.mapping(torch.randn(1, generator.config.z_dim), named_camera("front")[None])
    samples = [LayoutSample(ws[0], named_camera("front"), labels)]
    config = AdapterTrainingConfig(steps=2, lmta_pool=2, rays_per_sample=32, pool_rays=64)
    context = RecordingContext(FairLock())
    device = tasks.Device(generator, context.lock, chunk_rays=1024)
    fit = tasks.train_layout(device, samples, LAYOUT, config, context)
    context.render.join(5)
    assert fit is not None and fit.steps == config.steps
    stage = tasks.PREPARE_STAGE
    assert context.records == [
        (stage, 1, 3),
        "render",  # served before the job goes on
        (stage, 2, 3),
        (stage, 3, 3),
        (None, 1, 2),
        (None, 2, 2),
    ]
