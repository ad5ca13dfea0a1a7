"""A consistent backup of the platform's database and media in one tar file, and its restore (`manage.py backup`,
`manage.py restore`).

The database is dumped with the engine's own online tool: SQLite's backup API (a copy of db.sqlite3 would miss what
is still in its write-ahead log) or `pg_dump` (a snapshot). The media are taken as hard links (a copy where links
cannot be made) once before the dump and once after: a file deleted after the dump is still in the first set, and
one added while the dump ran is in the second, so every file a row of the dump names is in the backup. Media kept in
an object store (S3) are not in the tar: back the bucket up with its own tools (the manifest says so).
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings
from django.core.files.storage import FileSystemStorage, default_storage
from django.db import connections

FORMAT = "smgeo-backup/1"
DATABASE_FILES = {"sqlite": "database.sqlite3", "postgresql": "database.pgdump"}


class BackupError(Exception):
    """A backup or restore that cannot be done, with the reason."""


def engine() -> str:
    vendor = connections["default"].vendor
    if vendor not in DATABASE_FILES:
        raise BackupError(f"backups cover SQLite and PostgreSQL databases, not {vendor}")
    return vendor


def media_root() -> Path | None:
    """The local media folder, or None when the media live in an object store."""
    return Path(settings.MEDIA_ROOT) if isinstance(default_storage, FileSystemStorage) else None


def backup(out: Path) -> dict:
    """Write the backup tar to `out`; its manifest."""
    vendor, media = engine(), media_root()
    out = Path(out).resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    staging_parent = media.parent if media and media.parent.is_dir() else out.parent
    with tempfile.TemporaryDirectory(prefix=".smgeo-backup-", dir=staging_parent) as folder:
        staging = Path(folder)
        if media and media.is_dir():
            _link_tree(media, staging / "media")
        _dump(vendor, staging / DATABASE_FILES[vendor])
        if media and media.is_dir():
            _link_tree(media, staging / "media")  # what arrived while the dump ran
        files = sum(1 for path in (staging / "media").rglob("*") if path.is_file()) if media else 0
        manifest = {
            "format": FORMAT, "database": vendor, "created_at": datetime.now(UTC).isoformat(),
            "media": "in the backup" if media else "in an object store: not in this backup", "media_files": files,
        }  # fmt: skip
        (staging / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
        partial = out.with_name(out.name + ".partial")
        with tarfile.open(partial, "w") as archive:
            for entry in sorted(staging.iterdir()):
                archive.add(entry, arcname=entry.name)
        partial.replace(out)
    return manifest


def restore(source: Path) -> dict:
    """Replace the database and the media with a backup's; its manifest. The web app and workers should be stopped."""
    vendor, media = engine(), media_root()
    with tempfile.TemporaryDirectory(prefix=".smgeo-restore-") as folder:
        staging = Path(folder)
        try:
            with tarfile.open(source) as archive:
                archive.extractall(staging, filter="data")
            manifest = json.loads((staging / "manifest.json").read_text())
        except (OSError, tarfile.TarError, ValueError) as exc:
            raise BackupError(f"{source} is not a readable backup ({exc})") from exc
        if manifest.get("format") != FORMAT:
            raise BackupError(f"{source} is not an SMGeo backup (format {manifest.get('format')!r})")
        if manifest["database"] != vendor:
            raise BackupError(f"the backup holds a {manifest['database']} database; this site runs {vendor}")
        _load(vendor, staging / DATABASE_FILES[vendor])
        if media is not None and (staging / "media").is_dir():
            media.mkdir(parents=True, exist_ok=True)
            shutil.copytree(staging / "media", media, dirs_exist_ok=True)
    return manifest


def _link_tree(source: Path, target: Path) -> None:
    """Hard links (copies across file systems) of every file under source not yet under target."""
    for path in source.rglob("*"):
        if not path.is_file():
            continue
        copy = target / path.relative_to(source)
        if copy.exists():
            continue
        copy.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(path, copy)
        except FileNotFoundError:  # deleted since the listing: the first pass has it, or no row names it
            continue
        except OSError:
            shutil.copy2(path, copy)


def _dump(vendor: str, path: Path) -> None:
    if vendor == "sqlite":
        source = sqlite3.connect(settings.DATABASES["default"]["NAME"])
        target = sqlite3.connect(path)
        try:
            source.backup(target)  # online: includes what is still in the write-ahead log
        finally:
            target.close()
            source.close()
        return
    _run(["pg_dump", "--format=custom", "--no-owner", f"--file={path}"])


def _load(vendor: str, path: Path) -> None:
    connections.close_all()
    if vendor == "sqlite":
        source = sqlite3.connect(path)
        target = sqlite3.connect(settings.DATABASES["default"]["NAME"])
        try:
            source.backup(target)
        finally:
            target.close()
            source.close()
        return
    _run(["pg_restore", "--clean", "--if-exists", "--no-owner", "--single-transaction", str(path)], dbname_flag=True)


def _run(command: list[str], dbname_flag: bool = False) -> None:
    """A PostgreSQL client tool on the site's database (connection from settings)."""
    db = settings.DATABASES["default"]
    env = dict(os.environ, PGHOST=str(db.get("HOST") or ""), PGPORT=str(db.get("PORT") or ""),
               PGUSER=str(db.get("USER") or ""), PGPASSWORD=str(db.get("PASSWORD") or ""),
               PGDATABASE=str(db["NAME"]))  # fmt: skip
    if dbname_flag:
        command = [command[0], f"--dbname={db['NAME']}", *command[1:]]
    result = subprocess.run(command, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise BackupError(f"{command[0]} failed: {result.stderr.strip()[-500:]}")
