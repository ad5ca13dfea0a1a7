"""Camera metadata of a drone photo: EXIF GPS position/altitude/direction, capture time, and DJI's XMP gimbal angles.

Bad or missing metadata never fails an upload: each value is None when absent or unreadable.
Units: degrees (lat/lon; heading clockwise from north in [0, 360); pitch with -90 = straight down), metres.
"""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from datetime import timezone as dt_timezone

from django.utils import timezone
from PIL import ExifTags, Image

# EXIF tag numbers (GPS IFD and Exif IFD)
GPS_LAT_REF, GPS_LAT, GPS_LON_REF, GPS_LON, GPS_ALT_REF, GPS_ALT = 1, 2, 3, 4, 5, 6
GPS_TIME, GPS_IMG_DIRECTION, GPS_DATE = 7, 17, 29
DATETIME_ORIGINAL, DATETIME_DIGITIZED, OFFSET_TIME_ORIGINAL, SUBSEC_TIME_ORIGINAL = 36867, 36868, 36881, 37521

# Capture times outside these years are camera clocks never set (or forged metadata), recorded as unknown.
CAPTURE_YEARS = range(1900, 2200)
XMP_VALUE = re.compile(rb'drone-dji:(\w+)\s*=\s*"([^"]*)"|<drone-dji:(\w+)>([^<]*)</drone-dji:')


@dataclass(frozen=True)
class DroneMetadata:
    gps_lat: float | None = None
    gps_lon: float | None = None
    gps_alt_m: float | None = None
    rel_alt_m: float | None = None
    heading_deg: float | None = None
    pitch_deg: float | None = None
    captured_at: datetime | None = None

    def as_fields(self) -> dict[str, object]:
        """DroneImage field values."""
        return asdict(self)


def read_metadata(image: Image.Image) -> DroneMetadata:
    """Everything the localization can use from an opened (not necessarily decoded) image."""
    try:
        exif = image.getexif()
        gps, sub = dict(exif.get_ifd(ExifTags.IFD.GPSInfo)), dict(exif.get_ifd(ExifTags.IFD.Exif))
    except Exception:  # a corrupt EXIF block is ignored, like a missing one
        gps, sub = {}, {}
    dji = dji_xmp(image.info.get("xmp"))
    lat = _coordinate(gps.get(GPS_LAT), gps.get(GPS_LAT_REF), "S")
    lon = _coordinate(gps.get(GPS_LON), gps.get(GPS_LON_REF), "W")
    if lat is None or lon is None:
        lat, lon = dji.get("GpsLatitude"), dji.get("GpsLongitude", dji.get("GpsLongtitude"))  # DJI's own spelling
    if lat is None or lon is None or not (-90 <= lat <= 90 and -180 <= lon <= 180) or (lat == 0 and lon == 0):
        lat = lon = None
    heading = _first(_number(gps.get(GPS_IMG_DIRECTION)), dji.get("GimbalYawDegree"), dji.get("FlightYawDegree"))
    pitch = dji.get("GimbalPitchDegree")
    return DroneMetadata(
        gps_lat=lat,
        gps_lon=lon,
        gps_alt_m=_first(_altitude(gps), dji.get("AbsoluteAltitude")),
        rel_alt_m=dji.get("RelativeAltitude"),
        heading_deg=heading % 360 if heading is not None else None,
        pitch_deg=pitch if pitch is not None and -180 <= pitch <= 180 else None,
        captured_at=capture_time(sub, gps),
    )


def dji_xmp(xmp: bytes | str | None) -> dict[str, float]:
    """Numeric drone-dji:* values of an XMP packet (attribute or element form), e.g. {"GimbalYawDegree": -12.5}."""
    if not xmp:
        return {}
    raw = xmp.encode() if isinstance(xmp, str) else xmp
    values = {}
    for match in XMP_VALUE.finditer(raw):
        name, text = (match.group(1), match.group(2)) if match.group(1) else (match.group(3), match.group(4))
        number = _number(text.decode(errors="replace").strip())
        if number is not None:
            values[name.decode()] = number
    return values


