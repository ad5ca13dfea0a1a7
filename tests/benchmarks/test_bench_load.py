"""Benchmark (`make bench`, never part of the test run): the read endpoints under load, with 10,000 predicted targets
in PostgreSQL, served by gunicorn with the production settings on loopback, at 1, 8 and 32 concurrent clients.

The tiles are requested as a browser does: the same few tiles of the map over and over, by their URL template's
`?v=<sha>` URLs, with the user's credential; a second tile endpoint sends the ETag the browser holds (304).

Writes docs/results/bench_load.json (requests/s, p50, p95 and errors per endpoint and concurrency; the tiles'
throughput as a ratio to a static PNG of the same bytes from the same server; whether each goal in GOALS is met) and
docs/img/bench_load.png.
"""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib
import pytest
from django.db import connection
from rest_framework.authtoken.models import Token

from localization.models import Prediction, Target, TargetStatus
from missions.georef import Georef
from missions.models import DroneImage
from tests.benchmarks.http_load import run_load
from tests.platform.builders import make_drone_image, make_model_version
from tests.platform.factories import client_for, team_setup
from tests.platform.gunicorn_server import free_port, start_gunicorn
from tests.platform.imagery_fixtures import ingested, marked_utm_geotiff, upload_basemap

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

pytestmark = [pytest.mark.bench, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "docs" / "results" / "bench_load.json"
PLOT = ROOT / "docs" / "img" / "bench_load.png"
TARGETS, DRONE_IMAGES = 10_000, 50
CLIENTS = (1, 8, 32)
SECONDS = 3.0
WARM_SECONDS = 1.0  # per endpoint, before measuring: every web process sees each tile once (its caches fill)
TILE_OVER_STATIC_GOAL, TILE_GOAL_CLIENTS = 0.5, "8"  # a cached tile costs about what a static file costs
LIST_P95_GOAL_MS, LIST_GOAL_CLIENTS = 300.0, 32


def fill_mission(setup, basemap) -> list[int]:  # noqa: ANN001
    """10,000 predicted targets with five candidates each, through bulk inserts; their ids."""
    version = make_model_version(setup.mission.team)
    images = [make_drone_image(setup.mission, by=setup.operator) for _ in range(DRONE_IMAGES)]
    georef = Georef.of(basemap)
    targets = Target.objects.bulk_create(
        Target(mission=setup.mission, drone_image=images[i % DRONE_IMAGES], basemap=basemap, click_x=10 + i % 40,
               click_y=12, status=TargetStatus.PREDICTED, created_by=setup.operator, attempts=1)
        for i in range(TARGETS)
    )  # fmt: skip
    predictions = []
    for i, target in enumerate(targets):
        x, y = 40 + (i * 7) % 900, 40 + (i * 13) % 900
        boxes = [[x + k, y + k, x + k + 30.0, y + k + 24.0] for k in range(5)]
        candidates = [{"box": b, "box_geojson": georef.box_geojson(b), "score": 0.9 - k / 10} for k, b in
                      enumerate(boxes)]  # fmt: skip
        prediction = Prediction(target=target, model_version=version, box=boxes[0], score=0.9,
                                box_geojson=candidates[0]["box_geojson"], candidates=candidates,
                                search_window=[0, 0, 1024, 1024], search_mode="gps", latency_ms=40.0)  # fmt: skip
        predictions.append(prediction)
    Prediction.objects.bulk_create(predictions, batch_size=2000)
    for target, prediction in zip(targets, predictions, strict=True):
        target.prediction = prediction
    Target.objects.bulk_update(targets, ["prediction"], batch_size=2000)
    assert DroneImage.objects.filter(mission=setup.mission).count() == DRONE_IMAGES
    with connection.cursor() as cursor:
        # What autovacuum does after a bulk load: the planner sees 10,000 rows, not 15, and the visibility map lets a
        # page's count read the mission's index alone.
        cursor.execute("VACUUM ANALYZE")
    return [target.id for target in targets]


def plot(results: dict, path: Path) -> None:
    figure, (rate, tail) = plt.subplots(1, 2, figsize=(11, 4.2))
    for name, levels in results.items():
        clients = [level["clients"] for level in levels]
        rate.plot(clients, [level["requests_per_s"] for level in levels], marker="o", label=name)
        tail.plot(clients, [level["p95_ms"] for level in levels], marker="o", label=name)
    for axis, label in ((rate, "requests/s"), (tail, "p95 latency (ms)")):
        axis.set_xscale("log", base=2)
        axis.set_yscale("log")
        axis.set_xticks(CLIENTS, [str(c) for c in CLIENTS])
        axis.set_xlabel("concurrent clients")
        axis.set_ylabel(label)
        axis.grid(True, which="both", alpha=0.3)
    rate.legend(fontsize=8)
    figure.suptitle(f"gunicorn (production settings), {TARGETS:,} predicted targets in PostgreSQL, 2 CPU cores")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)


