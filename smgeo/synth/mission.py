"""A synthetic field mission: a georeferenced satellite basemap and drone photos that carry EXIF GPS, as a field
team would upload them, with the ground truth the generator knows.

Each scene becomes one basemap: the satellite image as a PNG plus its [west, south, east, north] lon/lat bounds
(square pixels of `gsd_m` metres on the ground), placed side by side east of `origin`. Each target of a scene
becomes one drone photo (JPEG) whose EXIF GPS is the virtual camera's position, with its altitude and heading,
and the gimbal pitch in DJI's XMP (-90 = straight down). `mission.json` lists every file with the click (drone
pixels) and the true box (basemap pixels and lon/lat).
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict
from pathlib import Path
from typing import Any

from PIL import Image

from smgeo.synth.dataset import scene_seed
from smgeo.synth.generate import FRAME_SIZE, SynthOptions, render_scene_pairs

GPS_IFD, GPS_LAT_REF, GPS_LAT, GPS_LON_REF, GPS_LON, GPS_ALT_REF, GPS_ALT = 0x8825, 1, 2, 3, 4, 5, 6
GPS_IMG_DIRECTION_REF, GPS_IMG_DIRECTION = 16, 17
XMP = (
    '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
    '<rdf:Description xmlns:drone-dji="http://www.dji.com/drone-dji/1.0/" drone-dji:GimbalPitchDegree="{pitch:.2f}" '
    'drone-dji:GimbalYawDegree="{yaw:.2f}" drone-dji:RelativeAltitude="{altitude:.2f}"/></rdf:RDF></x:xmpmeta>'
)


def metres_per_degree(lat_deg: float) -> tuple[float, float]:
    """(along a meridian, along a parallel) on the WGS84 ellipsoid at latitude `lat_deg` (standard series)."""
    lat = math.radians(lat_deg)
    along_lat = 111132.92 - 559.82 * math.cos(2 * lat) + 1.175 * math.cos(4 * lat) - 0.0023 * math.cos(6 * lat)
    along_lon = 111412.84 * math.cos(lat) - 93.5 * math.cos(3 * lat) + 0.118 * math.cos(5 * lat)
    return along_lat, along_lon


def scene_bounds(origin: tuple[float, float], gsd_m: float, side_px: int, index: int) -> list[float]:
    """[west, south, east, north] of scene `index`: `side_px` pixels of `gsd_m` metres, east of the previous one
    (`origin` is its north-west corner)."""
    lon0, lat0 = origin
    side_m = side_px * gsd_m
    per_lat, per_lon = metres_per_degree(lat0 - side_m / 2 / 111_000)  # at the scene's middle
    height_deg, width_deg = side_m / per_lat, side_m / per_lon
    west = lon0 + index * width_deg * 1.05  # a small gap between basemaps
    return [west, lat0 - height_deg, west + width_deg, lat0]


def pixel_to_lonlat(bounds: list[float], size: int, x: float, y: float) -> tuple[float, float]:
    """Basemap pixel (x right, y down; (0, 0) the top-left corner) -> (lon, lat) of a lon/lat-bounded image."""
    west, south, east, north = bounds
    return west + x / size * (east - west), north - y / size * (north - south)


def _dms(degrees: float) -> tuple[float, float, float]:
    """Degrees, minutes, seconds (EXIF rationals) of an absolute angle."""
    degrees = abs(degrees)
    whole = int(degrees)
    minutes = int((degrees - whole) * 60)
    return float(whole), float(minutes), round((degrees - whole - minutes / 60) * 3600, 4)


def drone_exif(lon: float, lat: float, altitude_m: float, heading_deg: float) -> Image.Exif:
    exif = Image.Exif()
    gps = exif.get_ifd(GPS_IFD)
    gps[GPS_LAT_REF], gps[GPS_LAT] = ("N" if lat >= 0 else "S"), _dms(lat)
    gps[GPS_LON_REF], gps[GPS_LON] = ("E" if lon >= 0 else "W"), _dms(lon)
    gps[GPS_ALT_REF], gps[GPS_ALT] = b"\x00", round(altitude_m, 2)
    gps[GPS_IMG_DIRECTION_REF], gps[GPS_IMG_DIRECTION] = "T", round(heading_deg % 360, 2)
    return exif


def write_mission(
    out_dir: str | Path,
    scenes: int = 1,
    seed: int = 0,
    split: str = "test",
    gsd_m: float = 0.3,
    origin: tuple[float, float] = (8.5417, 47.3769),
    options: SynthOptions | None = None,
) -> dict[str, Any]:
    """Write `scenes` basemaps (`gsd_m` metres per basemap pixel) and their drone photos under `out_dir`;
    returns (and writes) the mission manifest.

    Scene i is the generator's scene i of `split` for `seed`, so the mission shows exactly the pairs of the
    synthetic dataset made with the same seed (`smgeo synth --seed`)."""
    options = options or SynthOptions()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    size = options.satellite_size
    to_pixels = size / FRAME_SIZE
    manifest: dict[str, Any] = {"gsd_m": gsd_m, "seed": seed, "split": split, "basemaps": [], "drone_images": []}
    for index in range(scenes):
        result = render_scene_pairs(options, scene_seed(seed, split, index))
        bounds = scene_bounds(origin, gsd_m, size, index)
        basemap_file = f"basemap_{index:02d}.png"
        Image.fromarray(result.satellite).save(out / basemap_file)
        manifest["basemaps"].append({"file": basemap_file, "bounds": bounds, "size": [size, size]})
        for number, pair in enumerate(result.pairs):
            camera = pair.camera
            lon, lat = pixel_to_lonlat(bounds, FRAME_SIZE, camera.x, camera.y)
            altitude_m = camera.altitude * gsd_m * size / FRAME_SIZE  # the camera is in frame pixels
            photo = f"drone_{index:02d}_{number}.jpg"
            xmp = XMP.format(pitch=camera.pitch_deg - 90.0, yaw=camera.heading_deg, altitude=altitude_m)
            Image.fromarray(pair.query).save(
                out / photo, quality=92, exif=drone_exif(lon, lat, altitude_m, camera.heading_deg), xmp=xmp.encode()
            )
            box = [v * to_pixels for v in pair.box]
            corners = [pixel_to_lonlat(bounds, size, x, y) for x, y in ((box[0], box[3]), (box[2], box[1]))]
            manifest["drone_images"].append(
                {
                    "file": photo,
                    "basemap": index,
                    "click": list(pair.click),
                    "category": pair.category,
                    "box_px": box,
                    "box_lonlat": [corners[0][0], corners[0][1], corners[1][0], corners[1][1]],
                    "camera": {"lon": lon, "lat": lat, "altitude_m": altitude_m, **_pose(camera)},
                }
            )
    manifest["options"] = json.loads(json.dumps(asdict(options)))
    (out / "mission.json").write_text(json.dumps(manifest, indent=1))
    return manifest


def _pose(camera: Any) -> dict[str, float]:
    return {"heading_deg": float(camera.heading_deg), "gimbal_pitch_deg": float(camera.pitch_deg) - 90.0}
