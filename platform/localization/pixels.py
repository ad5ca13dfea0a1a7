"""Checks of clicks and boxes in pixel coordinates. Each raises InvalidInput naming the field and the problem.

Pixel coordinates are continuous: (0, 0) is the top-left corner of the top-left pixel, so a click lies in
[0, width) x [0, height) and a box [x1, y1, x2, y2] inside an image has 0 <= x1 < x2 <= width (same for y).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from core.errors import InvalidInput


def finite(value: object, field: str) -> float:
    """`value` as a float; InvalidInput for anything that is not a finite number (NaN, inf, "NaN", true, ...)."""
    if isinstance(value, bool):
        raise InvalidInput(f"{field} must be a number", field=field)
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        raise InvalidInput(f"{field} must be a number, not {value!r}", field=field) from None
    if not math.isfinite(number):
        raise InvalidInput(f"{field} must be a finite number, not {value!r}", field=field)
    return number


def check_click(x: object, y: object, *, width: int, height: int) -> tuple[float, float]:
    """A click in image pixels, inside a width x height image."""
    x, y = finite(x, "click_x"), finite(y, "click_y")
    if not 0 <= x < width:
        raise InvalidInput(f"click_x {x:g} is outside the drone image (0 <= x < {width} pixels)", field="click_x")
    if not 0 <= y < height:
        raise InvalidInput(f"click_y {y:g} is outside the drone image (0 <= y < {height} pixels)", field="click_y")
    return x, y


def check_box(box: object, field: str) -> list[float]:
    """[x1, y1, x2, y2] pixels of positive size (x2 > x1 and y2 > y1)."""
    if not isinstance(box, Sequence) or isinstance(box, str) or len(box) != 4:
        raise InvalidInput(f"{field} must be [x1, y1, x2, y2] (four numbers)", field=field)
    x1, y1, x2, y2 = (finite(value, field) for value in box)
    if x2 <= x1 or y2 <= y1:
        raise InvalidInput(
            f"{field} must have a positive size (x2 > x1 and y2 > y1); got [{x1:g}, {y1:g}, {x2:g}, {y2:g}]",
            field=field,
        )
    return [x1, y1, x2, y2]


def check_box_inside(box: object, field: str, *, width: int, height: int, what: str = "the basemap") -> list[float]:
    """A box of positive size inside a width x height image."""
    x1, y1, x2, y2 = check_box(box, field)
    if x1 < 0 or y1 < 0 or x2 > width or y2 > height:
        raise InvalidInput(
            f"{field} [{x1:g}, {y1:g}, {x2:g}, {y2:g}] is not inside {what} (0..{width} x 0..{height} pixels)",
            field=field,
        )
    return [x1, y1, x2, y2]
