import pytest
from affine import Affine
from rasterio.crs import CRS

from missions.georef import Georef, counter_clockwise


def test_pixels_round_trip_through_lonlat_in_a_utm_crs() -> None:
    # 0.5 m pixels, origin at 500000 E / 5000000 N in UTM 33N (about 15 E, 45.1 N)
    georef = Georef(CRS.from_epsg(32633), Affine(0.5, 0, 500000, 0, -0.5, 5000000))
    lons, lats = georef.to_lonlat([0, 100], [0, 200])
    assert lons[0] == pytest.approx(15.0, abs=1e-6) and 45.0 < lats[0] < 45.2
    cols, rows = georef.to_pixels(lons, lats)
    assert cols == pytest.approx([0, 100], abs=1e-6) and rows == pytest.approx([0, 200], abs=1e-6)


def test_a_box_becomes_a_closed_lonlat_polygon() -> None:
    georef = Georef(CRS.from_epsg(4326), Affine(0.001, 0, 10.0, 0, -0.001, 50.0))
    polygon = georef.box_geojson([0, 0, 10, 20])
    ring = polygon["coordinates"][0]
    assert polygon["type"] == "Polygon" and ring[0] == ring[-1] and len(ring) == 5
    assert ring[2] == pytest.approx([10.01, 49.98])
    twice_area = sum(a[0] * b[1] - b[0] * a[1] for a, b in zip(ring, ring[1:], strict=False))
    assert twice_area > 0  # counter-clockwise, as RFC 7946 asks of an outer ring
    clockwise = {"type": "Polygon", "coordinates": [ring[::-1]]}  # stored before: turned on the way out
    assert counter_clockwise(clockwise)["coordinates"][0] == ring
    assert georef.bounds_lonlat([0, 0, 10, 20]) == pytest.approx([10.0, 49.98, 10.01, 50.0])
