"""One reference window: a model is trained (export, fine-tune) on the very pixels it is served (localization),
on an 8-bit RGB, a 16-bit and a palette GeoTIFF, each ingested as users upload it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio
from PIL import Image

from missions.reference_window import ReferenceWindow
from registry.selectors import reviewed_labels
from smgeo.data.cvogl import FRAME_SIZE, read_records
from tests.platform.builders import labelled_target, make_drone_image, make_model_version
from tests.platform.factories import client_for, team_setup
from tests.platform.imagery_fixtures import UTM33, ingested, marked_utm_geotiff, upload_basemap
from workers import localize as localize_module
from workers.cvogl_labels import label_window, write_dataset

SIZE = 1200  # basemap pixels: a 1024-px label window lies inside with room to shift


def _pixels(kind: str) -> tuple[np.ndarray, dict]:
    """Bands of a textured ground with a bright block, as 8-bit RGB, 16-bit RGB or 8-bit palette indexes."""
    rng = np.random.default_rng(3)
    ground = rng.integers(0, 200, size=(SIZE, SIZE))
    ground[500:560, 600:680] = 250
    if kind == "rgb8":
        return np.stack([ground, ground[::-1], ground[:, ::-1]]).astype(np.uint8), {}
    if kind == "uint16":
        return (np.stack([ground, ground[::-1], ground[:, ::-1]]) * 40 + 300).astype(np.uint16), {}
    palette = {value: (value, 255 - value, (value * 7) % 256, 255) for value in range(256)}
    return ground[None].astype(np.uint8), palette


def _geotiff(path: Path, kind: str) -> bytes:
    bands, colormap = _pixels(kind)
    transform = marked_utm_geotiff(64).transform
    profile = {"driver": "GTiff", "width": SIZE, "height": SIZE, "count": len(bands), "dtype": bands.dtype.name}
    with rasterio.open(path, "w", crs=UTM33, transform=transform, **profile) as dataset:
        dataset.write(bands)
        if colormap:
            dataset.write_colormap(1, colormap)
    return path.read_bytes()


class RecordingPredictor:
    """Stands in for the model only: keeps the reference images localization hands it."""

    def __init__(self) -> None:
        self.references: list[Image.Image] = []

    def predict_batch(self, items: list, reference_keys: list | None = None) -> list:
        from smgeo.predictor import Prediction

        self.references += [reference for _, reference, _ in items]
        box = [400.0, 400.0, 500.0, 500.0]
        return [Prediction(box, 0.9, [{"box": box, "score": 0.9}], np.zeros((8, 8)), [0, 0, 1024, 1024])] * len(items)


@pytest.mark.django_db
@pytest.mark.parametrize("kind", ["rgb8", "uint16", "palette"])
def test_the_window_read_for_localization_and_for_training_is_pixel_identical(kind, tmp_path, monkeypatch) -> None:  # noqa: ANN001
    setup = team_setup()
    created = upload_basemap(client_for(setup.operator), setup.mission.id, _geotiff(tmp_path / "map.tif", kind))
    assert created.status_code == 201, created.json()
    basemap = ingested(created.json()["id"])
    assert basemap.status == "succeeded", basemap.error
    if kind == "uint16":
        assert basemap.render_range  # stretched with the basemap's range, not each window's own
    version = make_model_version(setup.team, "v1", config={"model": {"query_size": [128, 128]}})
    drone = make_drone_image(setup.mission, width=200, height=150, dots=[(50, 60)])
    target, _, _ = labelled_target(
        setup.mission, drone, basemap, version, setup.reviewer, decision="approve", box=[600, 500, 680, 560]
    )
    (label,) = reviewed_labels(mission_id=setup.mission.id)
    window = label_window(label)

    # training: the pair the export and the fine-tune write
    write_dataset([label], tmp_path / "ds", "set", (128, 128), lambda done, total: None)
    (record,) = [r for split in ("train", "val", "test") for r in read_records(tmp_path / "ds", "set", split)]
    trained_on = np.asarray(Image.open(tmp_path / "ds" / "set" / "satellite" / record.satellite_file).convert("RGB"))

    # serving: the same window searched by a localization (drawn by the user)
    target.search_window = window.bounds
    target.save(update_fields=["search_window"])
    recorder = RecordingPredictor()
    monkeypatch.setattr("workers.predictors.predictor_for", lambda version: recorder)
    localized = localize_module.localize(target, version)
    (served,) = recorder.references

    assert np.array_equal(np.asarray(served), trained_on)
    assert trained_on.std() > 10  # a real picture, not a blank frame that would match anything
    assert localized.heatmap_window == window.bounds
    # the box the model gives in the frame maps back to the basemap through the same window
    assert localized.box == pytest.approx(window.to_basemap([400.0, 400.0, 500.0, 500.0]))
    frame_box = window.to_frame(label.label_box)
    assert list(record.box) == pytest.approx(frame_box)


def test_a_window_maps_boxes_to_its_frame_and_back() -> None:
    assert ReferenceWindow(0, 0, 1).size == FRAME_SIZE  # the platform's frame is the model data's
    window = ReferenceWindow.of_square([100.0, 50.0, 2148.0, 2098.0])
    assert window.side == 2048 and window.size == 1024
    assert window.to_frame([100.0, 50.0, 2148.0, 2098.0]) == [0.0, 0.0, 1024.0, 1024.0]
    assert window.to_basemap(window.to_frame([300.5, 400.0, 310.0, 420.0])) == pytest.approx(
        [300.5, 400.0, 310.0, 420.0]
    )
    with pytest.raises(ValueError, match="square"):
        ReferenceWindow.of_square([0, 0, 100, 50])


@pytest.mark.django_db
def test_a_training_window_covers_the_ground_localization_hands_the_model(tmp_path) -> None:  # noqa: ANN001
    """A label's window has the side localization's windows have on its basemap (the model's reference extent over
    the basemap's metres per pixel): objects keep the scale they are served at, whatever the ground resolution."""
    from django.conf import settings

    from workers.search import reference_extent_m

    setup = team_setup()
    created = upload_basemap(client_for(setup.operator), setup.mission.id, _geotiff(tmp_path / "map.tif", "rgb8"))
    basemap = ingested(created.json()["id"])
    assert basemap.gsd_m, "the GeoTIFF's ground resolution"
    extent_m = 700 * basemap.gsd_m  # a model whose reference covered 700 basemap pixels of this ground
    version = make_model_version(setup.team, "v1", config={"data": {"reference_extent_m": extent_m}})
    drone = make_drone_image(setup.mission, width=200, height=150, dots=[(50, 60)])
    target, _, _ = labelled_target(
        setup.mission, drone, basemap, version, setup.reviewer, decision="approve", box=[600, 500, 680, 560]
    )
    (label,) = reviewed_labels(mission_id=setup.mission.id)
    served = localize_module.search_plan(target, version).side
    assert served == pytest.approx(700)
    window = label_window(label, reference_extent_m(version.config, settings.LOCALIZE_REFERENCE_EXTENT_M))
    assert window.side == pytest.approx(served, abs=1)
    x1, y1, x2, y2 = window.bounds
    assert x1 <= 600 and y1 <= 500 and x2 >= 680 and y2 >= 560  # the box inside
    default = label_window(label)  # the export: the platform's reference extent, but 2.5 x the box's side at least
    assert default.side == pytest.approx(max(settings.LOCALIZE_REFERENCE_EXTENT_M / basemap.gsd_m, 2.5 * 80), abs=1)
