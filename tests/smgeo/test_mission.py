"""`smgeo mission`: a synthetic field mission a team could upload — a basemap with lon/lat bounds and drone JPEGs whose
EXIF GPS puts the camera where the manifest says — written once, refused over an existing one unless asked."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

from smgeo.cli import main
from smgeo.synth.mission import GPS_IFD, GPS_LAT, GPS_LON


def degrees(dms: tuple[float, float, float]) -> float:
    return float(dms[0]) + float(dms[1]) / 60 + float(dms[2]) / 3600


@pytest.fixture(scope="module")
def written(tmp_path_factory) -> tuple[Path, str]:  # noqa: ANN001
    folder = tmp_path_factory.mktemp("mission") / "demo"
    assert main(["mission", "--out", str(folder), "--scenes", "1", "--seed", "0"]) == 0
    return folder, (folder / "mission.json").read_text()


def test_it_writes_a_basemap_with_bounds_and_one_photo_per_target(written) -> None:  # noqa: ANN001
    folder, text = written
    manifest = json.loads(text)
    assert manifest["seed"] == 0 and manifest["split"] == "test" and len(manifest["basemaps"]) == 1
    basemap = manifest["basemaps"][0]
    west, south, east, north = basemap["bounds"]
    assert west < east and south < north
    with Image.open(folder / basemap["file"]) as image:
        assert image.format == "PNG" and image.size == tuple(basemap["size"]) == (1024, 1024)
    assert len(manifest["drone_images"]) == 4
    for entry in manifest["drone_images"]:
        x, y = entry["click"]
        assert (folder / entry["file"]).is_file() and x >= 0 and y >= 0
        x1, y1, x2, y2 = entry["box_px"]
        assert 0 <= x1 < x2 <= 1024 and 0 <= y1 < y2 <= 1024


def test_the_photos_carry_the_camera_s_gps_in_their_exif(written) -> None:  # noqa: ANN001
    folder, text = written
    for entry in json.loads(text)["drone_images"]:
        with Image.open(folder / entry["file"]) as image:
            assert image.format == "JPEG"
            gps = image.getexif().get_ifd(GPS_IFD)
        assert degrees(gps[GPS_LON]) == pytest.approx(entry["camera"]["lon"], abs=1e-6)
        assert degrees(gps[GPS_LAT]) == pytest.approx(entry["camera"]["lat"], abs=1e-6)


def test_it_refuses_to_overwrite_a_mission_unless_asked(written, capsys) -> None:  # noqa: ANN001
    folder, text = written
    assert main(["mission", "--out", str(folder)]) == 2
    assert "already holds a mission" in capsys.readouterr().err
    assert main(["mission", "--out", str(folder), "--overwrite"]) == 0
    assert (folder / "mission.json").read_text() == text  # same seed, same mission


def test_the_look_flags_shift_the_mission_s_domain(tmp_path) -> None:  # noqa: ANN001
    folder = tmp_path / "shifted"
    flags = [
        "--difficulty",
        "hard",
        "--pitch-min",
        "40",
        "--pitch-max",
        "65",
        "--photometric",
        "0.9",
        "--targets-per-scene",
        "6",
    ]
    assert main(["mission", "--out", str(folder), "--scenes", "1", "--seed", "3", *flags]) == 0
    manifest = json.loads((folder / "mission.json").read_text())
    assert manifest["options"]["pitch_deg"] == [40.0, 65.0] and manifest["options"]["photometric"] == 0.9
    assert manifest["options"]["distractors"] == 6 and len(manifest["drone_images"]) == 6  # hard: 6 look-alikes
    plain = tmp_path / "plain"
    assert main(["mission", "--out", str(plain), "--scenes", "1", "--seed", "3"]) == 0
    assert json.loads((plain / "mission.json").read_text())["options"]["pitch_deg"] != [40.0, 65.0]


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--photometric", "1.5"], "photometric must be in [0, 1]"),
        (["--pitch-max", "80"], "pitch range must satisfy"),
        (["--pitch-min", "50", "--pitch-max", "40"], "pitch range must satisfy"),
        (["--targets-per-scene", "0"], "targets per scene must be >= 1"),
    ],
)
def test_bad_look_flags_are_refused_by_name_and_write_nothing(tmp_path, capsys, flags, message) -> None:  # noqa: ANN001
    folder = tmp_path / "bad"
    assert main(["mission", "--out", str(folder), "--scenes", "1", *flags]) == 2
    assert message in capsys.readouterr().err
    assert not (folder / "mission.json").exists()
