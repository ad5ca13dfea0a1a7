"""`manage.py restore FILE --yes`: replace the database and the media with a backup's (core/backup.py)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from core.backup import BackupError, restore


class Command(BaseCommand):
    help = "Replace the database and the media with those of a backup written by `manage.py backup`."

    def add_arguments(self, parser) -> None:  # noqa: ANN001
        parser.add_argument("file", help="a tar file written by `manage.py backup`")
        parser.add_argument("--yes", action="store_true", help="confirm: the current data is replaced")

    def handle(self, *args: object, **options: object) -> None:
        if not options["yes"]:
            raise CommandError("restore replaces every row and media file of this site: stop the web app and the "
                               "workers, then run it again with --yes")  # fmt: skip
        try:
            manifest = restore(options["file"])
        except BackupError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(
            f"restored the {manifest['database']} database and {manifest['media_files']} media file(s) of "
            f"{manifest['created_at']}"
        )
