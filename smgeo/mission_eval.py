"""A checkpoint on a synthetic field mission (`smgeo mission`): every drone photo's click localized on its whole
basemap through the predictor, as the platform does when the search window is the basemap, scored with the CVOGL
protocol in basemap pixels."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from PIL import Image

from smgeo.metrics import sample_scores, summarize
from smgeo.predictor import Predictor


def evaluate_mission(predictor: Predictor, mission_dir: str | Path) -> dict[str, Any]:
    """{"metrics": CVOGL metrics over the photos (with n), "photos": [{"file", "iou", "box", "truth"}]}."""
    folder = Path(mission_dir)
    manifest = json.loads((folder / "mission.json").read_text())
    basemaps = [Image.open(folder / entry["file"]).convert("RGB") for entry in manifest["basemaps"]]
    photos, pred, truth = [], [], []
    for photo in manifest["drone_images"]:
        basemap = basemaps[photo["basemap"]]
        with Image.open(folder / photo["file"]) as image:
            prediction = predictor.predict(image.convert("RGB"), basemap, tuple(photo["click"]))
        pred.append(prediction.box)
        truth.append(photo["box_px"])
        photos.append({"file": photo["file"], "box": [round(v, 1) for v in prediction.box], "truth": photo["box_px"]})
    side = max(basemaps[0].size)
    scores = sample_scores(torch.tensor(pred), torch.tensor(truth), side)
    for photo, iou in zip(photos, scores["iou"].tolist(), strict=True):
        photo["iou"] = round(iou, 4)
    return {"metrics": summarize(scores["iou"], scores["center_px"]), "photos": photos}
