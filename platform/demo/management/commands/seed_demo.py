"""`manage.py seed_demo [--mission-dir DIR --checkpoint PT]`: what a newcomer needs on a first run — a demo team
with one login per role and, given the files of `smgeo mission`, a demo mission with its basemap(s) and drone
photos and the demo model active. Safe to run again: it creates nothing twice.
"""

from __future__ import annotations

from argparse import ArgumentParser
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from core.errors import DomainError
from demo.mission_seed import DemoMission, demo_mission_seed, demo_model_seed
from demo.team_seed import DemoLogin, demo_team_seed
from registry.models import ModelVersion


class Command(BaseCommand):
    help = "Create the demo team and logins; with --checkpoint the demo model, with --mission-dir the demo mission."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--mission-dir", type=Path, help="a folder written by `smgeo mission` (mission.json)")
        parser.add_argument("--checkpoint", type=Path, help="the model to register and activate for the demo team")
        parser.add_argument(
            "--base-url", default="http://127.0.0.1:8000", help="where the web app answers, for the printed link"
        )

    def handle(self, *args: object, **options: object) -> None:
        try:
            team, logins, team_created = demo_team_seed()
            self._print_logins(team.name, logins, team_created)
            operator = get_user_model().objects.get(username="operator")
            admin = get_user_model().objects.get(username=settings.DEMO_ADMIN_USERNAME)
            if options["checkpoint"]:
                version, created = demo_model_seed(team=team, checkpoint=options["checkpoint"], by=admin)
                self._print_model(version, created, active=team.active_model_id == version.id)
            if options["mission_dir"]:
                seeded = demo_mission_seed(team=team, folder=options["mission_dir"], by=operator)
                self._print_mission(seeded, str(options["base_url"]).rstrip("/"))
        except DomainError as exc:
            raise CommandError(exc.message) from exc

    def _print_logins(self, team_name: str, logins: list[DemoLogin], created: bool) -> None:
        self.stdout.write(f"Demo team {team_name!r} ({_verb(created)}); logins:")
        self.stdout.write(f"  {'username':<10} {'password':<14} role")
        for login in logins:
            role = f"{login.role.value}{' (and Django superuser)' if login.superuser else ''}"
            self.stdout.write(f"  {login.username:<10} {login.password:<14} {role}  [{_verb(login.created)}]")

    def _print_model(self, version: ModelVersion, created: bool, active: bool) -> None:
        state = "active" if active else "not active (an admin activated another version)"
        self.stdout.write(f"Demo model: version {version.id} {version.name!r} ({_verb(created)}), {state}")

    def _print_mission(self, seeded: DemoMission, base_url: str) -> None:
        mission = seeded.mission
        with_gps = sum(image.has_gps for image in seeded.drone_images)
        self.stdout.write(
            f"Demo mission {mission.id} {mission.name!r} ({_verb(seeded.created)}): "
            f"{len(seeded.basemaps)} basemap(s) ({seeded.basemaps_created} new; the worker ingests them), "
            f"{len(seeded.drone_images)} drone photo(s) ({seeded.drone_images_created} new, {with_gps} with GPS)"
        )
        self.stdout.write(f"Open {base_url}/missions/{mission.id}/ and log in as operator to click a target.")


def _verb(created: bool) -> str:
    return "created" if created else "exists"
