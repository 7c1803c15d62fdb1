"""Pure tensor functions of volume rendering: rays, tri-plane projection, sampling, compositing.

Shapes use B batch, R rays, S samples, P planes, C channels, N points. Nothing here holds
state or parameters; the generator, the adapter and synthface all render through it.
"""

from ffedit.render.compositing import (
    Composite,
    composite,
    composite_samples,
    compositing_weights,
    expected_depth,
    sample_weights,
)
from ffedit.render.rays import project_points, rays_from_cameras
from ffedit.render.sampling import (
    importance_depths,
    merge_samples,
    sample_pdf,
    smooth_weights,
    stratified_depths,
)
from ffedit.render.triplane import (
    PLANE_AXES,
    plane_coverage,
    project_onto_planes,
    sample_from_planes,
    sample_plane_branches,
    sample_triplane_features,
)
from ffedit.render.volume import (
    CPU_RAYS_PER_PASS,
    DeferredField,
    Field,
    RaySamples,
    RaySamplingSettings,
    RenderedRays,
    default_chunk_rays,
    render_rays,
    render_rays_chunked,
    render_rays_reference,
    sample_rays,
)

__all__ = [
    "CPU_RAYS_PER_PASS",
    "PLANE_AXES",
    "Composite",
    "DeferredField",
    "Field",
    "RaySamples",
    "RaySamplingSettings",
    "RenderedRays",
    "composite",
    "composite_samples",
    "compositing_weights",
    "default_chunk_rays",
    "expected_depth",
    "importance_depths",
    "merge_samples",
    "plane_coverage",
    "project_onto_planes",
    "project_points",
    "rays_from_cameras",
    "render_rays",
    "render_rays_chunked",
    "render_rays_reference",
    "sample_from_planes",
    "sample_pdf",
    "sample_plane_branches",
    "sample_rays",
    "sample_triplane_features",
    "sample_weights",
    "smooth_weights",
    "stratified_depths",
]