def goals(results: dict, tile_ratio: dict) -> dict:
    """Each goal of the issue "the map at the hardware's pace": its figure, its bound and whether it is met."""
    ratio = tile_ratio[TILE_GOAL_CLIENTS]
    p95 = next(level["p95_ms"] for level in results["target list (50 a page)"] if level["clients"] == LIST_GOAL_CLIENTS)
    return {
        f"cached tile >= {TILE_OVER_STATIC_GOAL}x static PNG at {TILE_GOAL_CLIENTS} clients": {
            "value": ratio, "met": ratio >= TILE_OVER_STATIC_GOAL},
        f"target list p95 < {LIST_P95_GOAL_MS:g} ms at {LIST_GOAL_CLIENTS} clients": {
            "value": p95, "met": p95 < LIST_P95_GOAL_MS},
    }  # fmt: skip


def test_read_endpoints_under_load(settings, tmp_path) -> None:  # noqa: ANN001
    setup = team_setup()
    marked = marked_utm_geotiff(1024)
    basemap = ingested(upload_basemap(client_for(setup.operator), setup.mission.id, marked.data).json()["id"])
    ids = fill_mission(setup, basemap)
    token = Token.objects.create(user=setup.operator).key
    tile = marked.tile
    template = client_for(setup.operator).get(f"/api/v1/basemaps/{basemap.id}/").json()["tile_url_template"]
    tiles = [template.format(z=tile.z, x=tile.x + dx, y=tile.y + dy) for dx in (-1, 0, 1) for dy in (-1, 0, 1)]
    png = client_for(setup.operator).get(tiles[4])
    assert png.status_code == 200
    static_root = tmp_path / "static"
    (static_root / "bench").mkdir(parents=True)
    (static_root / "bench" / "tile.png").write_bytes(png.content)  # the same bytes, served as a static file
    mission = setup.mission.id
    endpoints = {
        "mission list": ["/api/v1/missions/"],
        "target list (50 a page)": [f"/api/v1/targets/?mission={mission}&page={p}" for p in range(1, 21)],
        "target detail": [f"/api/v1/targets/{i}/" for i in ids[:: max(1, len(ids) // 200)]],
        "GeoJSON export (10,000 features)": [f"/api/v1/missions/{mission}/export.geojson"],
        "tile": tiles,
        "tile, 304 (the browser's ETag)": tiles[4:5],
        "static PNG, same bytes": ["/static/bench/tile.png"],
    }
    extra_headers = {"tile, 304 (the browser's ETag)": {"If-None-Match": png["ETag"]}}
    port = free_port()
    server = start_gunicorn(
        port,
        static_root,
        str(settings.MEDIA_ROOT),
        tmp_path / "gunicorn.log",
        "/static/bench/tile.png",
        GUNICORN_MAX_REQUESTS="1000000",  # a recycled worker drops its keep-alive connections: a browser retries, the
    )  # load generator would count an error (at ~1,000 tiles/s each process recycled every ~10 s)
    headers = {"Authorization": f"Token {token}"}
    try:
        results = {}
        for name, paths in endpoints.items():
            sent = {**headers, **extra_headers.get(name, {})}
            run_load("127.0.0.1", port, paths, clients=4, seconds=WARM_SECONDS, headers=sent)  # caches, connections
            results[name] = [run_load("127.0.0.1", port, paths, n, SECONDS, sent).summary() for n in CLIENTS]
            print(name, [(r["clients"], r["requests_per_s"], r["p95_ms"], r["errors"]) for r in results[name]])
    finally:
        server.terminate()
        server.wait(timeout=30)
    tile_ratio = {
        str(level["clients"]): round(level["requests_per_s"] / static["requests_per_s"], 3)
        for level, static in zip(results["tile"], results["static PNG, same bytes"], strict=True)
    }
    report = {
        "command": "bash deploy/local/test.sh -m bench tests/benchmarks/test_bench_load.py -s",
        "targets": TARGETS,
        "seconds_per_level": SECONDS,
        "server": "gunicorn with deploy/gunicorn.conf.py (uvicorn workers, 5 processes), production settings",
        "client": "asyncio keep-alive connections in the test process (tests/benchmarks/http_load.py), loopback",
        "endpoints": results,
        "tile_over_static_png": tile_ratio,
        "goals": goals(results, tile_ratio),
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(report, indent=2) + "\n")
    plot(results, PLOT)
    for name, levels in results.items():
        assert all(level["errors"] == 0 for level in levels), (name, levels)
