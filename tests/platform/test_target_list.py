"""The list of a mission's targets: a page costs the same few queries however many targets there are and however
large the page, and each item is its target's detail without the candidates and the review history."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from localization.models import Prediction
from missions.georef import Georef
from tests.platform.builders import make_basemap, make_drone_image, make_model_version, make_review, make_target
from tests.platform.factories import client_for, team_setup

pytestmark = pytest.mark.django_db


def _predicted_targets(setup, count: int) -> None:  # noqa: ANN001
    version = make_model_version(setup.mission.team)
    basemap = make_basemap(setup.mission)
    images = [make_drone_image(setup.mission, by=setup.operator) for _ in range(3)]
    for i in range(count):
        target = make_target(setup.mission, images[i % 3], basemap, click=(5 + i, 7))
        boxes = [[10.0 + k, 10.0, 40.0 + k, 30.0] for k in range(3)]
        shapes = [Georef.of(basemap).box_geojson(box) for box in boxes]
        candidates = [{"box": box, "box_geojson": shape, "score": 0.9 - k / 10}
                      for k, (box, shape) in enumerate(zip(boxes, shapes, strict=True))]  # fmt: skip
        target.prediction = Prediction.objects.create(
            target=target, model_version=version, box=boxes[0], box_geojson=shapes[0], score=0.9,
            candidates=candidates, latency_ms=10.0,
        )  # fmt: skip
        target.save(update_fields=["prediction"])
        if i % 2:
            make_review(target, setup.reviewer, "approve", prediction=target.prediction, final_box=boxes[0])


def _queries_of(user, url: str) -> int:  # noqa: ANN001
    client = client_for(type(user).objects.get(pk=user.pk))  # a fresh user, as each request has
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_a_page_costs_the_same_queries_whatever_the_number_of_targets_and_the_page_size() -> None:
    setup = team_setup()
    url = f"/api/v1/targets/?mission={setup.mission.id}"
    _predicted_targets(setup, 2)
    few = _queries_of(setup.operator, url)
    _predicted_targets(setup, 60)
    assert _queries_of(setup.operator, url) == few
    assert _queries_of(setup.operator, f"{url}&page_size=200") == few
    assert _queries_of(setup.operator, f"{url}&page=2") == few
    assert few <= 3  # the user's teams, the count, the page


def test_a_list_item_is_the_detail_without_candidates_and_reviews() -> None:
    setup = team_setup()
    _predicted_targets(setup, 4)
    client = client_for(setup.operator)
    listed = client.get(f"/api/v1/targets/?mission={setup.mission.id}").json()
    assert listed["count"] == 4
    for item in listed["results"]:
        detail = client.get(f"/api/v1/targets/{item['id']}/").json()
        assert len(detail["prediction"].pop("candidates")) == 3
        del detail["reviews"]
        assert item == detail
    assert any(item["last_review"] for item in listed["results"])


def test_the_page_count_reads_the_targets_alone() -> None:
    """The count behind `count` and the page links joins none of the tables the items' columns come from."""
    setup = team_setup()
    _predicted_targets(setup, 3)
    client = client_for(setup.operator)
    with CaptureQueriesContext(connection) as queries:
        body = client.get(f"/api/v1/targets/?mission={setup.mission.id}&page_size=2").json()
    assert body["count"] == 3 and len(body["results"]) == 2 and body["next"]
    (count,) = [q["sql"] for q in queries if "COUNT(" in q["sql"]]
    assert "localization_prediction" not in count and "localization_review" not in count
    assert "auth_user" not in count
