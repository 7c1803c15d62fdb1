import torch

from ffedit.edit.regions import (
    SSIM_WINDOW,
    dilate,
    edit_region,
    full_frame_rays,
    sampled_rays,
    window_centres,
    window_pixels,
)


def test_dilation_of_a_hand_made_mask():
    mask = torch.zeros(6, 7, dtype=torch.bool)
    mask[2, 3] = True
    mask[5, 0] = True
    grown = dilate(mask, 1)
    expected = torch.zeros(6, 7, dtype=torch.bool)
    expected[1:4, 2:5] = True  # a 3×3 block around (2, 3)
    expected[4:6, 0:2] = True  # clipped at the corner
    assert torch.equal(grown, expected)
    assert torch.equal(dilate(mask, 0), mask)
    assert int(dilate(mask, 2)[0:5, 1:6].sum()) == 25


def test_edit_region_is_where_target_and_prediction_differ_dilated():
    current = torch.zeros(8, 8, dtype=torch.long)
    target = current.clone()
    target[4, 4] = 3
    assert torch.equal(edit_region(current, target, 0), target != 0)
    region = edit_region(current, target, 2)
    assert int(region.sum()) == 25 and bool(region[2, 2]) and not bool(region[1, 4])


def test_window_centres_keep_whole_windows_outside_the_region_and_inside_the_image():
    region = torch.zeros(20, 20, dtype=torch.bool)
    region[10, 10] = True
    centres = window_centres(region)
    half = SSIM_WINDOW // 2
    for row, col in centres.nonzero().tolist():
        assert half <= row < 20 - half and half <= col < 20 - half
        assert not region[row - half : row + half + 1, col - half : col + half + 1].any()
    assert bool(centres[3, 3]) and not bool(centres[7, 7]) and not bool(centres[2, 10])
    assert bool(centres[6, 10]) and not bool(centres[7, 10])


def test_window_pixels_are_row_major_squares():
    pixels = window_pixels(torch.tensor([3 * 10 + 4]), width=10, window=3)
    expected = [2 * 10 + 3, 2 * 10 + 4, 2 * 10 + 5, 33, 34, 35, 43, 44, 45]
    assert pixels.tolist() == [expected]


def test_sampled_rays_cover_the_region_and_weigh_the_rest_to_the_whole_image():
    region = torch.zeros(16, 16, dtype=torch.bool)
    region[4:7, 4:9] = True
    target = torch.zeros(16, 16, dtype=torch.long)
    target[10:16] = 1
    target[0, 0] = 2  # a one-pixel class outside the region: always drawn, weight 1
    rays = sampled_rays(
        region, target, window_centres(region), 40, 3, torch.Generator().manual_seed(0)
    )
    seg_pixels = rays.pixels[rays.seg_positions]
    assert set(region.reshape(-1).nonzero().reshape(-1).tolist()) <= set(seg_pixels.tolist())
    assert len(set(seg_pixels.tolist())) == len(seg_pixels) == 15 + 40
    assert torch.isclose(rays.seg_weights.sum(), torch.tensor(256.0))
    corner = (seg_pixels == 0).nonzero().reshape(-1)
    assert len(corner) == 1 and float(rays.seg_weights[corner]) == 1.0
    assert rays.patch_positions.shape == (3, SSIM_WINDOW**2)
    windows = rays.pixels[rays.patch_positions]
    assert not region.reshape(-1)[windows].any()
    assert torch.equal(rays.pixels, torch.unique(rays.pixels))  # each pixel rendered once


def test_capped_region_rays_are_class_stratified_and_weigh_the_whole_region():
    region = torch.zeros(16, 16, dtype=torch.bool)
    region[2:12, 2:12] = True  # 100 pixels
    target = torch.zeros(16, 16, dtype=torch.long)
    target[2:12, 2:7] = 3  # 50 of them class 3
    target[5, 9] = 4  # a one-pixel class inside the region: always drawn, weight 1
    rays = sampled_rays(
        region,
        target,
        window_centres(region),
        10,
        0,
        torch.Generator().manual_seed(0),
        region_rays=21,
    )
    seg_pixels = rays.pixels[rays.seg_positions]
    inside = region.reshape(-1)[seg_pixels]
    assert int(inside.sum()) == 21
    assert torch.isclose(rays.seg_weights[inside].sum(), torch.tensor(100.0))
    pixel = (seg_pixels == 5 * 16 + 9).nonzero().reshape(-1)
    assert len(pixel) == 1 and float(rays.seg_weights[pixel]) == 1.0
    assert torch.isclose(rays.seg_weights.sum(), torch.tensor(256.0))


def test_sampled_rays_are_seeded():
    region = torch.zeros(16, 16, dtype=torch.bool)
    target = torch.zeros(16, 16, dtype=torch.long)
    centres = window_centres(region)

    def draw(seed):
        return sampled_rays(region, target, centres, 20, 2, torch.Generator().manual_seed(seed))

    assert torch.equal(draw(1).pixels, draw(1).pixels)
    assert not torch.equal(draw(1).pixels, draw(2).pixels)


def test_full_frame_rays_take_every_pixel_and_every_valid_window():
    centres = window_centres(torch.zeros(12, 12, dtype=torch.bool))
    rays = full_frame_rays(centres)
    assert torch.equal(rays.pixels, torch.arange(144))
    assert torch.equal(rays.seg_weights, torch.ones(144))
    assert len(rays.patch_positions) == int(centres.sum()) == 36
