from unittest import mock

import pytest
import torch
import torch.nn.functional as F

from ffedit.adapter import GeometryAdapter, overlap_loss
from ffedit.camera import named_camera
from ffedit.edit import EditConfig, initial_offset, optimize_latent
from ffedit.edit.config import paper_edit_config
from ffedit.edit.errors import NothingToEdit
from ffedit.edit.losses import EditReference, edit_losses
from ffedit.edit.regions import edit_region, full_frame_rays, sampled_rays, window_centres
from ffedit.generator import ws_from_seed
from ffedit.generator.planes import plane_statistics, split_planes
from ffedit.layouts import InvalidMask
from ffedit.layouts.metrics import iou_table, mean_iou

FRONT = named_camera("front")


def _labels(generator, ws, adapter=None):
    with torch.no_grad():
        output = generator.render(ws[None], FRONT[None], super_resolve=False, seg_head=adapter)
    return output.seg_logits[0].argmax(0)


@pytest.fixture(scope="module")
def face(generator):
    """(source ws, a reachable target: the labels of the source with its coarse layers
    moved toward another face)."""
    ws = ws_from_seed(generator, 0)
    other = ws_from_seed(generator, 1)
    moved = ws.clone()
    moved[:4] = 0.5 * ws[:4] + 0.5 * other[:4]
    return ws, _labels(generator, moved)


def test_initial_offset_is_one_seeded_vector_of_scale_0_01_on_every_layer():
    offset = initial_offset(14, 512, 0.01, seed=3)
    assert offset.shape == (14, 512)
    assert torch.equal(offset, offset[:1].expand(14, -1))
    assert 0.008 < float(offset[0].std()) < 0.012
    assert torch.equal(offset, initial_offset(14, 512, 0.01, seed=3))
    assert not torch.equal(offset, initial_offset(14, 512, 0.01, seed=4))
    expected = torch.randn(1, 512, generator=torch.Generator().manual_seed(3)) * 0.01
    assert torch.equal(offset[5], expected[0])


@pytest.mark.parametrize(
    ("config", "term"),
    [
        (EditConfig(steps=12, learning_rate=0.02), "painted"),
        (paper_edit_config(steps=12, learning_rate=0.05), "cross_entropy"),
    ],
    ids=["default", "paper"],
)
def test_losses_decrease_and_the_target_iou_improves(generator, face, config, term):
    ws, target = face
    before = mean_iou(iou_table(_labels(generator, ws)[None], target[None], 15))
    result = optimize_latent(generator, None, ws, FRONT, target, config)
    after = mean_iou(iou_table(result.masks[None], target[None], 15))
    assert result.steps == 12 and not result.cancelled
    assert 0 < result.step_seconds < result.seconds
    first, last = result.losses[0], result.losses[-1]
    assert last[term] < first[term]
    assert last["total"] < first["total"]
    assert after > before + 0.05
    assert torch.equal(result.masks, _labels(generator, result.ws))  # masks of the final ws
    outcome = result.outcome
    assert outcome.painted == int((_labels(generator, ws) != target).sum())
    assert outcome.reached == int(
        ((result.masks == target) & (_labels(generator, ws) != target)).sum()
    )


def test_a_target_equal_to_the_prediction_is_refused(generator, face):
    ws, _ = face
    with pytest.raises(NothingToEdit, match="paint the change you want"):
        optimize_latent(generator, None, ws, FRONT, _labels(generator, ws), EditConfig(steps=2))


def test_only_the_allowed_layers_move(generator, face):
    ws, target = face
    layers = (2, 5)
    result = optimize_latent(generator, None, ws, FRONT, target, EditConfig(steps=3, layers=layers))
    moved = (result.ws != ws).any(dim=1)
    assert moved.nonzero().reshape(-1).tolist() == [2, 5]
    with pytest.raises(ValueError, match="do not exist"):
        optimize_latent(generator, None, ws, FRONT, target, EditConfig(steps=1, layers=(99,)))


