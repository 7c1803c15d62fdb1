"""FIR up-sampling: analytic properties and brute-force loop references of EG3D's ops."""

import pytest
import torch

from ffedit.generator.resample import (
    conv2d_upsample,
    fir_filter2d,
    fir_kernel,
    fir_matrix,
    upsample2d,
)

KERNEL = fir_kernel()


def _loop_fir(y, padding, gain):
    """Zero-pad (x0, x1, y0, y1), then correlate every channel with the (symmetric) kernel."""
    x0, x1, y0, y1 = padding
    batch, channels, height, width = y.shape
    padded = torch.zeros(batch, channels, height + y0 + y1, width + x0 + x1, dtype=y.dtype)
    padded[:, :, y0 : y0 + height, x0 : x0 + width] = y
    taps = KERNEL.shape[0]
    out_h, out_w = padded.shape[2] - taps + 1, padded.shape[3] - taps + 1
    out = torch.zeros(batch, channels, out_h, out_w, dtype=y.dtype)
    for p in range(out_h):
        for q in range(out_w):
            window = padded[:, :, p : p + taps, q : q + taps]
            out[:, :, p, q] = (window * KERNEL.to(y.dtype) * gain).sum(dim=(-1, -2))
    return out


def test_kernel_is_the_normalised_outer_product_of_1_3_3_1():
    expected = torch.tensor([1.0, 3.0, 3.0, 1.0])
    assert torch.equal(KERNEL * 64, torch.outer(expected, expected))
    assert KERNEL.sum().item() == 1.0


def test_axis_matrix_inserts_zeros_pads_and_convolves():
    taps = torch.tensor([1.0, 2.0, 4.0], dtype=torch.float64)
    x = torch.randn(5, dtype=torch.float64)
    inserted = torch.zeros(10, dtype=torch.float64)
    inserted[::2] = x
    padded = torch.cat(
        [torch.zeros(2, dtype=torch.float64), inserted, torch.zeros(1, dtype=torch.float64)]
    )
    expected = torch.stack(
        [(padded[j : j + 3] * taps.flip(0)).sum() for j in range(len(padded) - 2)]
    )
    matrix = fir_matrix(taps, 5, 2, 1, up=2)
    assert matrix.shape == (11, 5)
    assert torch.allclose(matrix @ x, expected, atol=1e-12)


def test_a_filter_that_is_not_an_outer_product_is_refused():
    kernel = KERNEL.clone()
    kernel[0, 0] += 0.1
    with pytest.raises(ValueError, match="separable"):
        upsample2d(torch.zeros(1, 1, 4, 4), kernel)


def test_upsample_of_a_constant_is_constant_in_the_interior():
    x = torch.full((1, 2, 6, 6), 3.0)
    up = upsample2d(x, KERNEL)
    assert up.shape == (1, 2, 12, 12)
    assert torch.allclose(up[..., 2:-2, 2:-2], torch.tensor(3.0), atol=1e-6)
    assert up[0, 0, 0, 0] < 3.0  # zero padding shows at the border


def test_upsample_matches_the_loop_reference_with_asymmetric_padding():
    x = torch.randn(2, 3, 5, 4, dtype=torch.float64)
    y = torch.zeros(2, 3, 10, 8, dtype=torch.float64)
    y[:, :, 0::2, 0::2] = x
    expected = _loop_fir(y, (2, 1, 2, 1), gain=4.0)
    assert torch.allclose(upsample2d(x, KERNEL), expected, atol=1e-12)


def test_fir_filter_matches_loop_reference():
    y = torch.randn(1, 2, 7, 6, dtype=torch.float64)
    assert torch.allclose(
        fir_filter2d(y, KERNEL, (1, 2, 0, 3), 2.0), _loop_fir(y, (1, 2, 0, 3), 2.0), atol=1e-12
    )


def test_upsampling_conv_matches_scatter_then_filter_reference():
    x = torch.randn(2, 3, 4, 5, dtype=torch.float64)
    weight = torch.randn(4, 3, 3, 3, dtype=torch.float64)
    # Transposed conv as an explicit scatter: y[o, 2i + a, 2j + b] += x[c, i, j]·w[o, c, a, b].
    y = torch.zeros(2, 4, 2 * 4 + 1, 2 * 5 + 1, dtype=torch.float64)
    for i in range(4):
        for j in range(5):
            for a in range(3):
                for b in range(3):
                    y[:, :, 2 * i + a, 2 * j + b] += x[:, :, i, j] @ weight[:, :, a, b].t()
    expected = _loop_fir(y, (1, 1, 1, 1), gain=4.0)
    result = conv2d_upsample(x, weight, KERNEL)
    assert result.shape == (2, 4, 8, 10)
    assert torch.allclose(result, expected, atol=1e-12)


def test_upsampling_conv_of_a_constant_with_a_centre_tap_is_constant_inside():
    x = torch.full((1, 1, 5, 5), 2.0)
    weight = torch.zeros(1, 1, 3, 3)
    weight[0, 0, 1, 1] = 1.0
    result = conv2d_upsample(x, weight, KERNEL)
    assert torch.allclose(result[..., 2:-2, 2:-2], torch.tensor(2.0), atol=1e-6)
