"""Latents → face parameters: determinism, the shape/appearance split, ranges and rates."""

import pytest
import torch

from ffedit.camera import named_camera
from ffedit.synthface import (
    APPEARANCE_PARAMETERS,
    LATENT_DIM,
    SHAPE_DIM,
    SHAPE_PARAMETERS,
    Face,
    albedo_table,
    face_from_latent,
    faces_from_seeds,
    latent_from_seed,
    parameter_directions,
    render_face,
    switch_points,
)
from ffedit.synthface.params import SWITCHES


def test_latent_from_seed_is_a_fixed_gaussian_vector():
    z = latent_from_seed(7)
    assert z.shape == (LATENT_DIM,) and z.dtype == torch.float32
    assert torch.equal(z, latent_from_seed(7))
    assert not torch.equal(z, latent_from_seed(8))
    assert abs(z.mean().item()) < 0.2 and abs(z.std().item() - 1) < 0.15


def test_faces_from_seeds_matches_face_from_latent():
    batch = faces_from_seeds([3, 5])
    single = face_from_latent(latent_from_seed(5))
    assert torch.equal(batch[1].shape, single.shape)
    assert torch.equal(batch[1].appearance, single.appearance)


def test_shape_comes_only_from_the_first_half_and_appearance_only_from_the_second():
    z = latent_from_seed(1)
    other = latent_from_seed(2)
    mixed = torch.cat([z[:SHAPE_DIM], other[SHAPE_DIM:]])
    face, mixed_face, other_face = (face_from_latent(v) for v in (z, mixed, other))
    assert torch.equal(mixed_face.shape, face.shape)
    assert torch.equal(mixed_face.appearance, other_face.appearance)
    assert not torch.equal(face.appearance, other_face.appearance)
    swapped = face.with_appearance_of(other_face)
    assert torch.equal(swapped.shape, face.shape)
    assert torch.equal(swapped.appearance, other_face.appearance)


def test_faces_depend_on_z_only_through_the_parameter_directions():
    directions = parameter_directions().double()
    assert directions.shape == (LATENT_DIM, len(SHAPE_PARAMETERS) + len(APPEARANCE_PARAMETERS))
    assert torch.allclose(directions.T @ directions, torch.eye(directions.shape[1]).double())
    z = latent_from_seed(3).double()
    noise = torch.randn(LATENT_DIM, generator=torch.Generator().manual_seed(0)).double()
    off_directions = noise - directions @ (directions.T @ noise)
    moved_off = face_from_latent((z + 2 * off_directions).float())
    moved_along = face_from_latent((z + 0.5 * directions[:, 0]).float())
    face = face_from_latent(z.float())
    assert torch.allclose(moved_off.shape, face.shape, atol=1e-5)
    assert torch.allclose(moved_off.appearance, face.appearance, atol=1e-5)
    assert not torch.allclose(moved_along.shape, face.shape, atol=1e-3)


def test_values_stay_in_their_valid_ranges_and_vary():
    faces = faces_from_seeds(range(300))
    for specs, values in (
        (SHAPE_PARAMETERS, faces.shape),
        (APPEARANCE_PARAMETERS, faces.appearance),
    ):
        for index, spec in enumerate(specs):
            column = values[:, index]
            assert column.min() >= spec.lower and column.max() <= spec.upper, spec.name
            assert column.unique().numel() > 10, spec.name


@pytest.mark.parametrize(
    ("name", "low", "high"),
    [
        ("glasses", 0.08, 0.28),
        ("hat", 0.04, 0.2),
        ("earrings", 0.08, 0.28),
        ("necklace", 0.06, 0.25),
    ],
)
def test_accessories_appear_at_modest_rates(name, low, high):
    rate = (faces_from_seeds(range(400)).parameter(name) > 0).float().mean().item()
    assert low < rate < high


def test_mouth_is_open_for_a_minority_of_faces():
    opened = faces_from_seeds(range(400)).parameter("mouth_open")
    assert 0.2 < (opened > 0).float().mean().item() < 0.55
    assert opened.max() > 0.8


def test_with_shape_value_clamps_and_unknown_names_fail():
    face = faces_from_seeds([0])
    assert face.with_shape_value("eye_scale", 9.0).parameter("eye_scale").item() == pytest.approx(
        1.3
    )
    with pytest.raises(KeyError, match="unknown face parameter"):
        face.parameter("wings")


def _faces_astride_switches(seed: int) -> list[tuple[str, float, Face, Face]]:
    """For each switch: (parameter, value, face just below it, face just above it), the
    faces differing from face `seed` only along the switch's parameter direction."""
    directions = parameter_directions()
    columns, coordinates = switch_points()
    z = latent_from_seed(seed)
    astride = []
    for (name, value), column, coordinate in zip(SWITCHES, columns, coordinates, strict=True):
        direction = directions[:, column]
        base = z - direction * (direction @ z)
        below, above = (
            face_from_latent(base + (coordinate + d) * direction) for d in (-2e-3, 2e-3)
        )
        astride.append((name, value, below, above))
    return astride


def test_switch_points_are_where_the_values_cross_the_switches():
    for name, value, below, above in _faces_astride_switches(4):
        assert below.parameter(name) <= value < above.parameter(name), name


def test_the_teacher_changes_abruptly_at_every_switch():
    cameras = torch.stack([named_camera("front"), named_camera("left")])
    for name, _, below, above in _faces_astride_switches(4):
        if name == "metal":
            change = (albedo_table(above) - albedo_table(below)).abs().amax()
            assert change > 0.1, name
            continue
        labels = [render_face(face, cameras, 64).fine_labels for face in (below, above)]
        assert (labels[0] != labels[1]).sum() >= 2, name
