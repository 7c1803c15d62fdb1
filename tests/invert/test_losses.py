"""Inversion's image distances."""

import math

import torch

from ffedit.invert.losses import image_ssim, laplacian_l1, laplacian_pyramid, psnr


def test_identical_images_are_at_distance_zero_and_ssim_one():
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    assert torch.allclose(image_ssim(x, x), torch.ones(2))
    assert torch.equal(laplacian_l1(x, x), torch.zeros(2))
    assert math.isinf(psnr(x, x))


def test_noise_lowers_ssim_and_raises_the_pyramid_distance():
    torch.manual_seed(0)
    x = torch.rand(1, 3, 32, 32) * 2 - 1
    slight, strong = x + 0.05 * torch.randn_like(x), x + 0.5 * torch.randn_like(x)
    assert float(image_ssim(x, strong)) < float(image_ssim(x, slight)) < 1
    assert 0 < float(laplacian_l1(x, slight)) < float(laplacian_l1(x, strong))


def test_the_pyramid_adds_back_up_to_the_image():
    x = torch.rand(1, 3, 32, 32)
    levels = laplacian_pyramid(x, 3)
    rebuilt = levels[-1]
    for band in reversed(levels[:-1]):
        up = torch.nn.functional.interpolate(rebuilt, size=band.shape[-2:], mode="bilinear")
        rebuilt = band + up
    assert torch.allclose(rebuilt, x, atol=1e-6)


def test_psnr_of_a_constant_offset():
    x = torch.zeros(3, 4, 4)
    assert abs(psnr(x, x + 0.2) - 10 * math.log10(4 / 0.04)) < 1e-4
