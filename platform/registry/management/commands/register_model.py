"""`manage.py register_model PATH --name NAME [--team TEAM_NAME] [--activate]`: register a checkpoint file.

Idempotent: the same file registered again prints the version already there. Without --team the version is
shared (every team can run it) and --activate makes it the active model of every team that has none yet.
"""

from __future__ import annotations

from argparse import ArgumentParser

from django.core.management.base import BaseCommand, CommandError

from accounts.models import Team
from core.errors import DomainError
from registry.models import ModelVersion
from registry.services import model_version_activate_unchecked, model_version_register_file


class Command(BaseCommand):
    help = "Register an SMGeo checkpoint as a model version (shared, or owned by --team) and optionally activate it."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("path", help="the checkpoint file (.pt) written by smgeo")
        parser.add_argument("--name", required=True, help="the version's name, unique per team (or among shared)")
        parser.add_argument("--team", help="the owning team's name; omitted: a shared base model")
        parser.add_argument(
            "--activate",
            action="store_true",
            help="make it the team's active model (shared: of every team without one)",
        )

    def handle(self, *args: object, **options: object) -> None:
        team = self._team(options["team"])
        try:
            version, created = model_version_register_file(path=options["path"], name=options["name"], team=team)
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        owner = f"team {team.name!r}" if team else "shared"
        verb = "registered" if created else "already registered as"
        self.stdout.write(f"{verb} model version {version.id} {version.name!r} ({owner}, sha256 {version.sha256[:12]})")
        if options["activate"]:
            self._activate(version, team)

    def _team(self, name: object) -> Team | None:
        if not name:
            return None
        team = Team.objects.filter(name=name).first()
        if team is None:
            raise CommandError(f"no team named {name!r}")
        return team

    def _activate(self, version: ModelVersion, team: Team | None) -> None:
        teams = [team] if team else list(Team.objects.filter(active_model__isnull=True).order_by("name"))
        for each in teams:
            model_version_activate_unchecked(version=version, team=each, reason="register_model")
            self.stdout.write(f"activated for team {each.name!r}")
        if not teams:
            self.stdout.write("no team without an active model: nothing activated")
