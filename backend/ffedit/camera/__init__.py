"""Cameras with EG3D's conventions: look-at poses, intrinsics, the 25-float vector, views.

See docs/conventions.md. World frame: +y up, the face looks toward +z; cam2world matrices
use the OpenCV convention (x right, y down, z forward).
"""

from ffedit.camera.poses import (
    AVG_CAMERA_PIVOT,
    AVG_CAMERA_RADIUS,
    FFHQ_FOV_DEGREES,
    NAMED_VIEWS,
    camera_from_angles,
    cameras_from_angles,
    fov_to_intrinsics,
    look_at_poses,
    named_camera,
    orbit_angles,
    orbit_cameras,
    pack_cameras,
    turned_camera,
    unpack_cameras,
)

__all__ = [
    "AVG_CAMERA_PIVOT",
    "AVG_CAMERA_RADIUS",
    "FFHQ_FOV_DEGREES",
    "NAMED_VIEWS",
    "camera_from_angles",
    "cameras_from_angles",
    "fov_to_intrinsics",
    "look_at_poses",
    "named_camera",
    "orbit_angles",
    "orbit_cameras",
    "pack_cameras",
    "turned_camera",
    "unpack_cameras",
]
