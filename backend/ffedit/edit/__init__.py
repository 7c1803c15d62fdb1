"""Mask-driven 3D editing: optimise a face's latent until its mask matches a painted target.

- `optimize_latent` (`optimize`) with `EditConfig` (`config`): FFaceNeRF's W+ offset
  optimisation (CE + λ·overlap toward the target, MSE + SSIM preservation outside the edit
  region, appearance lock), on ray subsets by default or on full frames; `EditResult`.
- `regions`, `losses`, `ssim`, `lpips` (optional, user-supplied weights): its pieces.
- `render_views`, `orbit_frames`, `overlay_image` (`views`): the edited face at
  front/left/right and along an orbit.
"""

from ffedit.edit.config import EditConfig
from ffedit.edit.errors import LpipsWeightsError
from ffedit.edit.optimize import EditResult, initial_offset, optimize_latent
from ffedit.edit.views import ViewRender, orbit_frames, overlay_image, render_views

__all__ = [
    "EditConfig",
    "EditResult",
    "LpipsWeightsError",
    "ViewRender",
    "initial_offset",
    "optimize_latent",
    "orbit_frames",
    "overlay_image",
    "render_views",
]
