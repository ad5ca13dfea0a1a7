"""Checks on an uploaded file before anything is stored: size, name, kind, pixel count, integrity.

Everything here only reads the upload (and rewinds it); nothing is written. Each check raises a core.errors
error whose message names the problem, so the API answers 4xx and the caller stores nothing.
"""

from __future__ import annotations

import hashlib
import unicodedata
import warnings
from pathlib import PurePosixPath

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.files.uploadedfile import UploadedFile
from PIL import Image, UnidentifiedImageError

from accounts.models import Role
from accounts.permissions import require_role
from core.errors import Conflict, InvalidInput, TooLarge
from core.upload_gate import too_large_message
from missions.models import Mission
from missions.selectors import missions_for

MAGIC = {
    b"\xff\xd8\xff": "jpeg",
    b"\x89PNG\r\n\x1a\n": "png",
    b"II*\x00": "tiff",
    b"MM\x00*": "tiff",
    b"II+\x00": "tiff",  # BigTIFF
    b"MM\x00+": "tiff",
}
EXTENSIONS = {"jpeg": "jpg", "png": "png", "tiff": "tif", "webp": "webp"}
PIXEL_LIMITS = {"drone image": "MAX_DRONE_IMAGE_PIXELS", "basemap": "MAX_BASEMAP_PIXELS"}  # kind -> setting
# Pillow can raise any of these on a corrupt or truncated file.
DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, IndexError, TypeError)


def mission_for_upload(user: AbstractBaseUser, mission_id: int | None, action: str) -> Mission:
    """The user's mission; an unknown id and another team's mission both answer 400 "no such mission"."""
    mission = missions_for(user).filter(pk=mission_id).first() if mission_id else None
    if mission is None:
        raise InvalidInput(f"no such mission: {mission_id}", field="mission")
    require_role(user, mission.team_id, Role.OPERATOR, action)
    if mission.status == Mission.Status.ARCHIVED:  # archived: reviews and exports go on, nothing new comes in
        raise Conflict(f"mission {mission.name!r} is archived; unarchive it to {action}", field="mission")
    return mission


def check_request_size(content_length: str | None) -> None:
    """Refuse a request whose body is far over the upload limit before Django reads it (413)."""
    try:
        size = int(content_length or 0)
    except ValueError:
        return
    if size > settings.MAX_UPLOAD_BYTES + 64 * 1024:  # room for the other form fields
        raise TooLarge(too_large_message(size), field="file")


def check_size(upload: UploadedFile) -> None:
    """413 when the file is over settings.MAX_UPLOAD_BYTES."""
    if upload.size > settings.MAX_UPLOAD_BYTES:
        raise TooLarge(too_large_message(upload.size), field="file")


def pixel_limit(kind: str) -> int:
    """The most pixels an image of this kind ("drone image" or "basemap") may have: its own setting."""
    return getattr(settings, PIXEL_LIMITS[kind])


def check_pixels(width: int, height: int, kind: str) -> None:
    """413 when an image would decode to more than its kind's limit (a decompression bomb), naming the limit."""
    limit = pixel_limit(kind)
    if width * height > limit:
        raise TooLarge(
            f"the image is {width} x {height} = {width * height:,} pixels; the most accepted for a {kind} "
            f"is {limit:,} pixels ({PIXEL_LIMITS[kind]})",
            field="file",
        )


def clean_filename(name: str | None) -> str:
    """The uploaded name without path parts or control characters (kept for display only, never as a path)."""
    name = unicodedata.normalize("NFC", (name or "").replace("\\", "/"))
    name = PurePosixPath(name).name
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip().lstrip(".")
    if len(name) > 200:
        stem, dot, ext = name.rpartition(".")
        name = f"{stem[:190]}.{ext[:8]}" if dot and len(ext) <= 8 else name[:200]
    return name or "upload"


def sniff_kind(upload: UploadedFile) -> str | None:
    """'jpeg', 'png' or 'tiff' from the file's first bytes (never from its name), else None."""
    upload.seek(0)
    head = upload.read(16)
    upload.seek(0)
    return next((kind for magic, kind in MAGIC.items() if head.startswith(magic)), None)


def sha256_of(upload: UploadedFile) -> str:
    digest = hashlib.sha256()
    upload.seek(0)
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    return digest.hexdigest()


def open_image(upload: UploadedFile, formats: tuple[str, ...], kind: str) -> Image.Image:
    """Open an uploaded image lazily (header only) and refuse a bomb before any pixel is decoded: the kind's limit
    is checked here (Pillow's own, set at start-up to the largest of ours, is only a backstop)."""
    upload.seek(0)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(upload, formats=list(formats))
    except Image.DecompressionBombError as exc:
        raise TooLarge(
            f"the image has too many pixels to decode safely ({exc}); "
            f"the most accepted for a {kind} is {pixel_limit(kind):,} pixels ({PIXEL_LIMITS[kind]})",
            field="file",
        ) from exc
    except (UnidentifiedImageError, *DECODE_ERRORS) as exc:
        raise InvalidInput(f"the file is not a {' or '.join(formats)} image", field="file") from exc
    check_pixels(image.width, image.height, kind)
    return image


def decode_image(image: Image.Image, draft_size: tuple[int, int] | None = None) -> Image.Image:
    """Decode every pixel (a JPEG at a reduced scale when draft_size is given); a truncated file fails here."""
    try:
        if draft_size and image.format == "JPEG":
            image.draft("RGB", draft_size)
        image.load()
    except DECODE_ERRORS as exc:
        raise InvalidInput(f"the image is truncated or corrupt ({exc})", field="file") from exc
    return image


def check_image_intact(upload: UploadedFile, formats: tuple[str, ...], kind: str) -> Image.Image:
    """Header, pixel count and integrity of a PNG/JPEG without decoding it at full size (basemaps can be large):
    a PNG's chunks and checksums are verified, a JPEG is decoded at 1/8 scale. Returns the (closed) header."""
    image = open_image(upload, formats, kind)
    if image.format == "PNG":
        try:
            image.verify()
        except DECODE_ERRORS as exc:
            raise InvalidInput(f"the image is truncated or corrupt ({exc})", field="file") from exc
    else:
        decode_image(image, draft_size=(max(1, image.width // 8), max(1, image.height // 8)))
    upload.seek(0)
    return image
