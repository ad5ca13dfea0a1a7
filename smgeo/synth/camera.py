"""A virtual drone camera: an oblique pinhole over the scene, and its projection of scene points to pixels.

Scene points are (x, y, z) scene pixels (x = column, y = row, z = height). Each horizontal plane z = h maps to the
image by a homography (`Projector.homography`). Image points are pixel indices (x = column; the centre of pixel
(i, j) is (i, j)), the convention of CVOGL clicks.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Camera:
    """A pinhole camera at (x, y) scene pixels, `altitude` scene pixels above the ground.

    heading_deg: compass direction of the view, clockwise from north (0 = up the satellite image, 90 = right);
    pitch_deg: tilt of the optical axis from straight down (0 = nadir); fov_deg: horizontal field of view.
    """

    x: float
    y: float
    altitude: float
    heading_deg: float
    pitch_deg: float
    fov_deg: float = 60.0

    def rotation(self) -> np.ndarray:
        """(3, 3) world -> camera rotation; rows: image right, image down, optical axis (world x, y, z)."""
        heading, pitch = math.radians(self.heading_deg), math.radians(self.pitch_deg)
        forward = np.array([math.sin(heading), -math.cos(heading), 0.0])
        right = np.array([math.cos(heading), math.sin(heading), 0.0])
        axis = math.cos(pitch) * np.array([0.0, 0.0, -1.0]) + math.sin(pitch) * forward
        return np.stack([right, np.cross(right, axis), axis])

    def focal(self, width: int) -> float:
        """Focal length in pixels for an image `width` pixels wide."""
        return width / 2 / math.tan(math.radians(self.fov_deg) / 2)


class Projector:
    """Maps scene points to pixels of a `width` × `height` image taken by `camera`."""

    def __init__(self, camera: Camera, width: int, height: int) -> None:
        self.camera, self.width, self.height = camera, width, height
        focal = camera.focal(width)
        self.intrinsics = np.array([[focal, 0.0, width / 2], [0.0, focal, height / 2], [0.0, 0.0, 1.0]])
        self.rotation = camera.rotation()
        self.center = np.array([camera.x, camera.y, camera.altitude])

    def homography(self, z: float = 0.0) -> np.ndarray:
        """(3, 3): scene (x, y, 1) on the plane at height z -> homogeneous image point (pixel edges: the image
        spans [0, width] × [0, height])."""
        offset = self.rotation[:, 2] * z - self.rotation @ self.center
        return self.intrinsics @ np.stack([self.rotation[:, 0], self.rotation[:, 1], offset], axis=1)

    def project(self, points: np.ndarray) -> np.ndarray:
        """(N, 2) or (N, 3) scene points (z = 0 when absent) -> (N, 2) pixel indices (x = column)."""
        points = np.atleast_2d(np.asarray(points, dtype=np.float64))
        if points.shape[1] == 2:
            points = np.concatenate([points, np.zeros((len(points), 1))], axis=1)
        camera_frame = (points - self.center) @ self.rotation.T @ self.intrinsics.T
        return camera_frame[:, :2] / camera_frame[:, 2:] - 0.5

    def depth(self, points: np.ndarray) -> np.ndarray:
        """(N,) distance along the optical axis, scene pixels (negative: behind the camera)."""
        points = np.atleast_2d(np.asarray(points, dtype=np.float64))
        return (points - self.center) @ self.rotation[2]


def camera_looking_at(
    target: tuple[float, float, float],
    pixel: tuple[float, float],
    size: tuple[int, int],
    heading_deg: float,
    pitch_deg: float,
    distance: float,
    fov_deg: float = 60.0,
) -> Camera:
    """The camera with this heading, pitch and field of view that sees scene point `target` (x, y, z) at image
    pixel `pixel` (x, y indices) of a (height, width) image, `distance` scene pixels away along that ray."""
    height, width = size
    probe = Camera(0.0, 0.0, 0.0, heading_deg, pitch_deg, fov_deg)
    intrinsics = Projector(probe, width, height).intrinsics
    ray = probe.rotation().T @ np.linalg.solve(intrinsics, np.array([pixel[0] + 0.5, pixel[1] + 0.5, 1.0]))
    position = np.asarray(target, dtype=np.float64) - distance * ray / np.linalg.norm(ray)
    return Camera(float(position[0]), float(position[1]), float(position[2]), heading_deg, pitch_deg, fov_deg)
