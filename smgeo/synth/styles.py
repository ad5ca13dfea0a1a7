"""Rendering styles: the colours a region's ground, roads, roofs, walls and trees have. A style changes how a scene
looks, never where its objects are: the same seed lays out the same scene in every style.

"temperate" is the look the demo model was trained on; the others stand for imagery a team may bring that the
model never saw. Hold one out of training to measure how the model transfers (leave-one-style-out).
"""

from __future__ import annotations

from dataclasses import dataclass

Colour = tuple[int, int, int]


@dataclass(frozen=True)
class Style:
    """ground: the four ground covers blended by the texture (vegetation, dry vegetation, soil, pavement)."""

    name: str
    ground: tuple[Colour, Colour, Colour, Colour]
    asphalt: Colour
    roofs: tuple[Colour, ...]
    facades: tuple[Colour, ...]
    trees: tuple[Colour, ...]


TEMPERATE = Style(
    "temperate",
    ground=((88, 118, 58), (146, 140, 92), (136, 112, 84), (150, 148, 140)),
    asphalt=(92, 92, 96),
    roofs=((176, 88, 66), (140, 62, 52), (96, 100, 108), (152, 154, 158), (212, 210, 202), (190, 170, 132),
           (82, 110, 132), (72, 102, 82), (122, 84, 62), (200, 190, 160)),
    facades=((222, 212, 192), (200, 196, 186), (236, 232, 222), (172, 122, 96), (182, 182, 176), (212, 192, 152)),
    trees=((52, 86, 40), (64, 100, 46), (44, 72, 42), (78, 104, 52), (58, 80, 36)),
)  # fmt: skip
ARID = Style(
    "arid",
    ground=((168, 150, 104), (204, 180, 136), (182, 132, 92), (186, 176, 158)),
    asphalt=(96, 92, 88),
    roofs=((226, 220, 206), (204, 128, 88), (186, 160, 120), (236, 232, 220), (168, 104, 76), (150, 140, 126),
           (212, 190, 150)),
    facades=((232, 220, 196), (214, 196, 160), (196, 168, 130), (240, 236, 226)),
    trees=((96, 104, 62), (112, 116, 72), (84, 94, 58), (120, 110, 70)),
)  # fmt: skip
WINTER = Style(
    "winter",
    ground=((232, 236, 242), (206, 212, 222), (118, 108, 100), (176, 178, 184)),
    asphalt=(62, 64, 70),
    roofs=((70, 72, 80), (98, 62, 52), (222, 226, 232), (124, 128, 136), (58, 80, 72), (204, 208, 216),
           (44, 48, 56)),
    facades=((196, 184, 170), (160, 150, 140), (214, 210, 204), (130, 96, 80)),
    trees=((34, 58, 40), (44, 66, 48), (28, 48, 36), (60, 72, 60)),
)  # fmt: skip
STYLES = {style.name: style for style in (TEMPERATE, ARID, WINTER)}


def style_named(name: str) -> Style:
    if name not in STYLES:
        raise ValueError(f"unknown style {name!r}; choose one of {sorted(STYLES)}")
    return STYLES[name]
