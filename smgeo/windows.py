"""Sliding windows: the square windows that cover a reference larger than one model input. One geometry for the
predictor (`Predictor.predict_sliding`) and the platform's worker (a search over a whole basemap)."""

from __future__ import annotations


def sliding_squares(width: float, height: float, side: float, overlap: float = 0.25) -> list[list[float]]:
    """Squares [x1, y1, x2, y2] of `side` covering a width x height image, neighbours overlapping by `overlap` of
    the side; the last row/column flush with the edge; centred (reaching outside) along a side the square is
    longer than. Row by row, top-left first."""
    step = max(1.0, side * (1 - overlap))

    def starts(extent: float) -> list[float]:
        if side >= extent:
            return [(extent - side) / 2]
        values = [i * step for i in range(int((extent - side) // step) + 1)]
        if values[-1] + side < extent:
            values.append(extent - side)
        return values

    return [[x, y, x + side, y + side] for y in starts(height) for x in starts(width)]
