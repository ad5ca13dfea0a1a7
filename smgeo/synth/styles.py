"""Rendering styles: the colours a region's ground, roads, roofs, walls and trees have. A style changes how a scene
looks, never where its objects are: the same seed lays out the same scene in every style.

"temperate" is the look the first demo model was trained on; the others stand for imagery a team may bring. A
dataset may draw one style per scene from several (`StyleMix`), each with its colours shifted at random (domain
randomisation), and hold one family out of training entirely to measure how a model transfers
(leave-one-style-out).
"""

from __future__ import annotations

import colorsys
from dataclasses import dataclass

import numpy as np

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
CITY = Style(
    "city",
    ground=((104, 112, 88), (132, 130, 118), (118, 110, 100), (164, 162, 158)),
    asphalt=(70, 72, 76),
    roofs=((120, 122, 126), (84, 86, 92), (168, 168, 166), (60, 62, 66), (148, 136, 120), (188, 190, 192),
           (102, 92, 84)),
    facades=((176, 174, 170), (150, 146, 140), (196, 190, 180), (120, 116, 112)),
    trees=((46, 76, 44), (56, 86, 50), (40, 64, 40)),
)  # fmt: skip
TROPICAL = Style(
    "tropical",
    ground=((52, 120, 46), (96, 140, 60), (160, 86, 52), (170, 160, 140)),
    asphalt=(84, 82, 80),
    roofs=((178, 52, 40), (40, 92, 150), (210, 120, 60), (226, 226, 220), (40, 130, 110), (150, 150, 156),
           (196, 68, 60)),
    facades=((236, 220, 170), (220, 200, 210), (200, 230, 220), (240, 240, 236)),
    trees=((24, 86, 30), (34, 104, 38), (20, 72, 28), (46, 116, 40)),
)  # fmt: skip
AUTUMN = Style(
    "autumn",
    ground=((120, 112, 52), (170, 130, 70), (110, 84, 60), (146, 140, 132)),
    asphalt=(88, 86, 90),
    roofs=((150, 70, 52), (96, 96, 104), (70, 60, 58), (176, 164, 140), (118, 124, 132), (134, 90, 60)),
    facades=((210, 196, 176), (180, 170, 160), (160, 120, 92), (226, 220, 210)),
    trees=((170, 90, 30), (196, 140, 40), (140, 60, 30), (110, 100, 40), (180, 110, 50)),
)  # fmt: skip
STYLES = {style.name: style for style in (TEMPERATE, ARID, WINTER, CITY, TROPICAL, AUTUMN)}
COLOUR_GROUPS = ("ground", "asphalt", "roofs", "facades", "trees")


def style_named(name: str) -> Style:
    if name not in STYLES:
        raise ValueError(f"unknown style {name!r}; choose one of {sorted(STYLES)}")
    return STYLES[name]


def jittered(style: Style, rng: np.random.Generator, strength: float) -> Style:
    """The style with its colours shifted at random, `strength` 0..1 (0: unchanged): one hue rotation, saturation
    and brightness change for the whole scene (a region's light and season), and a smaller one per colour group
    (this region's roofs are bluer, its trees darker)."""
    if strength <= 0:
        return style
    scene = _shift(rng, strength)
    changes = {}
    for group in COLOUR_GROUPS:
        own = _shift(rng, 0.5 * strength)
        colours = getattr(style, group)
        if group == "asphalt":
            changes[group] = _shifted(colours, scene, own)
        else:
            changes[group] = tuple(_shifted(colour, scene, own) for colour in colours)
    return Style(name=f"{style.name}~", **changes)


def _shift(rng: np.random.Generator, strength: float) -> tuple[float, float, float]:
    """(hue turn in turns, saturation factor, value factor)."""
    return (
        float(rng.uniform(-0.08, 0.08) * strength),
        float(np.exp(rng.uniform(-0.5, 0.5) * strength)),
        float(np.exp(rng.uniform(-0.25, 0.25) * strength)),
    )


def _shifted(colour: Colour, *shifts: tuple[float, float, float]) -> Colour:
    h, s, v = colorsys.rgb_to_hsv(*(c / 255 for c in colour))
    for turn, saturation, value in shifts:
        h, s, v = (h + turn) % 1.0, min(1.0, s * saturation), min(1.0, v * value)
    return tuple(int(round(c * 255)) for c in colorsys.hsv_to_rgb(h, s, v))  # type: ignore[return-value]


@dataclass(frozen=True)
class StyleMix:
    """Styles drawn per scene: one of `names` uniformly, its colours `jittered` by `jitter`. A mix of one style
    and no jitter is that style."""

    names: tuple[str, ...]
    jitter: float = 0.0

    def __post_init__(self) -> None:
        unknown = [name for name in self.names if name not in STYLES]
        if not self.names or unknown:
            raise ValueError(f"unknown style {unknown or '(none)'}; choose from {sorted(STYLES)}")
        if not 0 <= self.jitter <= 1:
            raise ValueError("style jitter must be in [0, 1]")

    def draw(self, rng: np.random.Generator) -> Style:
        style = STYLES[self.names[int(rng.integers(len(self.names)))]] if len(self.names) > 1 else STYLES[self.names[0]]
        return jittered(style, rng, self.jitter)


def parse_styles(text: str) -> tuple[str, ...]:
    """ "temperate,city" -> ("temperate", "city"); "all-but:arid" -> every style except arid (leave one out)."""
    if text.startswith("all-but:"):
        left_out = parse_styles(text[len("all-but:") :])
        unknown = [name for name in left_out if name not in STYLES]
        if unknown:
            raise ValueError(f"unknown style {unknown}; choose from {sorted(STYLES)}")
        return tuple(name for name in STYLES if name not in left_out)
    return tuple(name.strip() for name in text.split(",") if name.strip())
