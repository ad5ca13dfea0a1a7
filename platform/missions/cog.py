"""Local raster conversions of the ingest: georeference a PNG/JPEG from its bounds, write a Cloud-Optimized GeoTIFF.

Both read and write local temporary files (rasterio needs them); the ingest moves files to and from storage.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import rasterio
import rasterio.shutil
from rasterio.errors import NotGeoreferencedWarning
from rasterio.transform import from_bounds
from rasterio.windows import Window

from missions.rasters import LONLAT

# DEFLATE keeps the pixels the model crops exactly as uploaded; 512-px tiles and internal overviews let
# rio-tiler read any Web-Mercator tile with a few range reads.
COG_OPTIONS = {
    "driver": "COG",
    "compress": "DEFLATE",
    "predictor": "YES",
    "blocksize": 512,
    "overviews": "AUTO",
    "bigtiff": "IF_SAFER",
}
STRIP_ROWS = 512


def write_cog(source: Path, destination: Path) -> None:
    """Copy any raster GDAL reads into a COG with internal overviews, keeping its CRS and pixels."""
    rasterio.shutil.copy(str(source), str(destination), **COG_OPTIONS)


def georeference_image(source: Path, bounds: list[float], destination: Path) -> None:
    """Write a PNG/JPEG as a GeoTIFF in EPSG:4326 stretched over [west, south, east, north] (degrees).

    Copies strips of rows, so memory stays small for large images."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        src = rasterio.open(source)
    with src:
        profile = {
            "driver": "GTiff",
            "width": src.width,
            "height": src.height,
            "count": src.count,
            "dtype": src.dtypes[0],
            "crs": LONLAT,
            "transform": from_bounds(*bounds, src.width, src.height),
            "tiled": True,
            "blockxsize": 512,
            "blockysize": 512,
            "compress": "DEFLATE",
            "zlevel": 1,
            "bigtiff": "IF_SAFER",
        }
        if src.count >= 3:
            profile["photometric"] = "RGB"
        with rasterio.open(destination, "w", **profile) as dst:
            dst.colorinterp = src.colorinterp
            for row in range(0, src.height, STRIP_ROWS):
                window = Window(0, row, src.width, min(STRIP_ROWS, src.height - row))
                dst.write(src.read(window=window), window=window)
            if src.count == 1 and _has_colormap(src):
                dst.write_colormap(1, src.colormap(1))


def _has_colormap(ds: rasterio.io.DatasetReader) -> bool:
    try:
        ds.colormap(1)
    except ValueError:
        return False
    return True
