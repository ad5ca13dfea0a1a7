"""`manage.py backup FILE`: the database and the media in one tar (core/backup.py)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from core.backup import BackupError, backup


class Command(BaseCommand):
    help = "Back up the database (online) and the media files, consistently, into one tar file."

    def add_arguments(self, parser) -> None:  # noqa: ANN001
        parser.add_argument("file", help="the tar file to write, e.g. backups/smgeo-2026-12-07.tar")

    def handle(self, *args: object, **options: object) -> None:
        try:
            manifest = backup(options["file"])
        except BackupError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(
            f"wrote {options['file']}: the {manifest['database']} database and {manifest['media_files']} media "
            f"file(s) (media {manifest['media']})"
        )
