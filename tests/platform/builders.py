"""Test data built straight through the ORM, as the product's services would leave it: checkpoints, model
versions, ingested basemaps, drone images, targets, predictions and reviews."""

from __future__ import annotations

import hashlib
import io
import itertools
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from django.core.files.base import ContentFile
from PIL import Image

from accounts.models import Team
from localization.models import Prediction, Review, Target, TargetStatus
from missions.georef import Georef
from missions.models import Basemap, DroneImage, Mission
from registry.models import ModelVersion, TrainingRun

_counter = itertools.count(1)

UTM_CRS = "EPSG:32633"
UTM_TRANSFORM = [0.5, 0.0, 500000.0, 0.0, -0.5, 5000000.0]  # 0.5 m pixels, about 15 E, 45.1 N


def checkpoint_bytes(*, config: dict | None = None, metrics: dict | None = None, seed: int = 0) -> bytes:
    """A tiny, valid SMGeo-format checkpoint (any state dict + a config with a "model" section)."""
    generator = torch.Generator().manual_seed(seed)
    config = config or {"model": {"query_size": [128, 128], "reference_size": 256}, "loss": {}, "data": {}, "train": {}}
    payload = {
        "smgeo_version": "0.1.0",
        "config": config,
        "model": {"head.weight": torch.randn(4, 4, generator=generator)},
    }
    if metrics is not None:
        payload["metrics"] = metrics
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    return buffer.getvalue()


def make_model_version(
    team: Team | None = None,
    name: str | None = None,
    *,
    config: dict | None = None,
    parent: ModelVersion | None = None,
    seed: int | None = None,
) -> ModelVersion:
    """A registered version stored through the ORM (no validation), with a real checkpoint file."""
    number = next(_counter)
    data = checkpoint_bytes(config=config, seed=number if seed is None else seed)
    version = ModelVersion(
        team=team,
        name=name or f"version-{number}",
        sha256=hashlib.sha256(data).hexdigest(),
        size_bytes=len(data),
        config=config or {"model": {"query_size": [128, 128]}},
        metrics={"acc@0.5": 0.5},
        parent=parent,
    )
    version.checkpoint.save(f"v{number}.pt", ContentFile(data), save=False)
    version.save()
    return version


def jpeg_bytes(width: int = 64, height: int = 48, dots: Sequence[tuple[int, int]] = (), color: int = 40) -> bytes:
    """A dark JPEG with white 5x5 dots centred on the given (x, y) pixels."""
    pixels = np.full((height, width, 3), color, dtype=np.uint8)
    for x, y in dots:
        pixels[max(y - 2, 0) : y + 3, max(x - 2, 0) : x + 3] = 255
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="JPEG", quality=95)
    return buffer.getvalue()


def make_drone_image(
    mission: Mission, *, width: int = 64, height: int = 48, dots: Sequence[tuple[int, int]] = (), by: object = None
) -> DroneImage:
    data = jpeg_bytes(width, height, dots)
    number = next(_counter)
    image = DroneImage(
        mission=mission,
        original_name=f"DJI_{number:04d}.JPG",
        sha256=hashlib.sha256(data).hexdigest(),
        width=width,
        height=height,
        created_by=by,
    )
    image.file.save(f"drone-{number}.jpg", ContentFile(data), save=False)
    image.width, image.height = width, height  # FieldFile.save(save=False) leaves the dimension fields None here
    image.save()
    return image


def make_basemap(
    mission: Mission,
    *,
    width: int = 2000,
    height: int = 2000,
    crs: str = UTM_CRS,
    transform: Sequence[float] = UTM_TRANSFORM,
    cog_path: Path | None = None,
    status: str = "succeeded",
) -> Basemap:
    """A basemap as its ingest leaves it (georeferenced when it succeeded); with `cog_path`, that GeoTIFF is stored
    as its COG."""
    basemap = Basemap(
        mission=mission,
        name=f"basemap {next(_counter)}",
        source_kind=Basemap.SourceKind.GEOTIFF,
        source_file="basemaps/source/none.tif",
        status=status,
    )
    if status == "succeeded":
        basemap.crs, basemap.transform, basemap.width, basemap.height = crs, list(transform), width, height
        basemap.gsd_m = abs(transform[0]) if crs != "EPSG:4326" else 7.2
        basemap.bounds = Georef.of(basemap).bounds_lonlat([0, 0, width, height])
    if cog_path is not None:
        data = cog_path.read_bytes()
        basemap.cog_file.save(f"cog-{next(_counter)}.tif", ContentFile(data), save=False)
        basemap.cog_sha256 = hashlib.sha256(data).hexdigest()
    basemap.save()
    return basemap


def make_target(
    mission: Mission,
    drone_image: DroneImage,
    basemap: Basemap,
    *,
    click: tuple[float, float] = (10, 10),
    status: str = TargetStatus.PREDICTED,
    label: str = "",
) -> Target:
    return Target.objects.create(
        mission=mission,
        drone_image=drone_image,
        basemap=basemap,
        click_x=click[0],
        click_y=click[1],
        status=status,
        label=label,
    )