def test_appearance_lock_reimposes_the_source_plane_statistics(generator, face):
    ws, target = face
    source_stats = plane_statistics(generator.synthesize_planes(ws[None]))
    with mock.patch.object(generator, "render_rays", wraps=generator.render_rays) as render_rays:
        result = optimize_latent(
            generator, None, ws, FRONT, target, EditConfig(steps=3, learning_rate=0.1)
        )
    assert render_rays.call_count >= 3
    for call in render_rays.call_args_list:
        mean, std = call.kwargs["plane_stats"]
        assert torch.equal(mean, source_stats.mean) and torch.equal(std, source_stats.std)
    assert torch.equal(result.plane_stats.mean, source_stats.mean)
    with torch.no_grad():
        planes = generator.synthesize_planes(result.ws[None])
        edited_stats = plane_statistics(planes)
        locked = split_planes(planes, result.plane_stats)
    # (1, 3, C, H, W): the planes the appearance decoder reads
    appearance = (
        locked.normalized * locked.branch_scale[..., 1, None, None]
        + locked.branch_shift[..., 1, None, None]
    )
    appearance_stats = plane_statistics(appearance)
    assert not torch.allclose(edited_stats.mean, source_stats.mean, atol=1e-4)
    assert torch.allclose(appearance_stats.mean, source_stats.mean, atol=1e-5)
    assert torch.allclose(appearance_stats.std, source_stats.std, rtol=1e-4, atol=1e-6)


def test_should_stop_ends_the_edit_after_the_current_step(generator, face):
    ws, target = face
    seen = []

    def on_step(step, total, losses, current_ws):
        seen.append((step, total, set(losses), current_ws.clone()))

    result = optimize_latent(
        generator, None, ws, FRONT, target, EditConfig(steps=10), on_step, lambda: len(seen) >= 2
    )
    assert result.cancelled and result.steps == 2 and len(result.losses) == 2
    assert [(step, total) for step, total, _, _ in seen] == [(1, 10), (2, 10)]
    assert seen[0][2] == {
        "painted", "keep", "guard", "cross_entropy", "overlap", "mse", "ssim", "lpips", "total"
    }  # fmt: skip
    assert torch.equal(seen[-1][3], result.ws)


def test_edits_are_reproducible_for_a_seed(generator, face):
    ws, target = face
    first = optimize_latent(generator, None, ws, FRONT, target, EditConfig(steps=2, seed=5))
    again = optimize_latent(generator, None, ws, FRONT, target, EditConfig(steps=2, seed=5))
    other = optimize_latent(generator, None, ws, FRONT, target, EditConfig(steps=2, seed=6))
    assert torch.equal(first.ws, again.ws)
    assert not torch.equal(first.ws, other.ws)


def test_chained_edits_and_undo_return_the_previous_latents_bitwise(generator, face):
    ws, target = face
    config = EditConfig(steps=2)
    first = optimize_latent(generator, None, ws, FRONT, target, config)
    second = optimize_latent(
        generator, None, first.ws, FRONT, target, config, plane_stats=first.plane_stats
    )
    assert not torch.equal(second.ws, first.ws)
    # undo the second edit, then the first: the stored latents are the previous ones, bitwise
    assert torch.equal(second.source_ws, first.ws)
    assert torch.equal(first.source_ws, ws)
    assert second.source_ws.data_ptr() != first.ws.data_ptr()  # a copy, not a view
    assert torch.equal(second.plane_stats.mean, first.plane_stats.mean)
    assert torch.equal(second.plane_stats.std, first.plane_stats.std)


def test_generator_and_adapter_parameters_are_untouched(generator, face):
    ws, target = face
    adapter = GeometryAdapter.for_generator(generator.config, 4)
    weights = {name: p.clone() for name, p in adapter.named_parameters()}
    flags = [p.requires_grad for p in generator.parameters()]
    optimize_latent(generator, adapter, ws, FRONT, target.clamp(max=3), EditConfig(steps=2))
    assert [p.requires_grad for p in generator.parameters()] == flags
    assert all(p.grad is None for p in generator.parameters())
    for name, p in adapter.named_parameters():
        assert torch.equal(p, weights[name]) and p.requires_grad and p.grad is None


