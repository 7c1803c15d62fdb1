"""Photo inversion: the latent (w, then W+) and camera that render an aligned photo.

- `optimize`: `invert_image`, `InversionConfig`, `InversionResult`, `Camera`.
- `photo`: `invert_photo`: detection, camera fit and crop (`ffedit.photo`), then inversion.
- `tuning`: `tune_generator` (pivotal tuning: a per-face delta of the fine weights) and
  `tuned_render` (a render with a delta added; the shared model is never changed).
- `losses`: image distances without downloaded weights (SSIM, Laplacian L1) and PSNR.
"""

from ffedit.invert.optimize import Camera, InversionConfig, InversionResult, invert_image
from ffedit.invert.photo import PhotoInversion, invert_photo

__all__ = [
    "Camera",
    "InversionConfig",
    "InversionResult",
    "PhotoInversion",
    "invert_image",
    "invert_photo",
]
