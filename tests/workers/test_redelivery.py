"""Redelivery: the pool process running a click is killed; the message goes back and the click ends predicted.

In a module of its own: the only worker here is the one the test kills (an idle worker elsewhere could have taken
the message with a blocking pop already under way)."""

from __future__ import annotations

import os
import signal
import subprocess
import time

import pytest

from localization.models import Prediction, Target, TargetStatus
from missions.models import DroneImage
from tests.conftest import WorkerProcess, wait_until
from tests.workers.synthetic_mission import build_synthetic_mission, click, mission_files

pytestmark = pytest.mark.django_db(transaction=True)


def finished(target_id: int) -> Target | None:
    target = Target.objects.get(id=target_id)
    return target if target.status in (TargetStatus.PREDICTED, TargetStatus.FAILED) else None


def pool_children(worker: WorkerProcess) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(worker.process.pid)], capture_output=True, text=True).stdout
    return [int(pid) for pid in out.split()]


def test_a_pool_process_killed_mid_task_gives_the_click_back_and_it_ends_predicted(tmp_path) -> None:
    # A worker that searches in small windows (about 80 of them over the basemap): a task that lasts seconds.
    mission_files(tmp_path)
    mission = build_synthetic_mission(tmp_path)
    slow = WorkerProcess(queues="gpu", extra_env={"LOCALIZE_REFERENCE_EXTENT_M": "45"})
    try:
        slow.wait_ready()
        DroneImage.objects.filter(id=mission.drone_images[1].id).update(gps_lat=None, gps_lon=None)
        body = click(mission, 1)
        wait_until(lambda: Target.objects.filter(id=body["id"], status="running").exists(), timeout_s=60,
                   what="the slow worker taking the click", every_s=0.05)  # fmt: skip
        time.sleep(0.3)
        children = pool_children(slow)
        assert children, "the worker has no pool process"
        for pid in children:
            os.kill(pid, signal.SIGKILL)
        target = wait_until(lambda: finished(body["id"]), timeout_s=180, what="the redelivered click")
        assert target.status == TargetStatus.PREDICTED, target.error
        assert target.attempts == 2 and target.prediction.search_mode == "sliding"
        assert Prediction.objects.filter(target=target).count() == 1
    finally:
        slow.stop()