def test_target_masks_of_the_wrong_size_or_classes_are_refused(generator, face):
    ws, _ = face
    with pytest.raises(InvalidMask, match=r"16×16 pixels.*32×32"):
        optimize_latent(generator, None, ws, FRONT, torch.zeros(16, 16, dtype=torch.long))
    with pytest.raises(InvalidMask, match=r"\[0, 14\]"):
        optimize_latent(generator, None, ws, FRONT, torch.full((32, 32), 15))
    with pytest.raises(InvalidMask, match="integer"):
        optimize_latent(generator, None, ws, FRONT, torch.zeros(32, 32))


def _reference(generator, ws, target, adapter, dilation=1):
    stats = plane_statistics(generator.synthesize_planes(ws[None]))
    with torch.no_grad():
        full = generator.render(
            ws[None], FRONT[None], super_resolve=False, plane_stats=stats, seg_head=adapter
        )
    current = full.seg_logits[0].argmax(0)
    region = edit_region(current, target, dilation)
    logits = full.seg_logits[0].reshape(full.seg_logits.shape[1], -1).T
    reference = EditReference(
        target.reshape(-1),
        full.rgb_raw[0].reshape(3, -1).T,
        region.reshape(-1),
        (current != target).reshape(-1),
        logits.log_softmax(-1),
    )
    return stats, full, region, reference


def test_fast_path_losses_equal_the_full_frame_losses_on_the_same_rays(generator, face):
    """Reference twin: rendering only the chosen rays gives the losses that gathering the same
    rays from a full-frame render gives."""
    ws, target = face
    adapter = GeometryAdapter.for_generator(generator.config, 15)
    target = _labels(generator, ws, adapter)
    target[10:16, 12:18] = (target[10:16, 12:18] + 1) % 15  # a small painted change
    stats, full, region, reference = _reference(generator, ws, target, adapter)
    config = EditConfig()
    rays = sampled_rays(
        region, target, window_centres(region), 64, 3, torch.Generator().manual_seed(0)
    )
    assert 0 < len(rays.pixels) < 32 * 32
    with torch.no_grad():
        planes = generator.synthesize_planes(ws[None])
        origins, directions = generator.camera_rays(FRONT[None], 1, 32, planes)
        subset = generator.render_rays(
            planes,
            origins[:, rays.pixels],
            directions[:, rays.pixels],
            plane_stats=stats,
            seg_head=adapter,
        )
    fast = edit_losses(subset.features[0, :, :3], subset.seg_logits[0], rays, reference, config)
    rgb = full.rgb_raw[0].reshape(3, -1).T
    logits = full.seg_logits[0].reshape(15, -1).T
    twin = edit_losses(rgb[rays.pixels], logits[rays.pixels], rays, reference, config)
    for name in fast._fields:
        assert torch.allclose(getattr(fast, name), getattr(twin, name), rtol=1e-4, atol=1e-6), name


def test_full_frame_losses_are_the_papers_formulas(generator, face):
    ws, target = face
    _, full, region, reference = _reference(generator, ws, target, None)
    shifted = full.rgb_raw[0].reshape(3, -1).T + 0.1 * torch.randn(32 * 32, 3)
    logits = full.seg_logits[0].reshape(15, -1).T
    config = paper_edit_config(overlap_weight=0.5, mse_weight=1.0, ssim_weight=0.0)
    losses = edit_losses(
        shifted, logits, full_frame_rays(window_centres(region)), reference, config
    )
    keep = (~reference.region)[:, None].float()
    mse = F.mse_loss(keep * shifted, keep * reference.source_rgb)
    cross_entropy = F.cross_entropy(logits, reference.target)
    overlap = overlap_loss(logits[None], reference.target[None])
    assert torch.isclose(losses.mse, mse, rtol=1e-5)
    assert torch.isclose(losses.cross_entropy, cross_entropy, rtol=1e-5)
    assert torch.isclose(losses.overlap, overlap, rtol=1e-5)
    assert torch.isclose(losses.total, cross_entropy + 0.5 * overlap + mse, rtol=1e-5)