def make_prediction(target: Target, version: ModelVersion, box: Sequence[float], score: float = 0.8) -> Prediction:
    """A prediction that becomes the target's (Target.prediction), the target moving to predicted when queued."""
    polygon = Georef.of(target.basemap).box_geojson(box)
    prediction = Prediction.objects.create(
        target=target, model_version=version, box=list(box), box_geojson=polygon, score=score, latency_ms=12.0
    )
    target.prediction = prediction
    if target.status in (TargetStatus.QUEUED, TargetStatus.RUNNING):
        target.status = TargetStatus.PREDICTED
    target.save(update_fields=["prediction", "status"])
    return prediction


DECISION_STATUS = {
    "approve": TargetStatus.APPROVED,
    "correct": TargetStatus.CORRECTED,
    "reject": TargetStatus.REJECTED,
    "reopen": TargetStatus.PREDICTED,
}


def make_review(
    target: Target,
    reviewer: object,
    decision: str,
    *,
    prediction: Prediction | None = None,
    final_box: Sequence[float] | None = None,
) -> Review:
    """A review, and the target's status moved to the decision's."""
    polygon = Georef.of(target.basemap).box_geojson(final_box) if final_box is not None else None
    after = DECISION_STATUS[decision]
    review = Review.objects.create(
        target=target,
        prediction=prediction,
        reviewer=reviewer,
        decision=decision,
        final_box=list(final_box) if final_box is not None else None,
        final_box_geojson=polygon,
        status_before=target.status,
        status_after=after,
    )
    target.status, target.last_review = after, review
    target.save(update_fields=["status", "last_review"])
    return review


def labelled_target(
    mission: Mission,
    drone_image: DroneImage,
    basemap: Basemap,
    version: ModelVersion,
    reviewer: object,
    *,
    decision: str,
    box: Sequence[float],
    final_box: Sequence[float] | None = None,
    click: tuple[float, float] = (10, 10),
    label: str = "",
) -> tuple[Target, Prediction, Review]:
    """A predicted target reviewed once (approve: the final box is the prediction's; correct: `final_box`)."""
    target = make_target(mission, drone_image, basemap, click=click, label=label)
    prediction = make_prediction(target, version, box)
    final = list(box) if decision == "approve" else final_box
    review = make_review(target, reviewer, decision, prediction=prediction, final_box=final)
    return target, prediction, review


def write_geotiff(
    path: Path,
    *,
    width: int,
    height: int,
    crs: str = UTM_CRS,
    transform: Sequence[float] = UTM_TRANSFORM,
    markers: Sequence[tuple[int, int]] = (),
    marker_half: int = 4,
) -> Path:
    """A tiled RGB GeoTIFF with overviews: dark noise, white squares centred on `markers` (x, y) basemap pixels."""
    import rasterio
    from affine import Affine

    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 60, size=(3, height, width), dtype=np.uint8)
    for x, y in markers:
        pixels[:, max(y - marker_half, 0) : y + marker_half, max(x - marker_half, 0) : x + marker_half] = 255
    profile = {
        "driver": "GTiff",
        "width": width,
        "height": height,
        "count": 3,
        "dtype": "uint8",
        "crs": crs,
        "transform": Affine(*transform[:6]),
        "tiled": True,
        "blockxsize": 256,
        "blockysize": 256,
    }
    with rasterio.open(path, "w", **profile) as dataset:
        dataset.write(pixels)
        dataset.build_overviews([2, 4], rasterio.enums.Resampling.average)
    return path


DEMO_CHECKPOINT = Path(__file__).resolve().parents[2] / "checkpoints" / "smgeo-tiny-synthetic.pt"


def make_demo_model_version(team: Team | None = None, name: str = "smgeo-tiny-synthetic") -> ModelVersion:
    """The committed demo checkpoint (tiny preset: 256 px reference, 128 px query) registered through the registry
    service, as `manage.py register_model` leaves it (team None: a shared version)."""
    from registry.services import model_version_register_file

    version, _ = model_version_register_file(path=DEMO_CHECKPOINT, name=name, team=team)
    return version


def make_training_run(
    team: Team,
    base_version: ModelVersion,
    by: object,
    *,
    epochs: int = 1,
    batch_size: int = 8,
    lr: float | None = None,
    replay: float = 0.0,
) -> TrainingRun:
    """A queued run on the team's reviewed labels frozen now, as training_run_create leaves it but not enqueued
    (for tests that run the worker task in-process)."""
    from registry.selectors import dataset_snapshot

    label_ids, digest = dataset_snapshot(team.id)
    return TrainingRun.objects.create(
        team=team,
        base_version=base_version,
        params={"epochs": epochs, "batch_size": batch_size, "lr": lr, "replay": replay},
        dataset_label_ids=label_ids,
        dataset_hash=digest,
        created_by=by,
    )