def capture_time(sub: dict, gps: dict) -> datetime | None:
    """DateTimeOriginal as an aware datetime: with OffsetTimeOriginal when given, else the GPS (UTC) time stamp,
    else read in the server's time zone (cameras without an offset write local time)."""
    local = _exif_datetime(_text(sub.get(DATETIME_ORIGINAL)) or _text(sub.get(DATETIME_DIGITIZED)))
    if local is not None:
        subsec = _text(sub.get(SUBSEC_TIME_ORIGINAL))
        if subsec and subsec.isascii() and subsec.isdigit():  # "²" (byte 0xB2) passes isdigit() alone
            local = local.replace(microsecond=int(subsec[:6].ljust(6, "0")))
        offset = _utc_offset(_text(sub.get(OFFSET_TIME_ORIGINAL)))
        if offset is not None:
            return _plausible(local.replace(tzinfo=offset))
    gps_time = _gps_datetime(gps)
    if gps_time is not None:
        return _plausible(gps_time)
    return _plausible(timezone.make_aware(local)) if local is not None else None


def _plausible(moment: datetime) -> datetime | None:
    """The moment when it lies in CAPTURE_YEARS once in UTC, else None: a camera clock left at year 1 or 9999 must
    not become a time that the database or the JSON of the API cannot hold."""
    try:
        utc = moment.astimezone(UTC)
    except (OverflowError, ValueError):
        return None
    return moment if utc.year in CAPTURE_YEARS else None


def _exif_datetime(text: str | None) -> datetime | None:
    try:
        return datetime.strptime(text.strip(), "%Y:%m:%d %H:%M:%S") if text else None
    except ValueError:
        return None


def _utc_offset(text: str | None) -> tzinfo | None:
    match = re.fullmatch(r"([+-])(\d\d):(\d\d)", (text or "").strip())
    if not match:
        return None
    hours, minutes = int(match.group(2)), int(match.group(3))
    if hours > 23 or minutes > 59:  # "+99:00" is no time zone (and datetime refuses a day or more)
        return None
    sign = -1 if match.group(1) == "-" else 1
    return dt_timezone(sign * timedelta(hours=hours, minutes=minutes))


def _gps_datetime(gps: dict) -> datetime | None:
    date, hms = _text(gps.get(GPS_DATE)), gps.get(GPS_TIME)
    try:
        day = datetime.strptime(date.strip(), "%Y:%m:%d") if date else None
        seconds = sum(float(v) * f for v, f in zip(hms, (3600, 60, 1), strict=True)) if day and hms else None
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    if day is None or seconds is None or not math.isfinite(seconds):
        return None
    try:
        return day.replace(tzinfo=UTC) + timedelta(seconds=seconds)
    except OverflowError:  # a time stamp of 10^9 hours
        return None


def _coordinate(dms: object, ref: object, negative: str) -> float | None:
    """Degrees from an EXIF (degrees, minutes, seconds) triple and its N/S/E/W reference."""
    try:
        degrees, minutes, seconds = (float(v) for v in dms)
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    value = degrees + minutes / 60 + seconds / 3600
    if not math.isfinite(value):
        return None
    return -value if (_text(ref) or "").upper().startswith(negative) else value


def _altitude(gps: dict) -> float | None:
    """GPS altitude in metres above sea level (reference 1 means below)."""
    altitude = _number(gps.get(GPS_ALT))
    ref = gps.get(GPS_ALT_REF)
    below = ref in (1, b"\x01") or (isinstance(ref, bytes) and ref[:1] == b"\x01")
    return -altitude if altitude is not None and below else altitude


def _number(value: object) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    return number if math.isfinite(number) else None


def _text(value: object) -> str | None:
    if isinstance(value, bytes):
        value = value.decode(errors="replace")
    return value.strip("\x00 ") if isinstance(value, str) else None


def _first(*values: float | None) -> float | None:
    return next((v for v in values if v is not None), None)
