"""Point queries: shapes and ranges, the box, known anatomy, culling twin, appearance split."""

import pytest
import torch

from ffedit.layouts import FINE_LABEL_IDS, FINE_LABELS
from ffedit.synthface import SHAPE_PARAMETERS, Face, faces_from_seeds, sample_points
from ffedit.synthface.field import SIGMA_MAX
from ffedit.synthface.geometry import (
    DETAIL_CENTRE,
    DETAIL_RADIUS,
    HeadShape,
    eye_placement,
    face_geometry,
)

FACES = faces_from_seeds([0, 1, 5, 18])


def _random_points(count, seed=0, scale=0.5):
    generator = torch.Generator().manual_seed(seed)
    return (torch.rand(len(FACES), count, 3, generator=generator) * 2 - 1) * scale


def test_shapes_dtypes_and_ranges():
    samples = sample_points(FACES, _random_points(500))
    assert samples.density.shape == (4, 500) and samples.rgb.shape == (4, 500, 3)
    assert samples.fine_label.dtype == torch.int64
    assert samples.density.min() >= 0 and samples.density.max() <= SIGMA_MAX + 1e-3
    assert samples.rgb.min() >= 0 and samples.rgb.max() <= 1
    assert samples.fine_label.min() >= 0 and samples.fine_label.max() < len(FINE_LABELS)


def test_batched_and_single_queries_agree():
    points = _random_points(300, seed=1)
    batched = sample_points(FACES, points)
    single = sample_points(FACES[2], points[2])
    assert single.density.shape == (300,)
    torch.testing.assert_close(single.density, batched.density[2])
    assert torch.equal(single.fine_label, batched.fine_label[2])


def test_nothing_has_density_on_the_box_faces():
    grid = torch.linspace(-0.5, 0.5, 41)
    u, v = torch.meshgrid(grid, grid, indexing="ij")
    faces = []
    for axis in range(3):
        for side in (-0.5, 0.5):
            coords = [u.reshape(-1), v.reshape(-1)]
            coords.insert(axis, torch.full_like(coords[0], side))
            faces.append(torch.stack(coords, -1))
    points = torch.cat(faces).expand(len(FACES), -1, -1)
    assert sample_points(FACES, points).density.max() < 1e-3


def test_the_front_of_the_eyeball_is_the_pupil_and_the_skull_is_solid():
    eyes = eye_placement(HeadShape.of(FACES))
    cornea = torch.stack([eyes.x[:, 0], eyes.y[:, 0], eyes.z[:, 0] + eyes.radius[:, 0] - 1e-3], -1)
    inside = torch.tensor([0.0, 0.1, 0.05]).expand(len(FACES), 3)
    samples = sample_points(FACES, torch.stack([cornea, inside], 1))
    assert (samples.fine_label[:, 0] == FINE_LABEL_IDS["pupil"]).all()
    assert (samples.density[:, 1] > 0.99 * SIGMA_MAX).all()


def _extreme_faces():
    """Faces at the lower and upper limits of every shape parameter, and random mixtures."""
    lower = torch.tensor([spec.lower for spec in SHAPE_PARAMETERS])
    upper = torch.tensor([spec.upper for spec in SHAPE_PARAMETERS])
    mix = torch.rand(6, len(lower), generator=torch.Generator().manual_seed(4)) > 0.5
    shape = torch.cat([lower[None], upper[None], torch.where(mix, upper, lower)])
    return Face(shape, faces_from_seeds(range(8)).appearance)


@pytest.mark.parametrize("faces", [FACES, _extreme_faces()], ids=["sampled", "extreme"])
def test_culled_details_match_the_plain_evaluation_near_surfaces(faces):
    generator = torch.Generator().manual_seed(2)
    anywhere = (torch.rand(len(faces), 20000, 3, generator=generator) * 2 - 1) * 0.45
    # and points around the detail sphere, where culling starts
    direction = torch.nn.functional.normalize(
        torch.randn(len(faces), 20000, 3, generator=generator), dim=-1
    )
    radius = DETAIL_RADIUS + (torch.rand(len(faces), 20000, 1, generator=generator) - 0.5) * 0.06
    shell = torch.tensor(DETAIL_CENTRE) + direction * radius
    points = torch.cat([anywhere, shell], 1)
    fast = face_geometry(faces, points, with_labels=True)
    plain = face_geometry(faces, points, with_labels=True, cull=False)
    near = plain.opaque.sdf.abs() < 0.004
    assert near.sum() > 100
    torch.testing.assert_close(fast.opaque.sdf[near], plain.opaque.sdf[near], atol=1e-6, rtol=0)
    assert torch.equal(fast.opaque.label[near], plain.opaque.label[near])
    # Near surfaces where the details were skipped, sphere tracing's step bound stays below
    # the plain distance (it never steps through a surface).
    skipped = torch.isfinite(fast.clearance) & (plain.opaque.sdf < 0.02)
    assert skipped.sum() > 100
    assert (fast.opaque.sdf.minimum(fast.clearance) <= plain.opaque.sdf + 1e-6)[skipped].all()


def test_appearance_changes_colour_but_never_density_or_labels():
    points = _random_points(2000, seed=3, scale=0.4)
    swapped = FACES.with_appearance_of(faces_from_seeds([7, 8, 9, 10]))
    original, changed = sample_points(FACES, points), sample_points(swapped, points)
    assert torch.equal(original.density, changed.density)
    assert torch.equal(original.fine_label, changed.fine_label)
    solid = original.density > 100
    assert (original.rgb - changed.rgb).abs()[solid].mean() > 0.05
