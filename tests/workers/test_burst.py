"""A burst of clicks: 20 people click 10 times each at once against the live server and a real worker, and every
click is sent twice (a double-submit with the same Idempotency-Key). Every click ends `predicted` or `failed` with a
reason; none is lost, none is made twice, none is predicted twice."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from collections import Counter

import pytest
from rest_framework.authtoken.models import Token

from accounts.models import Role
from localization.models import Prediction, Target, TargetStatus
from tests.conftest import wait_until
from tests.platform.factories import add_member
from tests.workers.synthetic_mission import build_synthetic_mission, mission_files

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.both_backends]

USERS, CLICKS_EACH = 20, 10


def post_click(url: str, token: str, body: dict, key: str) -> tuple[int, int | None]:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST")
    request.add_header("Authorization", f"Token {token}")
    request.add_header("Content-Type", "application/json")
    request.add_header("Idempotency-Key", key)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())["id"]
    except urllib.error.HTTPError as error:
        return error.code, None


def test_200_clicks_from_20_people_at_once_each_end_once(live_server, celery_worker, tmp_path) -> None:  # noqa: ANN001
    mission_files(tmp_path)
    mission = build_synthetic_mission(tmp_path)
    team = mission.setup.mission.team
    tokens = [Token.objects.create(user=add_member(team, Role.OPERATOR)).key for _ in range(USERS)]
    url = f"{live_server.url}/api/v1/targets/"
    answers: list[tuple[int, int, int | None]] = []  # (user, status, target id)
    lock = threading.Lock()

    def person(user: int) -> None:
        for n in range(CLICKS_EACH):
            index = (user + n) % len(mission.truth)
            x, y = mission.truth[index]["click"]
            body = {"drone_image": mission.drone_images[index].id, "basemap": mission.basemap.id,
                    "click_x": x + n % 3, "click_y": y}  # fmt: skip
            key = f"click-{user}-{n}"
            twice = [post_click(url, tokens[user], body, key) for _ in range(2)]  # the double-submit
            with lock:
                answers.extend((user, status, target_id) for status, target_id in twice)

    people = [threading.Thread(target=person, args=(user,)) for user in range(USERS)]
    started = time.monotonic()
    for thread in people:
        thread.start()
    for thread in people:
        thread.join(timeout=300)

    statuses = Counter(status for _, status, _ in answers)
    assert statuses == {201: USERS * CLICKS_EACH, 200: USERS * CLICKS_EACH}, statuses  # each repeat: the first one
    ids = {target_id for _, _, target_id in answers}
    assert len(ids) == USERS * CLICKS_EACH  # one target per click, the repeat answered with it
    targets = Target.objects.filter(mission=mission.setup.mission)
    assert targets.count() == USERS * CLICKS_EACH and set(targets.values_list("id", flat=True)) == ids

    def all_done() -> bool:
        return not targets.exclude(status__in=[TargetStatus.PREDICTED, TargetStatus.FAILED]).exists()

    sent_s = time.monotonic() - started
    wait_until(all_done, timeout_s=600, what="every click of the burst to end", every_s=0.5)
    failed = list(targets.filter(status=TargetStatus.FAILED).values_list("id", "error"))
    assert all(error for _, error in failed), failed  # a failure always says why
    predicted = targets.filter(status=TargetStatus.PREDICTED)
    assert predicted.count() + len(failed) == USERS * CLICKS_EACH
    per_target = Counter(Prediction.objects.filter(target__in=targets).values_list("target_id", flat=True))
    assert set(per_target.values()) == {1} and set(per_target) == set(predicted.values_list("id", flat=True))
    print(f"burst: {2 * USERS * CLICKS_EACH} requests sent in {sent_s:.1f} s; {predicted.count()} predicted, "
          f"{len(failed)} failed, all ended {time.monotonic() - started:.1f} s after the first click")  # fmt: skip