def test_full_frame_painted_losses_are_the_painted_formulas(generator, face):
    ws, target = face
    _, full, region, reference = _reference(generator, ws, target, None)
    logits = full.seg_logits[0].reshape(15, -1).T + 0.3 * torch.randn(32 * 32, 15)
    rgb = full.rgb_raw[0].reshape(3, -1).T
    config = EditConfig(painted_confidence=0.8, keep_weight=10.0, ssim_weight=0.0)
    losses = edit_losses(rgb, logits, full_frame_rays(window_centres(region)), reference, config)
    painted = reference.painted
    floor = -torch.log(torch.tensor(0.8))
    expected_painted = (
        (F.cross_entropy(logits[painted], reference.target[painted], reduction="none") - floor)
        .clamp_min(0)
        .mean()
    )
    far = ~reference.region
    divergence = (
        reference.source_log_probs.exp() * (reference.source_log_probs - logits.log_softmax(-1))
    ).sum(-1)
    assert torch.isclose(losses.painted, expected_painted, rtol=1e-5)
    assert torch.isclose(losses.keep, 10.0 * divergence[far].mean(), rtol=1e-4)
    assert losses.cross_entropy == 0 and losses.overlap == 0
    assert torch.isclose(losses.total, losses.painted + losses.keep + losses.mse, rtol=1e-5)


def test_the_painted_objective_is_at_rest_where_nothing_was_painted(generator, face):
    """At the source the keep and preservation terms are at their minimum: only the painted
    pixels pull."""
    ws, target = face
    _, full, region, reference = _reference(generator, ws, target, None)
    logits = full.seg_logits[0].reshape(15, -1).T
    rgb = full.rgb_raw[0].reshape(3, -1).T
    losses = edit_losses(
        rgb, logits, full_frame_rays(window_centres(region)), reference, EditConfig()
    )
    assert float(losses.keep) == pytest.approx(0.0, abs=1e-6)
    assert float(losses.mse) == 0.0 and float(losses.ssim) == pytest.approx(0.0, abs=1e-5)
    assert float(losses.painted) > 0


def test_full_frame_and_fast_edits_agree_when_the_fast_path_sees_every_ray(generator, face):
    ws, target = face
    full = optimize_latent(generator, None, ws, FRONT, target, EditConfig(steps=3, full_frame=True))
    fast = optimize_latent(
        generator,
        None,
        ws,
        FRONT,
        target,
        EditConfig(
            steps=3,
            context_rays=32 * 32,
            region_rays=None,
            ssim_patches=32 * 32,
            guard_rays=32 * 32,
        ),
    )
    assert torch.allclose(full.ws, fast.ws, atol=1e-5)
    for a, b in zip(full.losses, fast.losses, strict=True):
        assert a["total"] == pytest.approx(b["total"], rel=1e-4)


@pytest.mark.cuda
def test_an_edit_on_cuda_matches_the_cpu_edit(generator, face):
    ws, target = face
    config = EditConfig(steps=3)
    cpu = optimize_latent(generator, None, ws, FRONT, target, config)
    gpu_generator = generator.to("cuda")
    try:
        gpu = optimize_latent(gpu_generator, None, ws.cuda(), FRONT, target, config)
    finally:
        generator.to("cpu")
    assert gpu.ws.is_cuda and gpu.masks.is_cuda
    assert torch.allclose(gpu.ws.cpu(), cpu.ws, atol=1e-4)
    assert float((gpu.masks.cpu() == cpu.masks).float().mean()) > 0.99
