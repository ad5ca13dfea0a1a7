"""A contact sheet of rendering styles: the same scenes drawn in every style, and draws of a style mix, each tile a
satellite view with one of its drone photos inset (`smgeo synth --preview FILE`)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from PIL import Image, ImageDraw

from smgeo.synth.generate import SynthOptions, render_scene_pairs
from smgeo.synth.styles import STYLES

TILE = 256  # pixels of a tile's satellite view
INSET = 96  # pixels of the drone photo inset in a tile's corner
LABEL = 16  # pixels of a tile's caption


def tile(options: SynthOptions, seed: int, caption: str) -> Image.Image:
    """One scene's satellite view with its first drone photo inset, and a caption."""
    scene = render_scene_pairs(replace(options, targets_per_scene=1), seed)
    image = Image.new("RGB", (TILE, TILE + LABEL), "white")
    image.paste(Image.fromarray(scene.satellite).resize((TILE, TILE), Image.BILINEAR), (0, LABEL))
    query = Image.fromarray(scene.pairs[0].query).resize((INSET, INSET), Image.BILINEAR)
    image.paste(query, (TILE - INSET - 2, TILE + LABEL - INSET - 2))
    ImageDraw.Draw(image).text((4, 2), caption, fill="black")
    return image


def preview(options: SynthOptions, path: str | Path, scenes: int = 2, draws: int = 6) -> Path:
    """Rows: `scenes` scenes in every style (plain), then `draws` scenes of the options' own style mix."""
    rows = [[tile(replace(options, style=name, style_jitter=0.0), seed, f"{name}, scene {seed}") for name in STYLES]
            for seed in range(scenes)]  # fmt: skip
    mix = [tile(options, seed, f"{options.style} ~{options.style_jitter:g}, scene {seed}") for seed in range(draws)]
    rows.append(mix)
    columns = max(len(row) for row in rows)
    sheet = Image.new("RGB", (columns * TILE, len(rows) * (TILE + LABEL)), "white")
    for r, row in enumerate(rows):
        for c, image in enumerate(row):
            sheet.paste(image, (c * TILE, r * (TILE + LABEL)))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(path)
    return path
